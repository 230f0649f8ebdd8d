//! The miner's Stratum V2 session against a scripted SV2 pool on 127.0.0.1 (the real Noise
//! handshake and codecs): every channel message turned into the miner's events, share answers
//! counted, `CloseChannel` and `Reconnect` followed, a standard channel when the pool refuses an
//! extended one, and failover across a mix of v1 and V2 pools.

use binary_sv2::{Sv2Option, B032, U256};
use hashforge_stratum::v2::AuthorityKeys;
use hashforge_stratum::{Event, PoolConfig, PoolManager, RejectKind, ShareOutcome, Sv2Options};
use hashforge_stratum_test_support::sv2_peer::{target_bytes, MinerMsg, Sv2Pool};
use hashforge_stratum_test_support::{
    fast_failover, fast_options, find_share, localhost0, server_config, start_server, url,
    wait_for, wait_job, EASY,
};
use parsers_sv2::{AnyMessage, Mining};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const PREV: [u8; 32] = [7; 32];

async fn listener() -> (TcpListener, String, AuthorityKeys) {
    let l = TcpListener::bind(localhost0()).await.unwrap();
    let keys = AuthorityKeys::generate();
    let url = format!(
        "stratum2+tcp://{}/{}",
        l.local_addr().unwrap(),
        keys.public()
    );
    (l, url, keys)
}

fn manager(urls: &[&str]) -> (PoolManager, mpsc::Receiver<Event>) {
    let pools = urls.iter().map(|u| PoolConfig::new(*u, "w", "x")).collect();
    PoolManager::start(pools, fast_options(), fast_failover()).unwrap()
}

