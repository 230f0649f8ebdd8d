//! Half-open connections (issue 10, build 4), end to end on 127.0.0.1: the miner's client and
//! our server with `FaultyProxy` between them, which can leave a connection open on both sides
//! and forward nothing (what a dead NAT entry or a pulled cable looks like). The client notices
//! the silence within its idle timeout, reconnects and resumes its session; the server, whose
//! side of the old connection is still open, hands the session over; a share found before the
//! cut is accepted.

mod common;

use std::time::{Duration, Instant};

use common::*;
use hashforge_stratum::{ClientOptions, Event, PoolConfig, PoolManager};
use hashforge_test_support::faulty_proxy::{FaultPlan, FaultyProxy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_pool_is_detected_and_the_session_resumed_over_the_half_open_one() {
    let (h, _ev) = start_server(server_config(), localhost0()).await;
    // The proxy holds a silenced connection open far longer than the test runs.
    let proxy = FaultyProxy::start(h.local_addr(), 1, FaultPlan::none(Duration::from_secs(600)))
        .await
        .expect("proxy");
    let idle = Duration::from_secs(3);
    let opts = ClientOptions {
        idle_timeout: idle,
        ..fast_options()
    };
    let pools = vec![PoolConfig::new(url(proxy.addr()), "w", "x")];
    let (m, mut rx) = PoolManager::start(pools, opts, fast_failover()).expect("start");
    let long = Duration::from_secs(30);
    let Event::Connected {
        extranonce1: en1, ..
    } = wait_for_within(&mut rx, long, |e| matches!(e, Event::Connected { .. })).await
    else {
        unreachable!()
    };
    let job = wait_job_within(&mut rx, long).await;
    submit_accepted(m.submit(find_share(&job, 0)), &mut rx).await;
    // Found before the cut, held until the client knows where to send it.
    let before_cut = find_share_with(&job, vec![7; 8], 0);

    proxy.silence_open_connections();
    let cut = Instant::now();
    let Event::Disconnected { reason, .. } =
        wait_for_within(&mut rx, long, |e| matches!(e, Event::Disconnected { .. })).await
    else {
        unreachable!()
    };
    let noticed = cut.elapsed();
    // Found by the idle timeout (counted from the last line the pool sent), not by an error.
    assert!(reason.contains("no message from pool"), "{reason}");
    // The bound is the idle timeout (plus a tick); the margin is for a loaded machine.
    assert!(
        noticed < idle + Duration::from_secs(20),
        "a silent pool went unnoticed for {noticed:?}"
    );

    m.submit(before_cut).await.expect("queued while away");
    let Event::Connected {
        extranonce1: back, ..
    } = wait_for_within(&mut rx, long, |e| matches!(e, Event::Connected { .. })).await
    else {
        unreachable!()
    };
    assert_eq!(back, en1, "the session was resumed");
    assert_eq!(
        share_result(&mut rx).await,
        hashforge_stratum::ShareOutcome::Accepted,
        "the share found before the cut"
    );
    // The server closed its side of the half-open connection (which the proxy holds open for
    // ten minutes, and the server's idle timeout is as long): one connection left.
    let deadline = Instant::now() + long;
    while h.connections() != 1 {
        assert!(
            Instant::now() < deadline,
            "connections: {}",
            h.connections()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    m.shutdown().await;
    h.shutdown().await;
}
