//! A Stratum v1 load generator: many sessions that subscribe, authorize and submit valid shares,
//! for measuring our server (`stratum-load`, and the short load test in CI).
//!
//! Each session is a real TCP connection. Shares are valid: the generator builds each header
//! from the session's job (coinbase, merkle root) and, unless the share target is the maximum,
//! searches a nonce that meets it. The server re-does all of that work for every share, so the
//! figures measure its validation path, its framing and its socket handling.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hashforge_stratum::messages::SubscribeResult;
use hashforge_stratum::{Job, ServerMessage, Target};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Longest line the generator reads from the server.
const MAX_LINE: usize = 64 * 1024;
/// Sessions that may be in their handshake at once (the listener's backlog is finite).
const CONNECT_CONCURRENCY: usize = 256;
/// How long one session may take to connect and receive its first job.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// Nonces tried per share before giving up on a job (only when the share target is not the
/// maximum; a load test runs at a difficulty where every hash is a share).
const SEARCH_BOUND: u32 = 1 << 24;

/// What to generate.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Sessions to open.
    pub sessions: usize,
    /// Shares per second over all sessions; `0` submits as fast as the server answers, with
    /// `window` requests in flight per session.
    pub rate: f64,
    /// Requests in flight per session when `rate` is 0.
    pub window: usize,
    /// How long to submit.
    pub duration: Duration,
}

/// What a run measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    /// Sessions that completed the handshake.
    pub sessions: usize,
    /// Shares the server accepted.
    pub accepted: u64,
    /// Shares the server rejected.
    pub rejected: u64,
    /// Seconds of submitting.
    pub seconds: f64,
    /// Accepted shares per second.
    pub shares_per_second: f64,
    /// Submit-to-answer latency percentiles, in microseconds.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Slowest answer.
    pub max_us: u64,
}

/// One subscribed and authorized session with its current job.
pub struct Session {
    lines: tokio::io::Lines<BufReader<OwnedReadHalf>>,
    wr: OwnedWriteHalf,
    job: Job,
    worker: String,
    next_id: u64,
    extranonce2: u64,
    nonce: u32,
    header_base: Option<(Vec<u8>, hashforge_stratum::Header)>,
}

fn other(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl Session {
    /// Connects, subscribes, authorizes as `worker`, and waits for the first job.
    pub async fn open(addr: SocketAddr, worker: String) -> std::io::Result<Session> {
        tokio::time::timeout(HANDSHAKE_TIMEOUT, Self::handshake(addr, worker))
            .await
            .map_err(|_| other("handshake timed out"))?
    }

    async fn handshake(addr: SocketAddr, worker: String) -> std::io::Result<Session> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let (rd, mut wr) = tcp.into_split();
        let mut lines = BufReader::new(rd).lines();
        let hello = format!(
            "{{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"stratum-load/1\"]}}\n\
             {{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"{worker}\",\"x\"]}}\n"
        );
        wr.write_all(hello.as_bytes()).await?;
        let (mut sub, mut authorized, mut difficulty, mut notify) = (None, false, None, None);
        while sub.is_none() || !authorized || difficulty.is_none() || notify.is_none() {
            let line = next_line(&mut lines).await?;
            match ServerMessage::parse_line(&line).map_err(other)? {
                ServerMessage::Response(r) => match r.id_u64() {
                    Some(1) => {
                        sub = Some(
                            SubscribeResult::parse(r.outcome().map_err(other)?).map_err(other)?,
                        )
                    }
                    Some(2) => {
                        r.outcome().map_err(other)?;
                        authorized = true;
                    }
                    _ => {}
                },
                ServerMessage::SetDifficulty(d) => difficulty = Some(d),
                ServerMessage::Notify(n) => notify = Some(n),
                _ => {}
            }
        }
        let sub = sub.expect("loop ends with a subscribe result");
        let job = Job::new(
            notify.expect("loop ends with a job"),
            sub.extranonce1,
            sub.extranonce2_size,
            difficulty.expect("loop ends with a difficulty"),
            None,
        );
        Ok(Session {
            lines,
            wr,
            job,
            worker,
            next_id: 3,
            extranonce2: 0,
            nonce: 0,
            header_base: None,
        })
    }

    /// The next share's `mining.submit` line, with its request id.
    fn next_submit(&mut self) -> std::io::Result<(u64, String)> {
        let target = self.job.share_target();
        loop {
            if self.header_base.is_none() || self.nonce == u32::MAX {
                self.extranonce2 += 1;
                self.nonce = 0;
                let size = self.job.extranonce2_size;
                let en2 = self.extranonce2.to_le_bytes()[..size.min(8)].to_vec();
                let header = self
                    .job
                    .header(&en2, self.job.notify.ntime, 0, self.job.notify.version)
                    .map_err(other)?;
                self.header_base = Some((en2, header));
            }
            let (en2, header) = self.header_base.as_ref().expect("set above");
            let start = self.nonce;
            let nonce = if target == Target::MAX {
                Some(start)
            } else {
                let end = start.saturating_add(SEARCH_BOUND);
                (start..end).find(|n| target.is_met_by(&header.with_nonce(*n).block_hash()))
            };
            match nonce {
                Some(n) => {
                    self.nonce = n.saturating_add(1);
                    let id = self.next_id;
                    self.next_id += 1;
                    let line = format!(
                        "{{\"id\":{id},\"method\":\"mining.submit\",\"params\":[\"{}\",\"{}\",\"{}\",\"{:08x}\",\"{:08x}\"]}}\n",
                        self.worker,
                        self.job.notify.job_id,
                        hex::encode(en2),
                        self.job.notify.ntime,
                        n
                    );
                    return Ok((id, line));
                }
                None => self.nonce = u32::MAX,
            }
        }
    }
}

