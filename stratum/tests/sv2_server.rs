//! Our Stratum V2 server against a scripted SV2 miner on 127.0.0.1: channels, jobs, shares and
//! each share error; hostile frames (a lying length, a truncated frame, an unknown message
//! type, garbage instead of the handshake); and the Noise handshake refused on a wrong key or
//! an expired certificate. After every bad case the server still serves another miner.

use std::net::SocketAddr;
use std::time::Duration;

use common_messages_sv2::Protocol;
use hashforge_stratum::v2::AuthorityKeys;
use hashforge_stratum::{ServerEvent, ServerHandle, Sv2Error, Sv2Options, Template};
use hashforge_stratum_test_support::sv2_peer::{extended_job, Reply, Sv2Peer};
use hashforge_stratum_test_support::{
    find_bad_share, find_share, localhost0, server_config, start_server, vardiff_server_config,
    EASY,
};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

struct Pool {
    server: ServerHandle,
    _events: mpsc::Receiver<ServerEvent>,
    sv2: SocketAddr,
    keys: AuthorityKeys,
}

async fn pool_with(options: impl FnOnce(AuthorityKeys) -> Sv2Options) -> Pool {
    pool_on(server_config(), options).await
}

async fn pool_on(
    config: hashforge_stratum::ServerConfig,
    options: impl FnOnce(AuthorityKeys) -> Sv2Options,
) -> Pool {
    let (server, events) = start_server(config, localhost0()).await;
    let keys = AuthorityKeys::generate();
    let sv2 = server
        .listen_sv2(localhost0(), options(keys.clone()))
        .await
        .unwrap();
    Pool {
        server,
        _events: events,
        sv2,
        keys,
    }
}

async fn pool() -> Pool {
    pool_with(Sv2Options::new).await
}

/// A miner with an open extended channel and its first job: (peer, channel, the job as the
/// miner's `Job`).
async fn miner_with_job(p: &Pool, user: &str) -> (Sv2Peer, u32, hashforge_stratum::Job) {
    let mut peer = Sv2Peer::connect(p.sv2, p.keys.public()).await.unwrap();
    peer.setup().await;
    let Reply::ChannelOpened {
        channel,
        extranonce_prefix,
        extranonce_size,
        ..
    } = peer.open_extended(user, 4).await
    else {
        panic!("channel not opened");
    };
    assert_eq!(extranonce_prefix.len(), 4);
    assert_eq!(extranonce_size, 8);
    let job = peer.reply().await;
    assert!(
        matches!(
            job,
            Reply::ExtendedJob {
                future: true,
                version_rolling_allowed: true,
                ..
            }
        ),
        "{job:?}"
    );
    let prev = peer.reply().await;
    assert!(matches!(prev, Reply::PrevHash { .. }), "{prev:?}");
    let job = extended_job(
        &job,
        &prev,
        &extranonce_prefix,
        usize::from(extranonce_size),
        EASY,
    );
    (peer, channel, job)
}

/// The server still serves: a new miner gets a channel and a job.
async fn still_serving(p: &Pool) {
    let (mut peer, channel, job) = miner_with_job(p, "another").await;
    let share = find_share(&job, 0);
    peer.submit_extended(channel, 0, job.id().parse().unwrap(), &share)
        .await;
    assert!(matches!(peer.reply().await, Reply::Accepted { .. }));
}

