//! What the Stratum tests share (`stratum/tests/`, and through `hashforge-test-support` the
//! miner's tests): servers and clients on 127.0.0.1 with short timeouts, waits for events and
//! share results, a brute-force share search, a scripted raw peer ([`RawPeer`]), a scripted
//! Stratum V2 miner ([`sv2_peer::Sv2Peer`]) and self-signed certificates ([`tls`]).
//!
//! It depends on `hashforge-stratum` only, so the stratum crate's tests use it without building
//! the miner.

mod raw_peer;
pub mod sv2_peer;
pub mod tls;

pub use raw_peer::{error_code, last_job, submit_request, Handshake, PoolScript, RawPeer, Session};
pub use tls::{self_signed, self_signed_pem, self_signed_server_tls, PemFiles};

use std::net::SocketAddr;
use std::time::Duration;

use hashforge_stratum::{
    ClientOptions, Event, FailoverOptions, Job, Server, ServerConfig, ServerEvent, ServerHandle,
    Share, ShareOutcome, Template, VardiffConfig,
};
use tokio::sync::mpsc;

/// Difficulty low enough that a share takes a few thousand hashes.
pub const EASY: f64 = 1e-6;

/// 127.0.0.1, any free port.
pub fn localhost0() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Our server at [`EASY`], fixed difficulty (no vardiff), extranonce2 of 8 bytes.
pub fn server_config() -> ServerConfig {
    ServerConfig {
        extranonce2_size: 8,
        start_difficulty: EASY,
        min_difficulty: 1e-9,
        vardiff: None,
        ..ServerConfig::default()
    }
}

/// [`server_config`] with vardiff: aiming at a share per `target_interval`, retargeting every
/// `retarget_interval`.
pub fn vardiff_server_config(
    target_interval: Duration,
    retarget_interval: Duration,
) -> ServerConfig {
    ServerConfig {
        vardiff: Some(VardiffConfig {
            target_interval,
            retarget_interval,
        }),
        ..server_config()
    }
}

/// Our server bound at `addr` with a synthetic template (a clean job).
pub async fn start_server(
    config: ServerConfig,
    addr: SocketAddr,
) -> (ServerHandle, mpsc::Receiver<ServerEvent>) {
    let (h, ev) = Server::bind(addr, config).await.expect("bind 127.0.0.1");
    h.new_template(Template::synthetic(h.extranonce_size()), true);
    (h, ev)
}

/// A server on 127.0.0.1 whose `mining.authorize` asks for the password `secret`: a worker
/// with another is refused.
pub async fn start_refusing_server() -> (ServerHandle, mpsc::Receiver<ServerEvent>) {
    let config = ServerConfig {
        password: Some("secret".into()),
        ..server_config()
    };
    start_server(config, localhost0()).await
}

/// The `stratum+tcp://` URL of `addr`.
pub fn url(addr: SocketAddr) -> String {
    format!("stratum+tcp://{addr}")
}

/// Client options with short timeouts.
pub fn fast_options() -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_millis(500),
        handshake_timeout: Duration::from_secs(2),
        submit_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    }
}

/// Failover options with short backoffs and primary checks.
pub fn fast_failover() -> FailoverOptions {
    FailoverOptions {
        backoff_initial: Duration::from_millis(20),
        backoff_max: Duration::from_millis(100),
        jitter: 0.2,
        failures_before_failover: 2,
        primary_check_interval: Duration::from_millis(100),
        ..FailoverOptions::default()
    }
}

/// How long the waits below wait for an event (tests must end by themselves).
pub const WAIT: Duration = Duration::from_secs(5);

/// Next event within [`WAIT`] (panics otherwise).
pub async fn next(rx: &mut mpsc::Receiver<Event>) -> Event {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("timed out waiting for an event")
        .expect("event channel closed")
}

/// Skips events until `pred` matches ([`WAIT`] overall limit).
pub async fn wait_for(rx: &mut mpsc::Receiver<Event>, pred: impl FnMut(&Event) -> bool) -> Event {
    wait_for_within(rx, WAIT, pred).await
}