async fn next_line(
    lines: &mut tokio::io::Lines<BufReader<OwnedReadHalf>>,
) -> std::io::Result<String> {
    let line = lines
        .next_line()
        .await?
        .ok_or_else(|| other("the server closed the connection"))?;
    if line.len() > MAX_LINE {
        return Err(other("line too long"));
    }
    Ok(line)
}

/// Opens `n` sessions (worker names `load.0`, `load.1`, …), at most [`CONNECT_CONCURRENCY`] in
/// their handshake at once.
pub async fn open_sessions(addr: SocketAddr, n: usize) -> std::io::Result<Vec<Session>> {
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let gate = gate.clone();
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await.map_err(other)?;
                Session::open(addr, format!("load.{i}")).await
            })
        })
        .collect();
    let mut sessions = Vec::with_capacity(n);
    for t in tasks {
        sessions.push(t.await.map_err(other)??);
    }
    Ok(sessions)
}

/// Submits valid shares on every session for `opts.duration` and measures the answers.
pub async fn run(sessions: Vec<Session>, opts: &LoadOptions) -> std::io::Result<LoadReport> {
    let n = sessions.len();
    if n == 0 {
        return Err(other("no sessions"));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    let rejected = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let per_session_interval =
        (opts.rate > 0.0).then(|| Duration::from_secs_f64(n as f64 / opts.rate));
    let window = opts.window.max(1);
    let tasks: Vec<_> = sessions
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let (stop, accepted, rejected) = (stop.clone(), accepted.clone(), rejected.clone());
            // Spread the sessions' first submits over one interval.
            let phase = per_session_interval
                .map(|iv| iv.mul_f64(i as f64 / n as f64))
                .unwrap_or_default();
            tokio::spawn(drive(
                s,
                per_session_interval,
                phase,
                window,
                stop,
                accepted,
                rejected,
            ))
        })
        .collect();
    tokio::time::sleep(opts.duration).await;
    stop.store(true, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.map_err(other)??);
    }
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let accepted = accepted.load(Ordering::Relaxed);
    Ok(LoadReport {
        sessions: n,
        accepted,
        rejected: rejected.load(Ordering::Relaxed),
        seconds,
        shares_per_second: accepted as f64 / seconds,
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        max_us: latencies.last().copied().unwrap_or(0),
    })
}

