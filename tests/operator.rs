//! The operator's interface of `mine` (issue 11), through the real binary on 127.0.0.1: retry
//! limits (`-r/--retries`, `-R/--retry-pause`), a pool that refuses authorization (failover at
//! once, or a fast exit), and SIGHUP re-reading `--config`.

mod common;

use std::time::Duration;

use hashforge_stratum::ServerEvent;
use tokio::sync::mpsc;

/// Long enough for a loaded 2-core machine; the runs end (or are stopped) well before.
const BOUND: Duration = Duration::from_secs(120);

/// `mine` on one scalar CPU thread with `extra` arguments.
fn mine_args(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["mine", "-t", "1", "--kernel", "scalar"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// The last line of stderr: the error line of a run that failed.
fn last_line(stderr: &str) -> &str {
    stderr.trim_end().lines().last().unwrap_or_default()
}

/// Waits until the server accepts a share (panics after `within`); returns its worker.
async fn accepted(events: &mut mpsc::Receiver<ServerEvent>, within: Duration) -> String {
    let wait = async {
        loop {
            match events.recv().await.expect("server events") {
                ServerEvent::ShareAccepted { worker, .. } => return worker,
                _ => continue,
            }
        }
    };
    tokio::time::timeout(within, wait)
        .await
        .expect("no share accepted in time")
}

#[test]
fn retries_give_up_with_the_never_mined_code() {
    // Port 1 on 127.0.0.1 refuses at once: three failed attempts (the first and two retries),
    // 0.1 s apart, then one error line and exit 3 (it never mined).
    let args = mine_args(&["-o", "stratum+tcp://127.0.0.1:1", "-r", "2", "-R", "0.1"]);
    let out = common::hashforge().run_within(&args, BOUND);
    assert_eq!(out.code, Some(3), "{out:#?}");
    let line = last_line(&out.stderr);
    assert!(
        line.starts_with("error: gave up after 3 failed connection attempts to the pool (2 retries): pool stratum+tcp://127.0.0.1:1 failed"),
        "{out:#?}"
    );
    assert_eq!(
        out.stderr.matches("pool attempt failed").count(),
        3,
        "{out:#?}"
    );
    // "Reconnecting" after the first two only: the third is the last.
    let reconnecting = "reconnecting (no job yet)";
    assert_eq!(out.stderr.matches(reconnecting).count(), 2, "{out:#?}");
    // Two pools, -r 0: each tried once, whatever --failover-after says.
    let args = mine_args(&[
        "-o",
        "stratum+tcp://127.0.0.1:1",
        "-o",
        "stratum+tcp://127.0.0.1:2",
        "-r",
        "0",
        "-R",
        "0.1",
        "--failover-after",
        "5",
    ]);
    let out = common::hashforge().run_within(&args, BOUND);
    assert_eq!(out.code, Some(3), "{out:#?}");
    let line = last_line(&out.stderr);
    assert!(
        line.contains("gave up after 1 failed connection attempt to each pool (0 retries)")
            && line.contains("127.0.0.1:1 failed")
            && line.contains("127.0.0.1:2 failed"),
        "{out:#?}"
    );
    assert_eq!(
        out.stderr.matches("pool attempt failed").count(),
        2,
        "{out:#?}"
    );
    assert_eq!(out.stderr.matches(reconnecting).count(), 1, "{out:#?}");
}

#[test]
fn retry_options_are_range_checked() {
    let hf = common::hashforge();
    for (args, needles) in [
        (
            &["-r", "-2"][..],
            &["--retries", "-1 (retry forever)", "1000000"][..],
        ),
        (&["--retries", "x"], &["--retries", "-1 (retry forever)"]),
        (&["-r", "1000001"], &["--retries", "at most 1000000"]),
        (
            &["-R", "0"],
            &["--retry-pause", "at least 0.1 and at most 3600"],
        ),
        (
            &["--retry-pause", "3601"],
            &["--retry-pause", "at most 3600"],
        ),
        (&["-R", "nan"], &["--retry-pause", "at least 0.1"]),
    ] {
        let mut all = vec!["mine"];
        all.extend(args);
        let out = hf.run(&all);
        assert_eq!(out.code, Some(2), "{all:?}: {out:#?}");
        common::assert_error(&all, out.code, &out.stderr, needles);
    }
    // The config file has both keys, checked alike.
    let init = hf.success(&["config", "init"]);
    assert!(init.stdout.contains("retries = -1"), "{}", init.stdout);
    assert!(init.stdout.contains("retry-pause"), "{}", init.stdout);
    let dir = std::env::temp_dir().join(format!("hashforge-operator-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("retries.toml");
    std::fs::write(&file, "[mine]\nretries = 5\nretry-pause = 2.5\n").unwrap();
    let ok = hf.run(&["config", "check", file.to_str().unwrap()]);
    assert_eq!(ok.code, Some(0), "{ok:#?}");
    std::fs::write(&file, "[mine]\nretries = -3\n").unwrap();
    let bad = hf.run(&["config", "check", file.to_str().unwrap()]);
    assert_eq!(bad.code, Some(2), "{bad:#?}");
    assert!(
        bad.stderr.contains("retries.toml:2: mine.retries"),
        "{bad:#?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_worker_with_no_other_pool_exits_at_once() {
    let (server, _events) = common::start_refusing_server().await;
    let url = common::url(server.local_addr());
    // No --duration and no -r: it would retry forever if the refusal were not final.
    let args = mine_args(&["-o", &url, "-u", "rig1", "-p", "wrong"]);
    let out = common::hashforge().spawn(&args).finish(BOUND).await;
    assert_eq!(out.code, Some(3), "{out:#?}");
    let line = last_line(&out.stderr);
    assert!(
        line.starts_with(&format!(
            "error: pool {url} refused authorization for worker rig1: "
        )),
        "{out:#?}"
    );
    assert_eq!(
        out.stderr.matches("pool attempt failed").count(),
        1,
        "{out:#?}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_worker_fails_over_to_the_next_pool_at_once() {
    let (a, _a_events) = common::start_refusing_server().await;
    let (b, mut b_events) =
        common::start_server(common::server_config(), common::localhost0()).await;
    let (url_a, url_b) = (common::url(a.local_addr()), common::url(b.local_addr()));
    // --failover-after 1000: only the refusal can move it to B this soon.
    let args = mine_args(&[
        "-o",
        &url_a,
        "-o",
        &url_b,
        "-u",
        "rig1",
        "-p",
        "wrong",
        "--failover-after",
        "1000",
        "--duration",
        "60",
    ]);
    let mut running = common::hashforge().spawn(&args);
    let stderr = running.stderr_text();
    let worker = accepted(&mut b_events, Duration::from_secs(60)).await;
    assert_eq!(worker, "rig1");
    running.interrupt();
    let out = running.finish(BOUND).await;
    assert_eq!(out.code, Some(0), "{out:#?}");
    let log = stderr.lock().unwrap().clone();
    let line = format!("pool {url_a} refused authorization for worker rig1: ");
    assert_eq!(
        log.lines()
            .filter(|l| l.contains(&line) && l.contains(&format!("failing over to pool 1 {url_b}")))
            .count(),
        1,
        "{log}"
    );
    a.shutdown().await;
    b.shutdown().await;
}

/// Waits until `text` (stderr so far) has a line with every needle; returns that line.
async fn log_line(text: &std::sync::Arc<std::sync::Mutex<String>>, needles: &[&str]) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let found = text
            .lock()
            .unwrap()
            .lines()
            .find(|l| needles.iter().all(|n| l.contains(n)))
            .map(str::to_string);
        if let Some(line) = found {
            return line;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no line with {needles:?} in: {}",
            text.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends SIGHUP to `pid`.
fn hangup(pid: u32) {
    let status = std::process::Command::new("kill")
        .arg("-HUP")
        .arg(pid.to_string())
        .status()
        .expect("running kill");
    assert!(status.success(), "kill -HUP {pid}");
}

/// Empties the events received so far.
fn drain(events: &mut mpsc::Receiver<ServerEvent>) {
    while events.try_recv().is_ok() {}
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_rereads_the_config_file() {
    let (a, mut a_events) =
        common::start_server(common::server_config(), common::localhost0()).await;
    let (b, mut b_events) =
        common::start_server(common::server_config(), common::localhost0()).await;
    let (url_a, url_b) = (common::url(a.local_addr()), common::url(b.local_addr()));
    let dir = std::env::temp_dir().join(format!("hashforge-sighup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("f.toml");
    let pool = |url: &str, threads: u32| {
        format!(
            "[mine]\nthreads = {threads}\nkernel = \"scalar\"\n\n[[mine.pools]]\nurl = \"{url}\"\nuser = \"rig1\"\n"
        )
    };
    std::fs::write(&file, pool(&url_a, 1)).unwrap();
    let mut running = common::hashforge().spawn(&[
        "mine",
        "--config",
        file.to_str().unwrap(),
        "--duration",
        "300",
    ]);
    let pid = running.child().id();
    let stderr = running.stderr_text();
    accepted(&mut a_events, Duration::from_secs(60)).await;

    // A file that cannot be used: one error line, and the miner stays on A.
    std::fs::write(&file, "[mine]\nthredas = 1\n").unwrap();
    hangup(pid);
    let line = log_line(&stderr, &["not reloaded", "unknown key 'mine.thredas'"]).await;
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("the settings in use stay"), "{line}");
    drain(&mut a_events);
    accepted(&mut a_events, Duration::from_secs(60)).await;

    // Pool B (and a thread count, which needs a restart): the miner moves to B, hashing on.
    std::fs::write(&file, pool(&url_b, 2)).unwrap();
    hangup(pid);
    let line = log_line(&stderr, &["reloaded: pools now"]).await;
    assert!(line.contains(&url_b), "{line}");
    assert!(
        line.contains("needs a restart, left as it is: --threads"),
        "{line}"
    );
    let worker = accepted(&mut b_events, Duration::from_secs(60)).await;
    assert_eq!(worker, "rig1");

    // The same file again: nothing to do.
    hangup(pid);
    log_line(
        &stderr,
        &["reloaded: nothing applied; needs a restart, left as it is: --threads"],
    )
    .await;

    running.interrupt();
    let out = running.finish(BOUND).await;
    assert_eq!(out.code, Some(0), "{out:#?}");
    let log = stderr.lock().unwrap().clone();
    assert_eq!(log.matches("not reloaded").count(), 1, "{log}");
    let _ = std::fs::remove_dir_all(&dir);
    a.shutdown().await;
    b.shutdown().await;
}

/// A miner's difficulty on a fresh connection to `pool` (a raw Stratum session).
async fn fresh_difficulty(pool: &str) -> f64 {
    let addr = pool.trim_start_matches("stratum+tcp://").parse().unwrap();
    let mut peer = hashforge_test_support::stratum::RawPeer::connect(addr).await;
    peer.session(None, "probe").await.job.difficulty()
}

/// `serve --config`: SIGHUP applies a new `--start-difficulty` to the connections made after it,
/// and says so in one line. (Both difficulties are below serve's minimum of 0.001, which on
/// regtest is where the cap at the network difficulty stops.)
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_retunes_serve_for_new_connections() {
    let node = common::advancing_empty_node(8).await;
    let dir = std::env::temp_dir().join(format!("hashforge-sighup-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("serve.toml");
    let config = |difficulty: &str| {
        format!(
            "[serve]\nnode = \"{}\"\nrpc-user = \"u\"\nrpc-pass = \"p\"\naddress = \"bcrt1q92v6550wrjqhldxwc2cvqlqm77wmzufv4dq433\"\nlisten = \"127.0.0.1:0\"\nstart-difficulty = {difficulty}\n",
            node.url()
        )
    };
    std::fs::write(&file, config("0.0005")).unwrap();
    let mut serve = common::start_serve(
        &["serve", "--config", file.to_str().unwrap()],
        Duration::from_secs(60),
    )
    .await;
    let pid = serve.process.child().id();
    assert_eq!(fresh_difficulty(&serve.pool).await, 0.0005);

    std::fs::write(&file, config("0.00025")).unwrap();
    hangup(pid);
    let line = log_line(&serve.stderr, &["reloaded", "start-difficulty"]).await;
    assert!(line.contains("0.00025"), "{line}");
    assert_eq!(fresh_difficulty(&serve.pool).await, 0.00025);

    let mut process = serve.process;
    process.interrupt();
    let out = process.finish(BOUND).await;
    assert_eq!(out.code, Some(0), "{out:#?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The kernel's timer on the TCP socket from `local` to `remote` (both ports on 127.0.0.1),
/// from `/proc/net/tcp`: the timer kind (0 none, 1 retransmit, 2 keepalive, …) and the clock
/// ticks (1/100 s) until it fires.
fn socket_timer(local: u16, remote: u16) -> Option<(u8, u64)> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let port = |addr: &str| u16::from_str_radix(addr.rsplit(':').next()?, 16).ok();
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        if port(f.get(1)?)? != local || port(f.get(2)?)? != remote {
            return None;
        }
        let (kind, when) = f.get(5)?.split_once(':')?;
        Some((
            u8::from_str_radix(kind, 16).ok()?,
            u64::from_str_radix(when, 16).ok()?,
        ))
    })
}

/// `serve --tcp-keepalive`: the miner's socket on the server side has the keepalive timer set
/// to the given idle time (as the kernel reports it), and none with 0.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sets_the_tcp_keepalive_it_is_given() {
    let node = common::advancing_empty_node(8).await;
    let url = node.url();
    for (idle, expected) in [("30", Some(2000..=3000)), ("0", None)] {
        let args = [
            "serve",
            "--node",
            url.as_str(),
            "--rpc-user",
            "u",
            "--rpc-pass",
            "p",
            "--address",
            "bcrt1q92v6550wrjqhldxwc2cvqlqm77wmzufv4dq433",
            "--listen",
            "127.0.0.1:0",
            "--tcp-keepalive",
            idle,
        ];
        let serve = common::start_serve(&args, Duration::from_secs(60)).await;
        let addr: std::net::SocketAddr = serve
            .pool
            .trim_start_matches("stratum+tcp://")
            .parse()
            .unwrap();
        let mut peer = hashforge_test_support::stratum::RawPeer::connect(addr).await;
        peer.session(None, "probe").await;
        let ours = peer.local_addr().port();
        // Once the handshake's data is acknowledged the socket's timer is keepalive's (or none).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let timer = loop {
            let timer =
                socket_timer(addr.port(), ours).expect("the server's socket in /proc/net/tcp");
            if timer.0 != 1 || std::time::Instant::now() > deadline {
                break timer;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        match expected {
            Some(ticks) => {
                assert_eq!(timer.0, 2, "--tcp-keepalive {idle}: {timer:?}");
                assert!(
                    ticks.contains(&timer.1),
                    "--tcp-keepalive {idle}: {timer:?}"
                );
            }
            None => assert_eq!(timer.0, 0, "--tcp-keepalive 0: {timer:?}"),
        }
        let mut process = serve.process;
        process.interrupt();
        let out = process.finish(BOUND).await;
        assert_eq!(out.code, Some(0), "{out:#?}");
    }
}