#[tokio::test]
async fn extended_channel_shares_and_every_share_error() {
    let p = pool().await;
    let (mut peer, ch, job) = miner_with_job(&p, "rig1").await;
    let id: u32 = job.id().parse().unwrap();
    let share = find_share(&job, 0x0000_6000);
    peer.submit_extended(ch, 1, id, &share).await;
    assert_eq!(
        peer.reply().await,
        Reply::Accepted {
            channel: ch,
            last_sequence: 1
        }
    );

    // Each error, and the connection stays usable after each.
    let reject = |code: &str, sequence: u32| Reply::Rejected {
        channel: ch,
        sequence,
        code: code.into(),
    };
    peer.submit_extended(ch, 2, id, &share).await;
    assert_eq!(peer.reply().await, reject("duplicate-share", 2));
    peer.submit_extended(ch + 100, 3, id, &share).await;
    assert_eq!(
        peer.reply().await,
        Reply::Rejected {
            channel: ch + 100,
            sequence: 3,
            code: "invalid-channel-id".into()
        }
    );
    peer.submit_extended(ch, 4, id + 1000, &share).await;
    assert_eq!(peer.reply().await, reject("invalid-job-id", 4));
    let mut outside = share.clone();
    outside.version ^= 0x0000_0100; // a bit outside BIP 320's mask
    peer.submit_extended(ch, 5, id, &outside).await;
    assert_eq!(
        peer.reply().await,
        reject("invalid-non-rollable-version-bit", 5)
    );
    let mut short = share.clone();
    short.extranonce2.truncate(4);
    peer.submit_extended(ch, 6, id, &short).await;
    assert_eq!(peer.reply().await, reject("bad-extranonce-size", 6));
    let low = find_bad_share(&job);
    peer.submit_extended(ch, 7, id, &low).await;
    assert_eq!(peer.reply().await, reject("difficulty-too-low", 7));

    // A new previous block: a future job and SetNewPrevHash; the old job is stale.
    p.server
        .new_template(Template::synthetic(p.server.extranonce_size()), true);
    let job2 = peer.reply().await;
    let prev2 = peer.reply().await;
    let Reply::PrevHash { job: activated, .. } = prev2 else {
        panic!("{prev2:?}")
    };
    let fresh = find_share(&job, 0x2000);
    peer.submit_extended(ch, 8, id, &fresh).await;
    assert_eq!(peer.reply().await, reject("stale-share", 8));
    let prefix = job.extranonce1.clone();
    let job2 = extended_job(&job2, &prev2, &prefix, 8, EASY);
    assert_eq!(job2.id(), activated.to_string());
    let share2 = find_share(&job2, 0);
    peer.submit_extended(ch, 9, activated, &share2).await;
    assert_eq!(
        peer.reply().await,
        Reply::Accepted {
            channel: ch,
            last_sequence: 9
        }
    );
    let stats = p.server.stats();
    let rig = stats
        .iter()
        .find(|w| w.worker == "rig1")
        .expect("rig1's statistics");
    assert_eq!((rig.accepted, rig.rejected, rig.stale), (2, 6, 1));
}

#[tokio::test]
async fn standard_channel_gets_merkle_root_jobs_and_its_shares_count() {
    let p = pool().await;
    let mut peer = Sv2Peer::connect(p.sv2, p.keys.public()).await.unwrap();
    peer.setup().await;
    let Reply::ChannelOpened {
        channel,
        extranonce_prefix,
        ..
    } = peer.open_standard("std1").await
    else {
        panic!("no standard channel");
    };
    assert_eq!(
        extranonce_prefix.len(),
        12,
        "extranonce1 and a fixed extranonce2"
    );
    let job = peer.reply().await;
    let prev = peer.reply().await;
    let (
        Reply::StandardJob {
            job: id,
            version,
            merkle_root,
            ..
        },
        Reply::PrevHash {
            prev_hash,
            min_ntime,
            nbits,
            ..
        },
    ) = (&job, &prev)
    else {
        panic!("{job:?} {prev:?}");
    };
    // The root is the template's coinbase with this channel's whole extranonce.
    let header = hashforge_stratum::Header {
        version: *version,
        prev_blockhash: *prev_hash,
        merkle_root: *merkle_root,
        time: *min_ntime,
        bits: hashforge_stratum::CompactTarget(*nbits),
        nonce: 0,
    };
    let target = hashforge_stratum::Target::from_difficulty(EASY).unwrap();
    let nonce = (0..50_000_000u32)
        .find(|n| target.is_met_by(&header.with_nonce(*n).block_hash()))
        .expect("a share");
    let m = mining_sv2::SubmitSharesStandard {
        channel_id: channel,
        sequence_number: 1,
        job_id: *id,
        nonce,
        ntime: *min_ntime,
        version: *version,
    };
    peer.send(parsers_sv2::AnyMessage::Mining(
        parsers_sv2::Mining::SubmitSharesStandard(m),
    ))
    .await;
    assert_eq!(
        peer.reply().await,
        Reply::Accepted {
            channel,
            last_sequence: 1
        }
    );
}

#[tokio::test]
async fn setup_and_channel_refusals_are_sv2_errors() {
    let p = pool().await;
    let mut peer = Sv2Peer::connect(p.sv2, p.keys.public()).await.unwrap();
    assert_eq!(
        peer.setup_with(Protocol::TemplateDistributionProtocol, 0)
            .await,
        Reply::SetupError("unsupported-protocol".into())
    );
    assert!(peer.closed().await);
    let mut peer = Sv2Peer::connect(p.sv2, p.keys.public()).await.unwrap();
    peer.setup().await;
    assert_eq!(
        peer.open_extended("big", 32).await,
        Reply::ChannelError("min-extranonce-size-too-large".into())
    );
    assert_eq!(
        peer.open_extended("", 4).await,
        Reply::ChannelError("invalid-user-identity".into())
    );
    // Still usable: a good channel opens.
    assert!(matches!(
        peer.open_extended("ok", 4).await,
        Reply::ChannelOpened { .. }
    ));
    still_serving(&p).await;
}

