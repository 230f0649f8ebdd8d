//! The pool server's own share validation, driven by a raw TCP miner on 127.0.0.1.

mod common;

use std::time::Duration;

use common::*;
use hashforge_stratum::{Job, ServerConfig, Share, Template};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_codes() {
    let cfg = ServerConfig {
        password: Some("secret".into()),
        max_difficulty: 1e9,
        ..server_config()
    };
    let (h, _ev) = start_server(cfg, localhost0()).await;
    let mut p = RawPeer::connect(h.local_addr()).await;
    let mut seen = Vec::new();
    let dummy = Share {
        job_id: "1".into(),
        extranonce2: vec![0; 8],
        ntime: 0,
        nonce: 0,
        version: 0,
    };

    // 25: not subscribed.
    p.send(submit_request(1, "w", &dummy, None)).await;
    assert_eq!(error_code(&p.recv_response(1, &mut seen).await), 25);

    p.send(json!({"id": 2, "method": "mining.configure", "params": [["version-rolling"], {"version-rolling.mask": "ffffffff", "version-rolling.min-bit-count": 2}]})).await;
    let r = p.recv_response(2, &mut seen).await;
    assert_eq!(r["result"]["version-rolling.mask"], "1fffe000");
    p.send(json!({"id": 3, "method": "mining.subscribe", "params": ["test/1"]}))
        .await;
    let r = p.recv_response(3, &mut seen).await;
    let en1 = hex::decode(r["result"][1].as_str().expect("en1")).expect("hex");
    assert_eq!(en1.len(), 4);
    assert_eq!(r["result"][2], 8);

    // 24: not authorized, and a refused password.
    p.send(submit_request(4, "w", &dummy, None)).await;
    assert_eq!(error_code(&p.recv_response(4, &mut seen).await), 24);
    p.send(json!({"id": 5, "method": "mining.authorize", "params": ["w", "wrong"]}))
        .await;
    let r = p.recv_response(5, &mut seen).await;
    assert_eq!(
        (r["result"].clone(), error_code(&r)),
        (Value::Bool(false), 24)
    );
    p.send(json!({"id": 6, "method": "mining.authorize", "params": ["w", "secret"]}))
        .await;
    assert_eq!(p.recv_response(6, &mut seen).await["result"], true);

    // 21: unknown job.
    let stale = Share {
        job_id: "no-such-job".into(),
        ..dummy.clone()
    };
    p.send(submit_request(7, "w", &stale, None)).await;
    assert_eq!(error_code(&p.recv_response(7, &mut seen).await), 21);

    // A valid rolled share, then the same again (22).
    let job = last_job(&seen, &en1, Some(0x1fff_e000));
    let good = find_share(&job, 0x0004_0000);
    p.send(submit_request(8, "w", &good, Some(0x0004_0000)))
        .await;
    assert_eq!(p.recv_response(8, &mut seen).await["result"], true);
    p.send(submit_request(9, "w", &good, Some(0x0004_0000)))
        .await;
    assert_eq!(error_code(&p.recv_response(9, &mut seen).await), 22);

    // 20: version bits outside the granted mask, wrong extranonce2 size, ntime out of range.
    p.send(submit_request(10, "w", &good, Some(0x0000_0001)))
        .await;
    assert_eq!(error_code(&p.recv_response(10, &mut seen).await), 20);
    let short = Share {
        extranonce2: vec![0; 4],
        ..good.clone()
    };
    p.send(submit_request(11, "w", &short, Some(0x0004_0000)))
        .await;
    assert_eq!(error_code(&p.recv_response(11, &mut seen).await), 20);
    let early = Share {
        ntime: good.ntime - 1,
        ..good.clone()
    };
    p.send(submit_request(12, "w", &early, Some(0x0004_0000)))
        .await;
    assert_eq!(error_code(&p.recv_response(12, &mut seen).await), 20);

    // 23: raise the difficulty (suggest_difficulty is clamped to max 1e9); a new job follows.
    seen.clear();
    p.send(json!({"id": 13, "method": "mining.suggest_difficulty", "params": [1e12]}))
        .await;
    assert_eq!(p.recv_response(13, &mut seen).await["result"], true);
    let v = p.recv_method("mining.notify").await;
    seen.push(json!({"id": null, "method": "mining.set_difficulty", "params": [1e9]}));
    seen.push(v);
    let hard = last_job(&seen, &en1, Some(0x1fff_e000));
    assert_eq!(hard.difficulty(), 1e9);
    let low = find_bad_share(&hard);
    p.send(submit_request(14, "w", &low, None)).await;
    assert_eq!(error_code(&p.recv_response(14, &mut seen).await), 23);
    // The earlier job keeps the difficulty it was sent with: a fresh share on it still counts.
    let again = find_share_with(&job, vec![1; 8], 0);
    p.send(submit_request(15, "w", &again, None)).await;
    assert_eq!(p.recv_response(15, &mut seen).await["result"], true);

    let stats = h.stats();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].accepted, 2);
    assert!(stats[0].rejected >= 6, "{stats:?}");
    assert_eq!(stats[0].stale, 1);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_miners_are_disconnected() {
    let cfg = ServerConfig {
        max_line_len: 1024,
        ..server_config()
    };
    let (h, _ev) = start_server(cfg, localhost0()).await;
    // Oversized line.
    let mut p = RawPeer::connect(h.local_addr()).await;
    p.send_raw(&vec![b'x'; 4096]).await;
    assert!(p.recv().await.is_none(), "server hung up");
    // Malformed JSON.
    let mut p = RawPeer::connect(h.local_addr()).await;
    p.send_raw(b"{\"id\":1,\"method\":\n").await;
    assert!(p.recv().await.is_none(), "server hung up");
    // Bad UTF-8.
    let mut p = RawPeer::connect(h.local_addr()).await;
    p.send_raw(b"\xc3\x28\n").await;
    assert!(p.recv().await.is_none(), "server hung up");
    // Unknown methods get an error, not a disconnect; then the connection still works.
    let mut p = RawPeer::connect(h.local_addr()).await;
    p.send(json!({"id": 1, "method": "mining.nonsense", "params": []}))
        .await;
    let mut seen = Vec::new();
    assert_eq!(error_code(&p.recv_response(1, &mut seen).await), 20);
    p.send(json!({"id": 2, "method": "mining.subscribe", "params": []}))
        .await;
    assert!(p.recv_response(2, &mut seen).await["result"].is_array());
    tokio::time::sleep(Duration::from_millis(50)).await;
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_extranonce1_and_vardiff() {
    let cfg = vardiff_server_config(Duration::from_secs(10), Duration::from_millis(300));
    let (h, _ev) = start_server(cfg, localhost0()).await;
    let mut en1s = std::collections::HashSet::new();
    let mut peers = Vec::new();
    for i in 0..8u64 {
        let mut p = RawPeer::connect(h.local_addr()).await;
        p.send(json!({"id": i, "method": "mining.subscribe", "params": []}))
            .await;
        let r = p.recv_response(i, &mut Vec::new()).await;
        assert!(en1s.insert(r["result"][1].as_str().expect("en1").to_string()));
        peers.push(p);
    }
    // No shares at all: vardiff lowers the difficulty (halving per retarget) and resends work.
    let p = &mut peers[0];
    let v = p.recv_method("mining.set_difficulty").await; // the initial one
    assert_eq!(v["params"][0].as_f64(), Some(EASY));
    let v = p.recv_method("mining.set_difficulty").await;
    let d = v["params"][0].as_f64().expect("difficulty");
    assert!(d < EASY && d > 0.0, "{d}");
    let n = p.recv_method("mining.notify").await;
    assert_eq!(n["params"][8], false);
    h.shutdown().await;
}

/// Connects and resumes `id`, retrying while the server has not yet seen the old connection
/// close (until then the extranonce1 is still taken and a new one is handed out).
async fn resume(addr: std::net::SocketAddr, id: &str, en1: &[u8]) -> (RawPeer, Job, bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut p = RawPeer::connect(addr).await;
        let s = p.session(Some(id), "w").await;
        if s.extranonce1 == en1 {
            return (p, s.job, s.clean);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "session never resumed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A miner that reconnects and resumes its session keeps its jobs: shares found while it was
/// away are accepted (and duplicates still caught), unless a clean job came meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumed_sessions_keep_their_jobs_until_a_clean_job() {
    let (h, _ev) = start_server(server_config(), localhost0()).await;
    let mut p = RawPeer::connect(h.local_addr()).await;
    let Session {
        extranonce1: en1,
        id,
        job,
        clean,
    } = p.session(None, "w").await;
    assert!(clean);
    let first = find_share(&job, 0);
    p.send(submit_request(3, "w", &first, None)).await;
    assert_eq!(p.recv_response(3, &mut Vec::new()).await["result"], true);
    // The connection drops with a share found but not sent.
    let away = find_share_with(&job, vec![1; 8], 0);
    drop(p);

    let (mut p, new_job, clean) = resume(h.local_addr(), &id, &en1).await;
    assert!(
        !clean,
        "a resumed session's new job must not clean the old ones"
    );
    assert_ne!(new_job.id(), job.id());
    p.send(submit_request(4, "w", &away, None)).await;
    assert_eq!(p.recv_response(4, &mut Vec::new()).await["result"], true);
    p.send(submit_request(5, "w", &first, None)).await;
    assert_eq!(error_code(&p.recv_response(5, &mut Vec::new()).await), 22);
    let later = find_share_with(&job, vec![2; 8], 0);
    drop(p);

    // A new block while the miner is away: its old jobs are stale after all. (Whether the
    // resumed session gets a clean job depends on whether the server saw the new block before
    // the connection closed; the old job is gone either way.)
    h.new_template(Template::synthetic(h.extranonce_size()), true);
    let (mut p, _, _) = resume(h.local_addr(), &id, &en1).await;
    p.send(submit_request(6, "w", &later, None)).await;
    assert_eq!(error_code(&p.recv_response(6, &mut Vec::new()).await), 21);

    let stats = h.stats();
    assert_eq!((stats[0].accepted, stats[0].stale), (2, 1), "{stats:?}");
    h.shutdown().await;
}