/// Skips events until `pred` matches (`within` overall limit).
pub async fn wait_for_within(
    rx: &mut mpsc::Receiver<Event>,
    within: Duration,
    mut pred: impl FnMut(&Event) -> bool,
) -> Event {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("timed out waiting for a matching event")
            .expect("event channel closed");
        if pred(&ev) {
            return ev;
        }
    }
}

/// The outcome of the next share result ([`WAIT`] limit).
pub async fn share_result(rx: &mut mpsc::Receiver<Event>) -> ShareOutcome {
    match wait_for(rx, |e| matches!(e, Event::ShareResult { .. })).await {
        Event::ShareResult { outcome, .. } => outcome,
        _ => unreachable!(),
    }
}

/// Fails unless the next share result ([`WAIT`] limit) is `Accepted`.
pub async fn assert_accepted(rx: &mut mpsc::Receiver<Event>) {
    assert_eq!(share_result(rx).await, ShareOutcome::Accepted);
}

/// Waits for a submit (`client.submit(share)`, of a client or a pool manager) to be sent, then
/// for the pool to accept the share.
pub async fn submit_accepted<E: std::fmt::Debug>(
    sent: impl std::future::Future<Output = Result<(), E>>,
    rx: &mut mpsc::Receiver<Event>,
) {
    sent.await.expect("submit");
    assert_accepted(rx).await;
}

/// The next job ([`WAIT`] limit).
pub async fn wait_job(rx: &mut mpsc::Receiver<Event>) -> Job {
    wait_job_within(rx, WAIT).await
}

/// The next job (`within` limit).
pub async fn wait_job_within(rx: &mut mpsc::Receiver<Event>, within: Duration) -> Job {
    match wait_for_within(rx, within, |e| matches!(e, Event::Job(_))).await {
        Event::Job(j) => j,
        _ => unreachable!(),
    }
}

/// A share for a scripted pool, which does not check it: job `job_id`, `nonce`, an extranonce2
/// of four zero bytes, version `20000000`, ntime `647025b5`.
pub fn scripted_share(job_id: &str, nonce: u32) -> Share {
    Share {
        job_id: job_id.into(),
        extranonce2: vec![0; 4],
        ntime: 0x6470_25b5,
        nonce,
        version: 0x2000_0000,
    }
}

/// Brute-forces a nonce meeting the job's share target (bounded), extranonce2 all zero.
pub fn find_share(job: &Job, rolled_version: u32) -> Share {
    find_share_with(job, vec![0u8; job.extranonce2_size], rolled_version)
}

/// Brute-forces a nonce meeting the job's share target for a given extranonce2 (bounded).
pub fn find_share_with(job: &Job, en2: Vec<u8>, rolled_version: u32) -> Share {
    let version = job.roll_version(rolled_version);
    search(job, en2, version, true, 50_000_000).expect("no share found within the bound")
}

/// Finds a nonce whose hash does NOT meet the job's share target.
pub fn find_bad_share(job: &Job) -> Share {
    let en2 = vec![0u8; job.extranonce2_size];
    search(job, en2, job.notify.version, false, 1_000_000).expect("every nonce met the target")
}

/// The first nonce below `bound` whose hash meets the job's share target (or, with `meets`
/// false, meets neither it nor the network target: a block is never a low-difficulty share), as
/// a share.
fn search(job: &Job, en2: Vec<u8>, version: u32, meets: bool, bound: u32) -> Option<Share> {
    let target = job.share_target();
    let network = job.network_target().expect("network target");
    let header = job
        .header(&en2, job.notify.ntime, 0, version)
        .expect("header");
    let nonce = (0..bound).find(|nonce| {
        let hash = header.with_nonce(*nonce).block_hash();
        if meets {
            target.is_met_by(&hash)
        } else {
            !target.is_met_by(&hash) && !network.is_met_by(&hash)
        }
    })?;
    Some(Share {
        job_id: job.notify.job_id.clone(),
        extranonce2: en2,
        ntime: job.notify.ntime,
        nonce,
        version,
    })
}

/// A listener on 127.0.0.1 at a free port, and its address.
pub async fn listen() -> (tokio::net::TcpListener, SocketAddr) {
    let l = tokio::net::TcpListener::bind(localhost0())
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    (l, addr)
}

/// A port that was free a moment ago (bound then released).
pub async fn free_port() -> SocketAddr {
    listen().await.1
}
