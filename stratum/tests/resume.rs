//! Shares found while the pool connection is down: sent after reconnecting when the pool resumes
//! the session (same extranonce1, so the job is still valid), otherwise reported lost with the
//! reason. Scripted pools on 127.0.0.1.

mod common;

use common::*;
use hashforge_stratum::{Event, PoolConfig, PoolManager, ShareOutcome};
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// Answers the handshake as a pool: no version rolling, subscribe with session id "s1" and
/// extranonce1 `en1`, then job `job`; returns the subscribe request's params.
async fn handshake(p: &mut RawPeer, en1: &str, job: &str) -> Value {
    let script = PoolScript {
        mask: None,
        session: "s1".into(),
        extranonce1: en1.into(),
        difficulty: None,
        job: job.into(),
        template_extranonce_size: 8,
    };
    p.serve_handshake(&script).await.subscribe
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_shares_follow_a_resumed_session_or_are_reported_lost() {
    let listener = TcpListener::bind(localhost0()).await.unwrap();
    let url = url(listener.local_addr().unwrap());
    let (pool, mut rx) = PoolManager::start(
        vec![PoolConfig::new(&url, "w", "x")],
        fast_options(),
        fast_failover(),
    )
    .unwrap();

    // Connection 1 hands out job j1, then the pool goes away.
    let mut p = RawPeer::accept(&listener).await;
    handshake(&mut p, "aabbccdd", "j1").await;
    wait_for(&mut rx, |e| matches!(e, Event::Job(_))).await;
    drop(p);
    wait_for(&mut rx, |e| matches!(e, Event::Disconnected { .. })).await;

    // Found while disconnected; the pool comes back and resumes the session.
    pool.submit(scripted_share("j1", 7)).await.unwrap();
    let mut p = RawPeer::accept(&listener).await;
    let params = handshake(&mut p, "aabbccdd", "j2").await;
    assert_eq!(
        params[1], "s1",
        "the client asks to resume its session: {params}"
    );
    let submit = p.recv_method("mining.submit").await;
    assert_eq!(
        (submit["params"][1].as_str(), submit["params"][4].as_str()),
        (Some("j1"), Some("00000007"))
    );
    p.reply(submit["id"].clone(), json!(true)).await;
    assert_accepted(&mut rx).await;
    drop(p);
    wait_for(&mut rx, |e| matches!(e, Event::Disconnected { .. })).await;

    // Found while disconnected again; this time the pool starts a new session (other
    // extranonce1): the share is not sent, and the miner is told why.
    pool.submit(scripted_share("j2", 8)).await.unwrap();
    let mut p = RawPeer::accept(&listener).await;
    handshake(&mut p, "11223344", "j3").await;
    let ev = wait_for(&mut rx, |e| matches!(e, Event::ShareResult { .. })).await;
    match ev {
        Event::ShareResult {
            outcome: ShareOutcome::Lost(reason),
            share,
            ..
        } => {
            assert_eq!(share.job_id, "j2");
            assert!(reason.contains("did not resume"), "{reason}");
        }
        ev => panic!("{ev:?}"),
    }
    // Nothing was submitted to the new session.
    let next = tokio::time::timeout(std::time::Duration::from_millis(300), p.recv()).await;
    assert!(next.is_err(), "unexpected line: {next:?}");
    pool.shutdown().await;
}

/// With no pool reachable, shares queue up to a bound; past it `try_submit` says so at once
/// instead of blocking the miner.
#[tokio::test]
async fn try_submit_never_blocks_when_the_pool_is_away() {
    let dead = std::net::TcpListener::bind(localhost0()).unwrap();
    let dead_url = url(dead.local_addr().unwrap());
    drop(dead);
    let (pool, _rx) = PoolManager::start(
        vec![PoolConfig::new(&dead_url, "w", "x")],
        fast_options(),
        fast_failover(),
    )
    .unwrap();
    let mut queued = 0;
    let result = loop {
        match pool.try_submit(scripted_share("j", queued)) {
            Ok(()) => queued += 1,
            Err(e) => break e,
        }
        assert!(queued < 10_000, "the queue has no bound");
    };
    assert!(
        matches!(result, hashforge_stratum::ClientError::QueueFull),
        "{result}"
    );
    assert!(queued >= 16, "{queued}");
    pool.shutdown().await;
}
