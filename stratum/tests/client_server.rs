//! The real client against the real server over 127.0.0.1.

mod common;

use std::time::Duration;

use common::*;
use hashforge_stratum::{
    Client, ClientOptions, Event, PoolConfig, PoolManager, RejectKind, ServerEvent, ServerHandle,
    ShareOutcome, Template,
};
use tokio::sync::mpsc;

async fn connect(
    addr: std::net::SocketAddr,
    opts: ClientOptions,
) -> (Client, tokio::sync::mpsc::Receiver<Event>) {
    Client::connect(PoolConfig::new(url(addr), "worker1", "x"), opts)
        .await
        .expect("handshake")
}

/// A server on 127.0.0.1 and a client connected to it with `opts`.
async fn served(
    opts: ClientOptions,
) -> (
    ServerHandle,
    mpsc::Receiver<ServerEvent>,
    Client,
    mpsc::Receiver<Event>,
) {
    let (h, sev) = start_server(server_config(), localhost0()).await;
    let (client, rx) = connect(h.local_addr(), opts).await;
    (h, sev, client, rx)
}

/// Servers A and B on 127.0.0.1, and a pool manager whose only pool is A (B is where A sends
/// it with `client.reconnect`).
async fn two_servers_managed_on_the_first() -> (
    ServerHandle,
    ServerHandle,
    PoolManager,
    mpsc::Receiver<Event>,
) {
    let (a, _) = start_server(server_config(), localhost0()).await;
    let (b, _) = start_server(server_config(), localhost0()).await;
    let pools = vec![PoolConfig::new(url(a.local_addr()), "w", "x")];
    let (m, rx) = PoolManager::start(pools, fast_options(), fast_failover()).expect("start");
    (a, b, m, rx)
}

/// Server `a` sends its miners to `host` on `b`'s port, at once; returns the client's
/// [`Event::Reconnect`].
async fn redirect(
    a: &ServerHandle,
    b: &ServerHandle,
    host: &str,
    rx: &mut mpsc::Receiver<Event>,
) -> Event {
    a.reconnect_all(Some(host.into()), Some(b.local_addr().port()), Some(0));
    wait_for(rx, |e| matches!(e, Event::Reconnect { .. })).await
}