/// One session's submit loop: paced by `interval`, or a window of requests in flight. Returns
/// the latencies (µs) of the answers it received before `stop`.
async fn drive(
    mut s: Session,
    interval: Option<Duration>,
    phase: Duration,
    window: usize,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicU64>,
    rejected: Arc<AtomicU64>,
) -> std::io::Result<Vec<u64>> {
    let mut in_flight: std::collections::VecDeque<(u64, Instant)> = Default::default();
    let mut latencies = Vec::new();
    let mut ticker = interval.map(|iv| {
        let mut t = tokio::time::interval_at(tokio::time::Instant::now() + phase, iv);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(latencies);
        }
        // Paced: the next tick. Windowed: at once while there is room in the window.
        let room = in_flight.len() < window;
        let send_turn = async {
            match ticker.as_mut() {
                Some(t) => {
                    t.tick().await;
                }
                None if room => {}
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = send_turn => {
                let (id, line) = s.next_submit()?;
                s.wr.write_all(line.as_bytes()).await?;
                in_flight.push_back((id, Instant::now()));
            }
            line = next_line(&mut s.lines) => {
                match ServerMessage::parse_line(&line?).map_err(other)? {
                    ServerMessage::Response(r) => {
                        let Some(id) = r.id_u64() else { continue };
                        if let Some(pos) = in_flight.iter().position(|(i, _)| *i == id) {
                            let (_, sent) = in_flight.remove(pos).expect("position found");
                            latencies.push(sent.elapsed().as_micros() as u64);
                            match r.outcome() {
                                Ok(_) => accepted.fetch_add(1, Ordering::Relaxed),
                                Err(_) => rejected.fetch_add(1, Ordering::Relaxed),
                            };
                        }
                    }
                    ServerMessage::Notify(notify) => {
                        let j = &s.job;
                        s.job = Job::new(notify, j.extranonce1.clone(), j.extranonce2_size, j.difficulty(), None);
                        s.header_base = None;
                    }
                    ServerMessage::SetDifficulty(d) => {
                        let j = s.job.clone();
                        s.job = Job::new(j.notify, j.extranonce1, j.extranonce2_size, d, None);
                    }
                    _ => {}
                }
            }
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

/// The resident set size of process `pid` in bytes, from `/proc/PID/status` (Linux).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Samples the resident memory of process `pid` once a second on a thread of its own, until
/// the process is gone; the thread returns the samples.
pub fn sample_rss(pid: u32) -> std::thread::JoinHandle<Vec<u64>> {
    std::thread::spawn(move || {
        let mut samples = Vec::new();
        while let Some(r) = rss_bytes(pid) {
            samples.push(r);
            std::thread::sleep(Duration::from_secs(1));
        }
        samples
    })
}

/// The server settings of a load test: a difficulty so low that every hash is a share (the
/// share target is the maximum), fixed (no vardiff), room for `sessions` connections.
pub fn server_config(sessions: usize) -> hashforge_stratum::ServerConfig {
    hashforge_stratum::ServerConfig {
        start_difficulty: 1e-12,
        min_difficulty: 1e-12,
        vardiff: None,
        max_connections: sessions + 64,
        // Every session comes from 127.0.0.1, and all of them may be in their handshake at once.
        max_connections_per_ip: sessions + 64,
        max_pending_connections: sessions + 64,
        ..hashforge_stratum::ServerConfig::default()
    }
}

/// A template for a load test: the synthetic one with main-network bits (`1d00ffff`), so that
/// shares are never blocks.
pub fn template(extranonce_size: usize) -> hashforge_stratum::Template {
    let mut t = hashforge_stratum::Template::synthetic(extranonce_size);
    t.nbits = 0x1d00_ffff;
    t.network_target = Target::from_compact(hashforge_stratum::CompactTarget(t.nbits))
        .expect("the main network's genesis bits are a valid target");
    t
}

/// Raises this process's open-file limit to its hard limit (children inherit it); returns the
/// new soft limit.
pub fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local rlimit.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return 0;
        }
        r.rlim_cur = r.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        r.rlim_cur
    }
}