#[tokio::test]
async fn hostile_frames_never_crash_the_server() {
    let p = pool().await;

    // An unknown message type is ignored; the connection stays usable.
    let (mut peer, ch, job) = miner_with_job(&p, "odd").await;
    peer.writer
        .send_frame_as_is([0, 0, 0x7e, 3, 0, 0], &[1, 2, 3])
        .await
        .unwrap();
    let share = find_share(&job, 0);
    peer.submit_extended(ch, 1, job.id().parse().unwrap(), &share)
        .await;
    assert!(matches!(peer.reply().await, Reply::Accepted { .. }));

    // A frame larger than its declared length: the extra bytes are read as the next frame's
    // encrypted header, which fails to authenticate, so the connection is closed.
    let (mut peer, ..) = miner_with_job(&p, "liar").await;
    peer.writer
        .send_frame_as_is([0, 0, 0x1b, 2, 0, 0], &[0u8; 40])
        .await
        .unwrap();
    assert!(peer.closed().await);
    still_serving(&p).await;

    // A frame declaring more than the server takes from a miner: closed.
    let (mut peer, ..) = miner_with_job(&p, "huge").await;
    let len = (hashforge_stratum::server::MAX_MINER_FRAME + 1) as u32;
    let l = len.to_le_bytes();
    peer.writer
        .send_frame_as_is([0, 0, 0x1b, l[0], l[1], l[2]], &vec![0u8; len as usize])
        .await
        .unwrap();
    assert!(peer.closed().await);
    still_serving(&p).await;

    // A truncated frame, then the miner goes away: the server lets go of it.
    let (mut peer, ..) = miner_with_job(&p, "cut").await;
    peer.writer.send_raw(&[0x55; 10]).await.unwrap();
    drop(peer);
    still_serving(&p).await;

    // A known message type whose payload does not decode: counted, ignored.
    let (mut peer, ch, job) = miner_with_job(&p, "junk").await;
    peer.writer
        .send_frame_as_is([0, 0x80, 0x1b, 2, 0, 0], &[1, 2])
        .await
        .unwrap();
    let share = find_share(&job, 0);
    peer.submit_extended(ch, 1, job.id().parse().unwrap(), &share)
        .await;
    assert!(matches!(peer.reply().await, Reply::Accepted { .. }));
}

#[tokio::test]
async fn noise_refuses_a_wrong_key_an_expired_certificate_and_garbage() {
    let p = pool().await;
    // The miner expects another pool's key: the certificate is not signed by it.
    let other = AuthorityKeys::generate().public();
    match Sv2Peer::connect(p.sv2, other).await {
        Err(Sv2Error::Certificate(why)) => assert!(why.contains("not signed"), "{why}"),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("connected with a wrong key"),
    }
    still_serving(&p).await;

    // Garbage instead of the handshake: the server closes at once.
    let mut tcp = tokio::net::TcpStream::connect(p.sv2).await.unwrap();
    tcp.write_all(&[0x42; 200]).await.unwrap();
    let mut buf = [0u8; 512];
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        use tokio::io::AsyncReadExt;
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => continue,
            }
        }
    })
    .await
    .unwrap_or(false);
    assert!(closed, "garbage connection not closed");
    still_serving(&p).await;

    // An expired certificate: signed two hours ago for one hour.
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
        - 7200;
    let old = pool_with(|keys| Sv2Options {
        cert_validity: Duration::from_secs(3600),
        cert_start: Some(start),
        ..Sv2Options::new(keys)
    })
    .await;
    match Sv2Peer::connect(old.sv2, old.keys.public()).await {
        Err(Sv2Error::Certificate(why)) => assert!(why.contains("expired"), "{why}"),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("connected with an expired certificate"),
    }
}

#[tokio::test]
async fn vardiff_moves_the_channel_target_with_set_target() {
    // A share every 10 s wanted, retargets every 300 ms: shares in quick succession raise the
    // difficulty (at most 4x a step).
    let config = vardiff_server_config(Duration::from_secs(10), Duration::from_millis(300));
    let p = pool_on(config, Sv2Options::new).await;
    let (mut peer, ch, job) = miner_with_job(&p, "fast").await;
    let id: u32 = job.id().parse().unwrap();
    for (seq, bits) in [(1u32, 0u32), (2, 0x2000), (3, 0x4000)] {
        let share = find_share(&job, bits);
        peer.submit_extended(ch, seq, id, &share).await;
        assert!(matches!(peer.reply().await, Reply::Accepted { .. }));
    }
    let target = loop {
        match peer.reply().await {
            Reply::Target(c, t) if c == ch => break t,
            other => assert!(matches!(other, Reply::Accepted { .. }), "{other:?}"),
        }
    };
    let d = hashforge_stratum::Target::from_le_bytes(&target).difficulty();
    assert!((d / (4.0 * EASY) - 1.0).abs() < 1e-3, "difficulty {d}");
    // Then a job carrying it, valid at once.
    let next = peer.reply().await;
    assert!(
        matches!(next, Reply::ExtendedJob { future: false, .. }),
        "{next:?}"
    );
}