/// Shuts the client, then the server, down.
async fn stop(client: Client, h: ServerHandle) {
    client.shutdown().await;
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_with_configure_and_rolled_share() {
    let (h, mut sev) = start_server(server_config(), localhost0()).await;
    let (client, mut rx) = connect(h.local_addr(), fast_options()).await;
    match next(&mut rx).await {
        Event::Connected {
            pool,
            extranonce1,
            extranonce2_size,
            version_mask,
            difficulty,
            ..
        } => {
            assert_eq!(pool, 0);
            assert_eq!(extranonce1.len(), 4);
            assert_eq!(extranonce2_size, 8);
            assert_eq!(version_mask, Some(0x1fff_e000));
            assert_eq!(difficulty, EASY);
        }
        other => panic!("expected Connected, got {other:?}"),
    }
    let job = wait_job(&mut rx).await;
    assert!(job.notify.clean_jobs);
    assert_eq!(job.version_mask, Some(0x1fff_e000));
    assert_eq!(job.difficulty(), EASY);
    let share = find_share(&job, 0x0000_6000);
    assert_eq!(share.version, job.notify.version | 0x6000);
    submit_accepted(client.submit(share), &mut rx).await;
    // regtest bits: the share is also a block about half the time; the server saw it either way.
    let mut saw_accept = false;
    while let Ok(ev) = sev.try_recv() {
        if matches!(ev, ServerEvent::ShareAccepted { .. }) {
            saw_accept = true;
        }
    }
    assert!(saw_accept);
    let stats = h.stats();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].worker, "worker1");
    assert_eq!(stats[0].accepted, 1);
    assert!(stats[0].hashrate > 0.0);
    stop(client, h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_without_configure() {
    let opts = ClientOptions {
        version_rolling: false,
        suggest_difficulty: Some(2e-6),
        ..fast_options()
    };
    let (h, _sev, client, mut rx) = served(opts).await;
    match next(&mut rx).await {
        Event::Connected { version_mask, .. } => assert_eq!(version_mask, None),
        other => panic!("expected Connected, got {other:?}"),
    }
    // suggest_difficulty (sent after authorize) makes the server resend the job at 2e-6.
    let job = wait_for(
        &mut rx,
        |e| matches!(e, Event::Job(j) if j.difficulty() == 2e-6),
    )
    .await;
    let Event::Job(job) = job else { unreachable!() };
    assert_eq!(job.version_mask, None);
    let share = find_share(&job, 0xffff_ffff);
    assert_eq!(
        share.version, job.notify.version,
        "no rolling without configure"
    );
    submit_accepted(client.submit(share), &mut rx).await;
    stop(client, h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_jobs_switch_makes_old_jobs_stale() {
    let (h, _sev, client, mut rx) = served(fast_options()).await;
    let old = wait_job(&mut rx).await;
    // A non-clean update keeps the old job valid.
    h.new_template(Template::synthetic(h.extranonce_size()), false);
    let mid = wait_job(&mut rx).await;
    assert!(!mid.notify.clean_jobs);
    assert_ne!(mid.notify.prevhash, old.notify.prevhash);
    submit_accepted(client.submit(find_share(&old, 0)), &mut rx).await;
    // A clean one invalidates both.
    h.new_template(Template::synthetic(h.extranonce_size()), true);
    let new = wait_job(&mut rx).await;
    assert!(new.notify.clean_jobs);
    assert_ne!(new.notify.job_id, mid.notify.job_id);
    client.submit(find_share(&mid, 0)).await.expect("submit");
    match share_result(&mut rx).await {
        ShareOutcome::Rejected(r) => {
            assert_eq!(r.code, Some(21));
            assert_eq!(r.kind(), RejectKind::Stale);
        }
        other => panic!("expected stale, got {other:?}"),
    }
    submit_accepted(client.submit(find_share(&new, 0)), &mut rx).await;
    stop(client, h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn difficulty_change_applies_to_next_job() {
    let (h, _sev, client, mut rx) = served(fast_options()).await;
    let first = wait_job(&mut rx).await;
    assert_eq!(first.difficulty(), EASY);
    h.set_difficulty(0.000_003);
    let d = wait_for(&mut rx, |e| matches!(e, Event::Difficulty(_))).await;
    assert_eq!(d, Event::Difficulty(0.000_003));
    let job = wait_job(&mut rx).await;
    assert_eq!(job.difficulty(), 0.000_003);
    let share = find_share(&job, 0);
    submit_accepted(client.submit(share), &mut rx).await;
    stop(client, h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_extranonce_rotates_work() {
    let opts = ClientOptions {
        extranonce_subscribe: true,
        ..fast_options()
    };
    let (h, _sev, client, mut rx) = served(opts).await;
    let first = wait_job(&mut rx).await;
    // Let the extranonce.subscribe reach the server before rotating.
    tokio::time::sleep(Duration::from_millis(100)).await;
    h.rotate_extranonce();
    let ev = wait_for(&mut rx, |e| matches!(e, Event::Extranonce { .. })).await;
    let Event::Extranonce {
        extranonce1,
        extranonce2_size,
    } = ev
    else {
        unreachable!()
    };
    assert_ne!(extranonce1, first.extranonce1);
    assert_eq!(extranonce2_size, 8);
    let job = wait_job(&mut rx).await;
    assert_eq!(job.extranonce1, extranonce1);
    assert!(job.notify.clean_jobs);
    submit_accepted(client.submit(find_share(&job, 0)), &mut rx).await;
    stop(client, h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_reconnect_to_another_port() {
    let (a, b, m, mut rx) = two_servers_managed_on_the_first().await;
    wait_for(&mut rx, |e| matches!(e, Event::Connected { .. })).await;
    let ev = redirect(&a, &b, "127.0.0.1", &mut rx).await;
    assert_eq!(
        ev,
        Event::Reconnect {
            host: "127.0.0.1".into(),
            port: b.local_addr().port(),
            wait: Duration::ZERO
        }
    );
    let ev = wait_for(&mut rx, |e| matches!(e, Event::Connected { .. })).await;
    let Event::Connected { url: u, pool, .. } = ev else {
        unreachable!()
    };
    assert_eq!(pool, 0);
    assert_eq!(u, url(b.local_addr()));
    // Reconnect without parameters: same host and port.
    b.reconnect_all(None, None, None);
    let ev = wait_for(&mut rx, |e| matches!(e, Event::Reconnect { .. })).await;
    assert!(matches!(ev, Event::Reconnect { port, .. } if port == b.local_addr().port()));
    wait_for(&mut rx, |e| matches!(e, Event::Connected { .. })).await;
    m.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_dies_and_returns_with_session_resume() {
    let (h, _e) = start_server(server_config(), localhost0()).await;
    let addr = h.local_addr();
    let pools = vec![PoolConfig::new(url(addr), "w", "x")];
    let (m, mut rx) = PoolManager::start(pools, fast_options(), fast_failover()).expect("start");
    let ev = wait_for(&mut rx, |e| matches!(e, Event::Connected { .. })).await;
    let Event::Connected {
        extranonce1: en1, ..
    } = ev
    else {
        unreachable!()
    };
    h.shutdown().await;
    drop(h);
    wait_for(&mut rx, |e| matches!(e, Event::Disconnected { .. })).await;
    // Let a couple of attempts fail, then bring the pool back on the same port.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (h2, _e2) = start_server(server_config(), addr).await;
    let ev = wait_for(&mut rx, |e| matches!(e, Event::Connected { .. })).await;
    let Event::Connected {
        extranonce1, pool, ..
    } = ev
    else {
        unreachable!()
    };
    assert_eq!(pool, 0);
    assert_eq!(
        extranonce1, en1,
        "session resumed with the pool's subscription id"
    );
    let job = wait_job(&mut rx).await;
    submit_accepted(m.submit(find_share(&job, 0)), &mut rx).await;
    m.shutdown().await;
    h2.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_to_backup_and_back_to_primary() {
    let primary_addr = free_port().await; // nothing listens there yet
    let (backup, _eb) = start_server(server_config(), localhost0()).await;
    let pools = vec![
        PoolConfig::new(url(primary_addr), "main", "x"),
        PoolConfig::new(url(backup.local_addr()), "backup-user", "y"),
    ];
    let (m, mut rx) = PoolManager::start(pools, fast_options(), fast_failover()).expect("start");
    let ev = wait_for(&mut rx, |e| matches!(e, Event::Connected { .. })).await;
    assert!(matches!(ev, Event::Connected { pool: 1, .. }), "{ev:?}");
    let job = wait_job(&mut rx).await;
    submit_accepted(m.submit(find_share(&job, 0)), &mut rx).await;
    assert_eq!(backup.stats()[0].worker, "backup-user");
    // The primary comes up: the manager probes it and moves back.
    let (primary, _ep) = start_server(server_config(), primary_addr).await;
    let ev = wait_for(&mut rx, |e| matches!(e, Event::Connected { .. })).await;
    assert!(matches!(ev, Event::Connected { pool: 0, .. }), "{ev:?}");
    let job = wait_job(&mut rx).await;
    submit_accepted(m.submit(find_share(&job, 0)), &mut rx).await;
    assert_eq!(primary.stats()[0].worker, "main");
    m.shutdown().await;
    primary.shutdown().await;
    backup.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_self_signed_certificate() {
    let cfg = hashforge_stratum::ServerConfig {
        tls: Some(self_signed_server_tls()),
        ..server_config()
    };
    let (h, _e) = start_server(cfg, localhost0()).await;
    let u = format!("stratum+ssl://{}", h.local_addr());
    // Without `insecure` the self-signed certificate is refused.
    let strict = Client::connect(PoolConfig::new(u.clone(), "w", "x"), fast_options()).await;
    assert!(
        matches!(strict, Err(hashforge_stratum::ClientError::Tls(_))),
        "{:?}",
        strict.err()
    );
    let opts = ClientOptions {
        insecure_tls: true,
        ..fast_options()
    };
    let (client, mut rx) =
        Client::connect(PoolConfig::new(u.replace("ssl", "tls"), "w", "x"), opts)
            .await
            .expect("tls handshake");
    let job = wait_job(&mut rx).await;
    submit_accepted(client.submit(find_share(&job, 0)), &mut rx).await;
    stop(client, h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_found_event_carries_header() {
    let (h, mut sev) = start_server(server_config(), localhost0()).await;
    let (client, mut rx) = connect(h.local_addr(), fast_options()).await;
    let job = wait_job(&mut rx).await;
    // Regtest target: keep submitting distinct shares until one is a block (p ≈ 1/2 each).
    for i in 0..40u64 {
        let s = find_share_with(&job, i.to_be_bytes().to_vec(), 0);
        submit_accepted(client.submit(s), &mut rx).await;
        while let Ok(ev) = sev.try_recv() {
            if let ServerEvent::BlockFound(b) = ev {
                assert_eq!(b.extranonce1, job.extranonce1);
                assert_eq!(b.worker, "worker1");
                let hash = b.header.block_hash();
                assert_eq!(hash, b.hash);
                assert!(b.template.network_target.is_met_by(&hash));
                stop(client, h).await;
                return;
            }
        }
    }
    panic!("no block in 40 shares at p≈1/2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_to_other_host_refused_and_foreign_shares_not_sent() {
    let (a, b, m, mut rx) = two_servers_managed_on_the_first().await;
    let old = wait_job(&mut rx).await;
    // 192.0.2.1 (TEST-NET-1) is never contacted: the host is kept, only the port followed.
    let ev = redirect(&a, &b, "192.0.2.1", &mut rx).await;
    assert!(
        matches!(&ev, Event::Reconnect { host, .. } if host == "127.0.0.1"),
        "{ev:?}"
    );
    let ev = wait_for(&mut rx, |e| matches!(e, Event::Connected { .. })).await;
    assert!(matches!(&ev, Event::Connected { url: u, .. } if *u == url(b.local_addr())));
    wait_job(&mut rx).await;
    // A share for a job of the previous connection is reported, not sent.
    m.submit(find_share(&old, 0)).await.expect("submit");
    let ev = wait_for(&mut rx, |e| matches!(e, Event::ShareResult { .. })).await;
    assert!(
        matches!(ev, Event::ShareResult { outcome: ShareOutcome::Lost(_), stats, .. } if stats.lost == 1)
    );
    assert!(b.stats().iter().all(|w| w.rejected == 0 && w.accepted == 0));
    m.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
}
