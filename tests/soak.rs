//! Fault-injection soak: `hashforge mine` against our Stratum server through a proxy that
//! delays, splits, merges and corrupts lines, drops connections and leaves them half-open, on
//! a seeded schedule. Every share the miner found must end accounted for (accepted, rejected
//! with a reason, timed out, or reported lost), none may be a hardware error, the miner must
//! exit cleanly with its final status, and its memory must stay flat.
//!
//! CI runs a short soak (20 s). `HASHFORGE_SOAK_SECS=300` runs the long one;
//! `HASHFORGE_SOAK_SEED` replays a schedule (the seed is printed).

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hashforge_stratum::{Server, ServerConfig, ServerEvent};
use hashforge_test_support::faulty_proxy::{FaultPlan, FaultyProxy};
use hashforge_test_support::load;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the server saw: accepted shares (from its counters; blocks among them), and
/// rejections by reason (from its events).
#[derive(Default, Debug)]
struct ServerSide {
    accepted: u64,
    /// At difficulty 0.002 one share in 500 also meets the template's bits (`1d00ffff`).
    blocks: u64,
    rejected: BTreeMap<String, u64>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_share_is_accounted_for_through_a_faulty_link() {
    let secs = env_u64("HASHFORGE_SOAK_SECS", 20);
    let seed = env_u64("HASHFORGE_SOAK_SEED", rand::random::<u16>() as u64);
    eprintln!("soak: {secs} s, seed {seed} (HASHFORGE_SOAK_SEED={seed} replays it)");

    let config = ServerConfig {
        start_difficulty: 0.002,
        min_difficulty: 0.002,
        vardiff: None,
        ..ServerConfig::default()
    };
    let (server, mut events) = Server::bind(SocketAddr::from(([127, 0, 0, 1], 0)), config)
        .await
        .expect("bind 127.0.0.1");
    let en = server.extranonce_size();
    server.new_template(load::template(en), true);
    let seen = Arc::new(Mutex::new(ServerSide::default()));
    let s2 = seen.clone();
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            let mut s = s2.lock().unwrap();
            match ev {
                ServerEvent::ShareRejected { reason, .. } => {
                    *s.rejected.entry(reason).or_default() += 1
                }
                ServerEvent::BlockFound(_) => s.blocks += 1,
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
    });
    let server = Arc::new(server);
    // New work now and then: clean jobs make some in-flight shares stale.
    let srv = server.clone();
    let templates = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3));
        tick.tick().await;
        loop {
            tick.tick().await;
            srv.new_template(load::template(en), true);
        }
    });

    let plan = FaultPlan {
        silence: Duration::from_secs(4),
        ..FaultPlan::default()
    };
    let proxy = FaultyProxy::start(server.local_addr(), seed, plan)
        .await
        .expect("proxy");

    let mut child = common::hashforge()
        .command(&[
            "mine",
            "-o",
            &format!("stratum+tcp://{}", proxy.addr()),
            "-u",
            "soak",
            "-p",
            "x",
            "-t",
            "1",
            "--submit-timeout",
            "2",
            "--status-interval",
            "1",
            "--json-status",
            "--duration",
            &secs.to_string(),
        ])
        .spawn()
        .expect("start hashforge mine");
    let pid = child.id();
    let stderr = child.stderr.take().expect("piped");
    let log = std::thread::spawn(move || {
        let mut panics = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("panicked") {
                panics.push(line);
            }
        }
        panics
    });
    // Resident memory, sampled once a second.
    let rss = load::sample_rss(pid);
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait for hashforge");
    templates.abort();
    let panics = log.join().expect("log thread");
    let rss = rss.join().expect("rss thread");
    eprintln!(
        "soak ran {:.1} s; proxy: {}",
        started.elapsed().as_secs_f64(),
        proxy.stats().summary()
    );
    assert!(panics.is_empty(), "{panics:?}");
    assert_eq!(out.status.code(), Some(0), "mine must stop cleanly");

    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .expect("a final JSON status");
    let status: serde_json::Value = serde_json::from_str(last).expect("JSON status");
    let n = |k: &str| {
        status[k]
            .as_u64()
            .unwrap_or_else(|| panic!("{k} in {last}"))
    };
    let (found, accepted, rejected, stale) = (n("found"), n("accepted"), n("rejected"), n("stale"));
    let (dups, hw, timed_out, lost) = (n("duplicates"), n("hw_errors"), n("timed_out"), n("lost"));
    let mut server_side = seen.lock().unwrap();
    // Share events are best effort; the server's counters count every accepted share.
    server_side.accepted = server.stats().iter().map(|w| w.accepted).sum();
    eprintln!(
        "miner: found {found} accepted {accepted} rejected {rejected} stale {stale} duplicates {dups} hw {hw} timed out {timed_out} lost {lost}; server: accepted {} rejected {:?}",
        server_side.accepted, server_side.rejected
    );
    assert!(found > 0, "the soak found no share: {last}");
    assert_eq!(hw, 0, "hardware errors: {last}");
    // Nothing vanishes: each found share ended in exactly one outcome (`stale` counts both the
    // shares dropped locally for a cleaned job and those the pool rejected as stale, which are
    // not in `rejected`).
    let ended = accepted + rejected + stale + timed_out + lost + dups + hw;
    assert_eq!(
        found, ended,
        "found {found} but outcomes say {ended}: {last}"
    );
    // The pool saw at least what the miner counts as accepted (answers can be lost on the way).
    assert!(
        server_side.accepted >= accepted,
        "{server_side:?} vs {last}"
    );
    // Memory stays flat: the last samples are no larger than the middle ones plus a margin.
    if rss.len() >= 6 {
        let mid = rss[rss.len() / 2];
        let end = *rss.last().unwrap();
        eprintln!("miner RSS: middle {mid} B, end {end} B");
        assert!(
            end <= mid + mid / 2 + (8 << 20),
            "RSS grew from {mid} to {end}"
        );
    }
}