async fn share_outcome(rx: &mut mpsc::Receiver<Event>) -> ShareOutcome {
    match wait_for(rx, |e| matches!(e, Event::ShareResult { .. })).await {
        Event::ShareResult { outcome, .. } => outcome,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn channel_messages_become_the_miners_events() {
    let (l, url, keys) = listener().await;
    let (m, mut rx) = manager(&[&url]);
    let mut pool = Sv2Pool::accept(&l, &keys).await;
    pool.open(5, &[1, 2, 3, 4], EASY).await;
    match wait_for(&mut rx, |e| matches!(e, Event::Connected { .. })).await {
        Event::Connected {
            extranonce1,
            extranonce2_size,
            version_mask,
            ..
        } => {
            assert_eq!((extranonce1, extranonce2_size), (vec![1, 2, 3, 4], 8));
            assert_eq!(version_mask, Some(0x1fff_e000));
        }
        _ => unreachable!(),
    }
    // A future job, activated by SetNewPrevHash: the miner's first, clean job.
    pool.job(5, 1, None, 0x2000_0000).await;
    pool.prev_hash(5, 1, PREV, 1_700_000_000).await;
    let job = wait_job(&mut rx).await;
    assert_eq!(
        (job.id(), job.notify.clean_jobs, job.prev_hash()),
        ("1", true, PREV)
    );
    // A job valid at once: not clean.
    pool.job(5, 2, Some(1_700_000_005), 0x2000_0000).await;
    let job = wait_job(&mut rx).await;
    assert_eq!(
        (job.id(), job.notify.clean_jobs, job.notify.ntime),
        ("2", false, 1_700_000_005)
    );

    // A share: submitted as SubmitSharesExtended with its extranonce and full version.
    let share = find_share(&job, 0x4000);
    m.submit(share.clone()).await.unwrap();
    let Some(MinerMsg::Submit {
        channel,
        sequence,
        job: j,
        extranonce,
        version,
        ..
    }) = pool.next().await
    else {
        panic!("no submit");
    };
    assert_eq!(
        (channel, j, extranonce, version),
        (5, 2, Some(share.extranonce2.clone()), share.version)
    );
    pool.accept_up_to(5, sequence, 1).await;
    assert_eq!(share_outcome(&mut rx).await, ShareOutcome::Accepted);
    // A rejection, with its SV2 code, classified.
    m.submit(share.clone()).await.unwrap();
    let Some(MinerMsg::Submit { sequence, .. }) = pool.next().await else {
        panic!()
    };
    pool.reject(5, sequence, "duplicate-share").await;
    match share_outcome(&mut rx).await {
        ShareOutcome::Rejected(r) => {
            assert_eq!(r.kind(), RejectKind::Duplicate);
            assert_eq!(r.message, "duplicate-share");
        }
        o => panic!("{o:?}"),
    }

    // An unknown message type is ignored.
    pool.writer
        .send_frame_as_is([0, 0, 0x7d, 1, 0, 0], &[9])
        .await
        .unwrap();
    // SetTarget: the difficulty, then the active job again at it.
    pool.set_target(5, 4.0 * EASY).await;
    let d = wait_for(&mut rx, |e| matches!(e, Event::Difficulty(_))).await;
    assert!(
        matches!(d, Event::Difficulty(x) if (x / (4.0 * EASY) - 1.0).abs() < 1e-6),
        "{d:?}"
    );
    let job = wait_job(&mut rx).await;
    assert_eq!(job.id(), "2");
    assert!((job.difficulty() / (4.0 * EASY) - 1.0).abs() < 1e-6);
    // SetExtranoncePrefix: for the next jobs.
    pool.set_extranonce_prefix(5, &[9, 9, 9, 9]).await;
    let e = wait_for(&mut rx, |e| matches!(e, Event::Extranonce { .. })).await;
    assert!(
        matches!(e, Event::Extranonce { ref extranonce1, extranonce2_size: 8 } if *extranonce1 == [9, 9, 9, 9])
    );

    // CloseChannel: the connection ends and the manager connects again.
    pool.close_channel(5, "maintenance").await;
    let d = wait_for(&mut rx, |e| matches!(e, Event::Disconnected { .. })).await;
    assert!(
        matches!(d, Event::Disconnected { ref reason, retrying: true, .. } if reason.contains("maintenance")),
        "{d:?}"
    );
    let mut pool = Sv2Pool::accept(&l, &keys).await;
    pool.open(6, &[5, 5, 5, 5], EASY).await;
    wait_for(&mut rx, |e| matches!(e, Event::Connected { .. })).await;

    // Reconnect (same host and port): followed.
    pool.reconnect("", 0).await;
    wait_for(&mut rx, |e| matches!(e, Event::Reconnect { .. })).await;
    let mut pool = Sv2Pool::accept(&l, &keys).await;
    pool.open(7, &[6, 6, 6, 6], EASY).await;
    wait_for(&mut rx, |e| matches!(e, Event::Connected { .. })).await;
    m.shutdown().await;
}

#[tokio::test]
async fn a_standard_channel_when_the_pool_refuses_an_extended_one() {
    let (l, url, keys) = listener().await;
    let (m, mut rx) = manager(&[&url]);
    let mut pool = Sv2Pool::accept(&l, &keys).await;
    assert!(matches!(
        pool.next().await,
        Some(MinerMsg::Setup { flags: 0b100 })
    ));
    pool.send(AnyMessage::Common(
        parsers_sv2::CommonMessages::SetupConnectionSuccess(
            common_messages_sv2::SetupConnectionSuccess {
                used_version: 2,
                flags: 0,
            },
        ),
    ))
    .await;
    let Some(MinerMsg::OpenExtended { request, .. }) = pool.next().await else {
        panic!()
    };
    let refuse = mining_sv2::OpenMiningChannelError {
        request_id: request,
        error_code: "extended-channels-not-supported".try_into().unwrap(),
    };
    pool.send(AnyMessage::Mining(Mining::OpenMiningChannelError(refuse)))
        .await;
    let Some(MinerMsg::OpenStandard { request, user }) = pool.next().await else {
        panic!("no standard channel asked for");
    };
    assert_eq!(user, "w");
    let target = target_bytes(EASY);
    let prefix = [3u8; 12];
    let ok = mining_sv2::OpenStandardMiningChannelSuccess {
        request_id: request,
        channel_id: 9,
        target: U256::from(&target),
        extranonce_prefix: B032::new(&prefix[..]).unwrap(),
        group_channel_id: 0,
    };
    pool.send(AnyMessage::Mining(
        Mining::OpenStandardMiningChannelSuccess(ok),
    ))
    .await;
    wait_for(&mut rx, |e| {
        matches!(
            e,
            Event::Connected {
                extranonce2_size: 0,
                ..
            }
        )
    })
    .await;
    let root = [0x42u8; 32];
    let job = mining_sv2::NewMiningJob {
        channel_id: 9,
        job_id: 1,
        min_ntime: Sv2Option::new(None),
        version: 0x2000_0000,
        merkle_root: U256::from(&root),
    };
    pool.send(AnyMessage::Mining(Mining::NewMiningJob(job)))
        .await;
    pool.prev_hash(9, 1, PREV, 1_700_000_000).await;
    let job = wait_job(&mut rx).await;
    assert!(job.is_header_only());
    assert_eq!(job.merkle_root(&[]).unwrap(), root);
    let share = find_share(&job, 0);
    assert!(share.extranonce2.is_empty());
    m.submit(share.clone()).await.unwrap();
    let Some(MinerMsg::Submit {
        channel: 9,
        job: 1,
        extranonce: None,
        nonce,
        sequence,
        ..
    }) = pool.next().await
    else {
        panic!("no standard submit");
    };
    assert_eq!(nonce, share.nonce);
    pool.accept_up_to(9, sequence, 1).await;
    assert_eq!(share_outcome(&mut rx).await, ShareOutcome::Accepted);
    m.shutdown().await;
}

#[tokio::test]
async fn failover_crosses_between_v1_and_v2_pools() {
    // Our server speaks both: v1 on one port, V2 on another.
    let (server, _events) = start_server(server_config(), localhost0()).await;
    let keys = AuthorityKeys::generate();
    let sv2 = server
        .listen_sv2(localhost0(), Sv2Options::new(keys.clone()))
        .await
        .unwrap();
    let dead = TcpListener::bind(localhost0())
        .await
        .unwrap()
        .local_addr()
        .unwrap();

    // A dead V2 primary: on to the v1 backup.
    let dead_v2 = format!("stratum2+tcp://{dead}/{}", keys.public());
    let (m, mut rx) = manager(&[&dead_v2, &url(server.local_addr())]);
    let c = wait_for(&mut rx, |e| matches!(e, Event::Connected { .. })).await;
    assert!(matches!(c, Event::Connected { pool: 1, .. }), "{c:?}");
    m.shutdown().await;

    // A dead v1 primary: on to the V2 backup, where a share is accepted.
    let v2 = format!("stratum2+tcp://{sv2}/{}", keys.public());
    let (m, mut rx) = manager(&[&url(dead), &v2]);
    let c = wait_for(&mut rx, |e| matches!(e, Event::Connected { .. })).await;
    assert!(matches!(c, Event::Connected { pool: 1, .. }), "{c:?}");
    let job = wait_job(&mut rx).await;
    m.submit(find_share(&job, 0x2000)).await.unwrap();
    assert_eq!(share_outcome(&mut rx).await, ShareOutcome::Accepted);
    m.shutdown().await;
}
