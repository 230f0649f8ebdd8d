//! The real client against scripted (misbehaving or unusual) pools on 127.0.0.1.

mod common;

use std::time::Duration;

use common::*;
use hashforge_stratum::{
    Client, ClientOptions, Event, PoolConfig, PoolManager, RejectKind, Share, ShareOutcome,
};
use serde_json::{json, Value};

/// Answers the handshake as a pool (rolling granted with `mask`, or refused), sends a
/// difficulty and a job; returns the methods the client sent, in order, once authorize was
/// answered.
async fn handshake(p: &mut RawPeer, mask: Option<&str>) -> Vec<String> {
    let script = PoolScript {
        mask: mask.map(str::to_string),
        ..PoolScript::default()
    };
    p.serve_handshake(&script).await.methods
}

/// Collects log output of this test binary (tests in it run in parallel; only the
/// malformed-lines test produces "dropping connection" lines).
static LOGS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct LogSink;

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn dropping_lines() -> usize {
    let logs = LOGS.lock().unwrap_or_else(|e| e.into_inner());
    String::from_utf8_lossy(&logs)
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("dropping connection"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_truncated_oversized_lines_cause_reconnect() {
    let _ = tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .with_writer(|| LogSink)
            .finish(),
    );
    let (listener, addr) = listen().await;
    let pools = vec![PoolConfig::new(url(addr), "w", "x")];
    let (m, mut rx) = PoolManager::start(pools, fast_options(), fast_failover()).expect("start");
    let bad: Vec<Vec<u8>> = vec![
        b"{not json\n".to_vec(),
        b"\xff\xfe{}\n".to_vec(),
        b"{\"id\":null,\"method\":\"mining.notify\",\"params\":[1,2]}\n".to_vec(),
        b"[1,2,3]\n".to_vec(),
        b"{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[-1]}\n".to_vec(),
        b"{\"id\":null,\"method\":\"mining.set_diff".to_vec(), // truncated, then closed
        vec![b'a'; 70 * 1024],                                 // oversized, no newline
    ];
    let expect_reason = [
        "malformed",
        "UTF-8",
        "malformed",
        "malformed",
        "malformed",
        "middle of a line",
        "longer than",
    ];
    let mut peers = Vec::new();
    for (payload, want) in bad.iter().zip(expect_reason) {
        let mut p = RawPeer::accept(&listener).await;
        handshake(&mut p, Some("1fffe000")).await;
        wait_for(&mut rx, |e| matches!(e, Event::Connected { .. })).await;
        p.send_raw(payload).await;
        if payload.ends_with(b"set_diff") {
            drop(p); // close mid-line
        } else {
            peers.push(p); // keep open: the client must hang up by itself
        }
        let ev = wait_for(&mut rx, |e| matches!(e, Event::Disconnected { .. })).await;
        let Event::Disconnected { reason, .. } = ev else {
            unreachable!()
        };
        assert!(
            reason.contains(want),
            "reason {reason:?} should mention {want:?}"
        );
    }
    // Exactly one warning line per bad line.
    assert_eq!(dropping_lines(), bad.len());
    // And it still comes back to a sane pool.
    let mut p = RawPeer::accept(&listener).await;
    let methods = handshake(&mut p, Some("1fffe000")).await;
    assert_eq!(methods[1], "mining.subscribe");
    wait_for(&mut rx, |e| matches!(e, Event::Connected { .. })).await;
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_requests_error_shapes_and_timeouts() {
    let (listener, addr) = listen().await;
    let opts = ClientOptions {
        suggest_difficulty: Some(0.25),
        extranonce_subscribe: true,
        submit_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(1500),
        ..fast_options()
    };
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut p = RawPeer::new(tcp);
        let mut methods = handshake(&mut p, Some("1fffe000")).await;
        // suggest_difficulty and extranonce.subscribe come after authorize; never answered.
        methods.push(
            p.recv().await.expect("line")["method"]
                .as_str()
                .unwrap_or("")
                .into(),
        );
        methods.push(
            p.recv().await.expect("line")["method"]
                .as_str()
                .unwrap_or("")
                .into(),
        );
        p.send(json!({"id": 100, "method": "mining.ping", "params": []}))
            .await;
        let pong = p.recv().await.expect("pong");
        p.send(json!({"id": 101, "method": "client.get_version", "params": []}))
            .await;
        let version = p.recv().await.expect("version");
        p.notify("client.show_message", json!(["hello miner"]))
            .await;
        p.notify("mining.set_version_mask", json!(["00006000"]))
            .await;
        // Four submits, answered in four different shapes (the last not at all).
        let mut submits = Vec::new();
        for i in 0..4 {
            let s = p.recv().await.expect("submit");
            let id = s["id"].clone();
            submits.push(s);
            let reply = match i {
                0 => {
                    json!({"reject-reason": "Above target", "result": false, "error": null, "id": id})
                }
                1 => {
                    json!({"id": id, "result": null, "error": {"code": 22, "message": "Duplicate share"}})
                }
                2 => json!({"id": id, "result": null, "error": "plain string"}),
                _ => continue,
            };
            p.send(reply).await;
        }
        // Then silence: the client must give up on its own (the submit timeout).
        let end = p.recv().await;
        (methods, pong, version, submits, end)
    });
    let (client, mut rx) = Client::connect(PoolConfig::new(url(addr), "w", "x"), opts)
        .await
        .expect("handshake");
    let ev = wait_for(&mut rx, |e| matches!(e, Event::Message(_))).await;
    assert_eq!(ev, Event::Message("hello miner".into()));
    let ev = wait_for(&mut rx, |e| matches!(e, Event::VersionMask(_))).await;
    assert_eq!(ev, Event::VersionMask(Some(0x6000)));
    let share = |nonce: u32| Share {
        extranonce2: vec![1, 2, 3, 4],
        version: 0x2000_6000,
        ..scripted_share("j1", nonce)
    };
    let mut outcomes = Vec::new();
    for nonce in [0x0a02_9ed1, 2, 3, 4] {
        client.submit(share(nonce)).await.expect("submit");
        let ev = wait_for(&mut rx, |e| matches!(e, Event::ShareResult { .. })).await;
        let Event::ShareResult { outcome, stats, .. } = ev else {
            unreachable!()
        };
        outcomes.push((outcome, stats));
    }
    match &outcomes[0].0 {
        ShareOutcome::Rejected(r) => assert_eq!(
            (r.kind(), r.message.as_str()),
            (RejectKind::LowDifficulty, "Above target")
        ),
        o => panic!("{o:?}"),
    }
    match &outcomes[1].0 {
        ShareOutcome::Rejected(r) => {
            assert_eq!((r.code, r.kind()), (Some(22), RejectKind::Duplicate))
        }
        o => panic!("{o:?}"),
    }
    match &outcomes[2].0 {
        ShareOutcome::Rejected(r) => {
            assert_eq!((r.code, r.message.as_str()), (None, "plain string"))
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(outcomes[3].0, ShareOutcome::TimedOut);
    assert_eq!(outcomes[3].1.timed_out, 1);
    assert_eq!(outcomes[3].1.rejected, 3);
    let ev = wait_for(&mut rx, |e| matches!(e, Event::Disconnected { .. })).await;
    let Event::Disconnected { reason, .. } = ev else {
        unreachable!()
    };
    assert!(reason.contains("no answer to a submit"), "{reason}");
    let (methods, pong, version, submits, end) = server.await.expect("script");
    assert_eq!(
        methods,
        [
            "mining.configure",
            "mining.subscribe",
            "mining.authorize",
            "mining.suggest_difficulty",
            "mining.extranonce.subscribe"
        ]
    );
    assert_eq!(pong["id"], 100);
    assert_eq!(pong["result"], "pong");
    assert_eq!(
        version["result"],
        Value::from(hashforge_stratum::USER_AGENT)
    );
    assert!(hashforge_stratum::USER_AGENT.starts_with("hashforge/"));
    assert_eq!(
        submits[0]["params"],
        json!(["w", "j1", "01020304", "647025b5", "0a029ed1", "00006000"])
    );
    assert!(end.is_none(), "client closed the idle connection");
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_version_bits_without_rolling_and_refused_authorize() {
    let (listener, addr) = listen().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut p = RawPeer::new(tcp);
        handshake(&mut p, None).await; // configure answered "version-rolling": false
        let s = p.recv().await.expect("submit");
        p.reply(s["id"].clone(), json!(true)).await;
        // Second connection: authorization refused.
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut p = RawPeer::new(tcp);
        loop {
            let v = p.recv().await.expect("line");
            let id = v["id"].clone();
            match v["method"].as_str() {
                Some("mining.subscribe") => {
                    p.send(json!({"id": id, "result": [["mining.notify", "x"], "00000001", 8], "error": null})).await
                }
                Some("mining.authorize") => {
                    p.send(json!({"id": id, "result": false, "error": [24, "Unauthorized worker", null]})).await;
                    break;
                }
                _ => p.send(json!({"id": id, "result": null, "error": [20, "unsupported", null]})).await,
            }
        }
        s
    });
    let (client, mut rx) = Client::connect(PoolConfig::new(url(addr), "w", "x"), fast_options())
        .await
        .expect("handshake");
    let ev = wait_for(&mut rx, |e| matches!(e, Event::Connected { .. })).await;
    assert!(matches!(
        ev,
        Event::Connected {
            version_mask: None,
            extranonce2_size: 4,
            ..
        }
    ));
    let share = Share {
        ntime: 1,
        version: 0x2000_6000,
        ..scripted_share("j1", 0x0a02_9ed1)
    };
    submit_accepted(client.submit(share), &mut rx).await;
    client.shutdown().await;
    let refused = Client::connect(PoolConfig::new(url(addr), "w", "bad"), fast_options()).await;
    match refused {
        Err(hashforge_stratum::ClientError::Rejected { request, reason }) => {
            assert_eq!(request, "mining.authorize");
            assert_eq!(reason.code, Some(24));
        }
        other => panic!("expected a refused authorize, got {:?}", other.err()),
    }
    let s = server.await.expect("script");
    assert_eq!(
        s["params"],
        json!(["w", "j1", "00000000", "00000001", "0a029ed1"])
    );
}
