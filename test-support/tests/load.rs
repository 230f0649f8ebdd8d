//! The load generator against our Stratum server, small enough for CI: every share it sends is
//! valid, so the server must accept every one, and the `stratum-load` binary must report it.
//! The figures themselves (shares/s, latency, memory) are measured with `stratum-load run`, not
//! asserted here.

use std::net::SocketAddr;
use std::time::Duration;

use hashforge_test_support::load::{self, LoadOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_generated_share_is_accepted() {
    let sessions = 40;
    let (server, mut events) = hashforge_stratum::Server::bind(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        load::server_config(sessions),
    )
    .await
    .expect("bind 127.0.0.1");
    server.new_template(load::template(server.extranonce_size()), true);
    // Share events are best effort (a full stream drops them); blocks must never come.
    let blocks = tokio::spawn(async move {
        let mut n = 0u64;
        while let Some(ev) = events.recv().await {
            if let hashforge_stratum::ServerEvent::BlockFound(_) = ev {
                n += 1;
            }
        }
        n
    });
    let mut answered = 0;
    // Paced (2,000 shares/s in all), then as fast as the server answers (4 in flight each).
    for (rate, window) in [(2000.0, 1), (0.0, 4)] {
        let open = load::open_sessions(server.local_addr(), sessions)
            .await
            .expect("every session completes its handshake");
        assert_eq!(open.len(), sessions);
        let report = load::run(
            open,
            &LoadOptions {
                sessions,
                rate,
                window,
                duration: Duration::from_millis(800),
            },
        )
        .await
        .expect("the run completes");
        assert_eq!(report.rejected, 0, "{report:?}");
        assert!(report.accepted > 0, "{report:?}");
        assert!(report.p50_us <= report.p99_us && report.p99_us <= report.max_us);
        answered += report.accepted;
    }
    // The server's own counters count every share it accepted.
    let counted: u64 = server.stats().iter().map(|w| w.accepted).sum();
    assert!(
        counted >= answered,
        "server counted {counted}, answered {answered}"
    );
    server.shutdown().await;
    drop(server);
    assert_eq!(
        blocks.await.expect("event task"),
        0,
        "a load share was a block"
    );
}

#[test]
fn the_binary_reports_one_json_line() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stratum-load"))
        .args(["run", "--sessions", "20", "--seconds", "0.5"])
        .output()
        .expect("run stratum-load");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let v: serde_json::Value = serde_json::from_str(text.trim()).expect("one JSON line");
    assert_eq!(v["sessions"], 20);
    assert_eq!(v["rejected"], 0);
    assert!(v["accepted"].as_u64().unwrap() > 0, "{text}");
    assert!(v["rss_per_idle_session"].as_f64().is_some(), "{text}");
}

#[test]
fn bad_arguments_are_one_line() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stratum-load"))
        .args(["run", "--sessions", "0"])
        .output()
        .expect("run stratum-load");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--sessions"), "{err}");
}
