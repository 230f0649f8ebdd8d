//! Shared helpers for the integration tests (127.0.0.1 only, short timeouts).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use hashforge_stratum::{
    ClientOptions, Event, FailoverOptions, Job, Server, ServerConfig, ServerEvent, ServerHandle,
    Share, ShareOutcome, Template,
};
use tokio::sync::mpsc;

/// Difficulty low enough that a share takes a few thousand hashes.
pub const EASY: f64 = 1e-6;

pub fn localhost0() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

pub fn server_config() -> ServerConfig {
    ServerConfig {
        extranonce2_size: 8,
        start_difficulty: EASY,
        min_difficulty: 1e-9,
        vardiff: None,
        ..ServerConfig::default()
    }
}

pub async fn start_server(
    config: ServerConfig,
    addr: SocketAddr,
) -> (ServerHandle, mpsc::Receiver<ServerEvent>) {
    let (h, ev) = Server::bind(addr, config).await.expect("bind 127.0.0.1");
    h.new_template(Template::synthetic(h.extranonce_size()), true);
    (h, ev)
}

pub fn url(addr: SocketAddr) -> String {
    format!("stratum+tcp://{addr}")
}

pub fn fast_options() -> ClientOptions {
    ClientOptions {
        connect_timeout: Duration::from_millis(500),
        handshake_timeout: Duration::from_secs(2),
        submit_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    }
}

pub fn fast_failover() -> FailoverOptions {
    FailoverOptions {
        backoff_initial: Duration::from_millis(20),
        backoff_max: Duration::from_millis(100),
        jitter: 0.2,
        failures_before_failover: 2,
        primary_check_interval: Duration::from_millis(100),
    }
}

/// Next event within 5 s (panics otherwise: tests must end by themselves).
pub async fn next(rx: &mut mpsc::Receiver<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("timed out waiting for an event")
        .expect("event channel closed")
}

/// Skips events until `pred` matches (5 s overall limit).
pub async fn wait_for(
    rx: &mut mpsc::Receiver<Event>,
    mut pred: impl FnMut(&Event) -> bool,
) -> Event {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
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

/// The outcome of the next share result (5 s limit).
pub async fn share_result(rx: &mut mpsc::Receiver<Event>) -> ShareOutcome {
    match wait_for(rx, |e| matches!(e, Event::ShareResult { .. })).await {
        Event::ShareResult { outcome, .. } => outcome,
        _ => unreachable!(),
    }
}

pub async fn wait_job(rx: &mut mpsc::Receiver<Event>) -> Job {
    match wait_for(rx, |e| matches!(e, Event::Job(_))).await {
        Event::Job(j) => j,
        _ => unreachable!(),
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

/// Finds a nonce whose hash does NOT meet the job's share target (nor the network target: a
/// block is never a low-difficulty share).
pub fn find_bad_share(job: &Job) -> Share {
    let en2 = vec![0u8; job.extranonce2_size];
    search(job, en2, job.notify.version, false, 1_000_000).expect("every nonce met the target")
}

/// The first nonce below `bound` whose hash meets the job's share target (or, with `meets`
/// false, meets neither it nor the network target), as a share.
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

/// A port that was free a moment ago (bound then released).
pub async fn free_port() -> SocketAddr {
    let l = tokio::net::TcpListener::bind(localhost0())
        .await
        .expect("bind");
    l.local_addr().expect("addr")
}

/// A raw line-oriented TCP peer for scripted tests.
pub struct RawPeer {
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>>,
    wr: tokio::net::tcp::OwnedWriteHalf,
}

impl RawPeer {
    pub fn new(tcp: tokio::net::TcpStream) -> Self {
        use tokio::io::AsyncBufReadExt;
        let (rd, wr) = tcp.into_split();
        Self {
            lines: tokio::io::BufReader::new(rd).lines(),
            wr,
        }
    }

    pub async fn connect(addr: SocketAddr) -> Self {
        Self::new(tokio::net::TcpStream::connect(addr).await.expect("connect"))
    }

    /// Writes raw bytes (errors ignored: the peer may have hung up on purpose).
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        let _ = self.wr.write_all(bytes).await;
        let _ = self.wr.flush().await;
    }

    pub async fn send(&mut self, v: serde_json::Value) {
        self.send_raw(format!("{v}\n").as_bytes()).await;
    }

    /// Next line as JSON; `None` when the other side closed (5 s limit).
    pub async fn recv(&mut self) -> Option<serde_json::Value> {
        let line = tokio::time::timeout(Duration::from_secs(5), self.lines.next_line())
            .await
            .expect("timed out waiting for a line")
            .ok()??;
        Some(serde_json::from_str(&line).expect("peer sent JSON"))
    }

    /// Reads until a message with a `method` equal to `m` (notifications from a pool).
    pub async fn recv_method(&mut self, m: &str) -> serde_json::Value {
        loop {
            let v = self.recv().await.expect("connection open");
            if v["method"] == m {
                return v;
            }
        }
    }

    /// Reads until the response with this id, remembering notifies seen meanwhile.
    pub async fn recv_response(
        &mut self,
        id: u64,
        notifies: &mut Vec<serde_json::Value>,
    ) -> serde_json::Value {
        loop {
            let v = self.recv().await.expect("connection open");
            if v["id"] == id && v.get("method").is_none() {
                return v;
            }
            if v["method"] == "mining.notify" || v["method"] == "mining.set_difficulty" {
                notifies.push(v);
            }
        }
    }
}
