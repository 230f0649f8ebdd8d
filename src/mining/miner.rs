//! The mining loop: pool events in, jobs to the scheduler, found nonces checked and submitted,
//! results counted, status reported.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use hashforge_stratum::text::Escaped;
use hashforge_stratum::{
    ClientOptions, Event, FailoverOptions, PoolConfig, PoolManager, ShareOutcome,
};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::engine::{Engine, Found};
use super::meter::Meter;
use super::monitor::{
    MinerMonitor, MinerState, PoolConnection, PoolState, MAX_POOL_ERROR_CHARS, PART_WINDOWS,
};
use super::shares::{ShareChecker, Verdict};
use super::source::job_source;
use super::status::{Counters, Rates, Status, WindowRates};
use crate::units::format_difficulty;

/// What to mine on and how to report.
pub struct MinerConfig {
    /// Pools in priority order.
    pub pools: Vec<PoolConfig>,
    pub client: ClientOptions,
    pub failover: FailoverOptions,
    pub status_interval: Duration,
    /// How long to wait for the pool's answers to in-flight shares when stopping.
    pub drain_timeout: Duration,
    /// New pool lists while mining (`mine` on SIGHUP): each goes to
    /// [`PoolManager::reload`]; the hashing goes on.
    pub reload: Option<mpsc::UnboundedReceiver<Reload>>,
}

/// A pool list (priority order) and suggested difficulty for a running miner.
#[derive(Clone, Debug)]
pub struct Reload {
    pub pools: Vec<PoolConfig>,
    pub suggest_difficulty: Option<f64>,
}

/// The pools were given up on (every one refused authorization, or used up its retries):
/// the error [`run`] returns then, with the final status.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct PoolsGaveUp {
    /// Why, one line.
    pub reason: String,
    /// The final status (already given to the status sink).
    pub status: Box<Status>,
}

/// The next reload, or never (none configured, or its sender gone).
async fn next_reload(rx: &mut Option<mpsc::UnboundedReceiver<Reload>>) -> Reload {
    if let Some(r) = rx.as_mut() {
        if let Some(reload) = r.recv().await {
            return reload;
        }
        *rx = None;
    }
    std::future::pending().await
}

/// Called with every status report (and once more with the final one).
pub type StatusSink = Box<dyn FnMut(&Status) + Send>;

/// What happened to one share, for [`ShareSink`]: found (and sent), then one answer.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ShareEvent {
    /// `found`, `accepted`, `rejected`, `stale` (rejected as stale), `timed_out` or `lost`.
    pub result: &'static str,
    pub job: String,
    pub nonce: u32,
    /// The share's difficulty (`found` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<f64>,
    /// The pool's reason (`rejected`, `stale`) or ours (`lost`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Receives the events of every share sent (at most [`MAX_SUBMITS_PER_SECOND`] a second, and
/// none dropped, unlike the log lines): found, then its answer.
pub type ShareSink = Box<dyn FnMut(&ShareEvent) + Send>;

/// The most shares sent to the pool in one second. At any sane difficulty shares come seconds
/// apart; more than this means a pool set a difficulty so low (on purpose or not) that nearly
/// every hash is a share. The shares over it are not sent and are counted lost ("over the
/// submit rate limit"), so a pool cannot turn the miner into a flood of submits.
pub const MAX_SUBMITS_PER_SECOND: u32 = 100;

/// The most per-share log lines (found, accepted, rejected, timed out, lost) in one second;
/// past it the rest are counted and summarised in one line a second ("… N more shares: …").
pub const SHARE_LOG_LINES_PER_SECOND: u32 = 20;

/// Counts events in one-second windows against a limit.
struct PerSecond {
    limit: u32,
    window: Instant,
    used: u32,
}

impl PerSecond {
    fn new(limit: u32) -> Self {
        Self {
            limit,
            window: Instant::now(),
            used: 0,
        }
    }

    /// Whether one more fits in the current second (and counts it if so).
    fn allow(&mut self) -> bool {
        if self.window.elapsed() >= Duration::from_secs(1) {
            self.window = Instant::now();
            self.used = 0;
        }
        if self.used < self.limit {
            self.used += 1;
            true
        } else {
            false
        }
    }
}

/// Per-share log lines up to [`SHARE_LOG_LINES_PER_SECOND`]; the rest counted by kind and
/// summarised by [`ShareLog::flush`].
struct ShareLog {
    lines: PerSecond,
    /// Lines not written since the last summary, by kind ("found", "accepted", …).
    skipped: std::collections::BTreeMap<&'static str, u64>,
    since: Instant,
}

impl ShareLog {
    fn new() -> Self {
        Self {
            lines: PerSecond::new(SHARE_LOG_LINES_PER_SECOND),
            skipped: Default::default(),
            since: Instant::now(),
        }
    }

    /// Whether to log this share's line; if not, it is counted under `kind`.
    fn line(&mut self, kind: &'static str) -> bool {
        if self.lines.allow() {
            return true;
        }
        if self.skipped.is_empty() {
            self.since = Instant::now();
        }
        *self.skipped.entry(kind).or_default() += 1;
        false
    }

    /// One summary line for the shares not logged one by one, if any.
    fn flush(&mut self) {
        if self.skipped.is_empty() {
            return;
        }
        let n: u64 = self.skipped.values().sum();
        let kinds: Vec<String> = self
            .skipped
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        warn!(
            "… {n} more shares in {:.1} s, not logged one by one (over {SHARE_LOG_LINES_PER_SECOND} lines/s): {}",
            self.since.elapsed().as_secs_f64(),
            kinds.join(", ")
        );
        self.skipped.clear();
    }
}

struct Loop {
    engine: Engine,
    checker: ShareChecker,
    counters: Counters,
    meters: Vec<Meter>,
    total: Meter,
    started: Instant,
    difficulty: f64,
    pool: Option<String>,
    pending: u64,
    submits: PerSecond,
    /// The submit rate limit was hit (warned once).
    throttled: bool,
    log: ShareLog,
    monitor: Arc<MinerMonitor>,
    /// Per backend, per part (CPU thread, GPU device): its meter.
    part_meters: Vec<Vec<Meter>>,
    pools: Vec<PoolState>,
    current_pool: Option<usize>,
    /// The pool of the last connection, to count failovers.
    last_pool: Option<usize>,
    failovers: u64,
    job_id: Option<String>,
    best_share: f64,
    /// When each share in flight was sent (at most [`MAX_TIMED_SHARES`]), for the latency.
    sent: HashMap<ShareKey, Instant>,
    published: Instant,
    on_share: ShareSink,
    ever_connected: bool,
    got_job: bool,
    /// The difficulty of the share `on_found` returned last.
    found_difficulty: f64,
    last_share: Option<Instant>,
    /// Why the pools were given up on ([`Event::GaveUp`]).
    gave_up: Option<String>,
}

/// How often the loop publishes its state for the HTTP API at most (and at least once a
/// second, with every rate sample), so a storm of found shares is not slowed by it.
const PUBLISH_EVERY: Duration = Duration::from_millis(50);

/// A share's identity, for matching its answer to its submit.
type ShareKey = (String, Vec<u8>, u32, u32, u32);

fn share_key(s: &hashforge_stratum::Share) -> ShareKey {
    (
        s.job_id.clone(),
        s.extranonce2.clone(),
        s.ntime,
        s.nonce,
        s.version,
    )
}

/// The most shares in flight whose submit time is kept for the pool latency (at most
/// [`MAX_SUBMITS_PER_SECOND`] go out a second and each is answered or timed out).
const MAX_TIMED_SHARES: usize = 4096;

/// Mines until `shutdown` completes (or the pools are gone for good); returns the final status,
/// or [`PoolsGaveUp`] when the pool manager gave up.
pub async fn run(
    config: MinerConfig,
    engine: Engine,
    found: mpsc::Receiver<Found>,
    on_status: StatusSink,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<Status> {
    run_with_shares(config, engine, found, on_status, Box::new(|_| {}), shutdown).await
}

/// [`run`], with every share event given to `on_share`.
pub async fn run_with_shares(
    config: MinerConfig,
    engine: Engine,
    mut found: mpsc::Receiver<Found>,
    mut on_status: StatusSink,
    on_share: ShareSink,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<Status> {
    let pools = config
        .pools
        .iter()
        .map(|p| PoolState::new(&p.url))
        .collect();
    let (pool, mut events) = PoolManager::start(config.pools, config.client, config.failover)?;
    let mut reload = config.reload;
    let now = Instant::now();
    let monitor = engine.monitor();
    let part_meters = monitor
        .parts()
        .iter()
        .map(|parts| {
            parts
                .iter()
                .map(|_| Meter::with_horizon(now, 0, PART_WINDOWS[1]))
                .collect()
        })
        .collect();
    let meters = engine
        .backends()
        .iter()
        .map(|_| Meter::new(now, 0))
        .collect();
    let mut st = Loop {
        engine,
        checker: ShareChecker::new(),
        counters: Counters::default(),
        meters,
        total: Meter::new(now, 0),
        started: now,
        difficulty: 0.0,
        pool: None,
        pending: 0,
        submits: PerSecond::new(MAX_SUBMITS_PER_SECOND),
        throttled: false,
        log: ShareLog::new(),
        monitor,
        part_meters,
        pools,
        current_pool: None,
        last_pool: None,
        failovers: 0,
        job_id: None,
        best_share: 0.0,
        sent: HashMap::new(),
        published: now,
        on_share,
        ever_connected: false,
        got_job: false,
        found_difficulty: 0.0,
        last_share: None,
        gave_up: None,
    };
    st.publish();
    let mut sample = tokio::time::interval(Duration::from_secs(1));
    let mut report = tokio::time::interval(config.status_interval);
    report.tick().await;
    tokio::pin!(shutdown);
    let mut nothing_hashing = false;

    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            ev = events.recv() => match ev {
                Some(ev) => {
                    st.on_event(ev);
                    if st.gave_up.is_some() {
                        break;
                    }
                }
                None => {
                    warn!("every pool connection has ended; stopping");
                    break;
                }
            },
            r = next_reload(&mut reload) => {
                if let Err(e) = pool.reload(r.pools, r.suggest_difficulty) {
                    warn!("new pool list not used: {e}");
                }
            }
            Some(f) = found.recv() => {
                if let Some(share) = st.on_found(f) {
                    if !st.submits.allow() {
                        st.over_rate(&share);
                    } else {
                        // Only shares sent get events (at most MAX_SUBMITS_PER_SECOND).
                        (st.on_share)(&ShareEvent {
                            result: "found",
                            job: Escaped(&share.job_id).to_string(),
                            nonce: share.nonce,
                            difficulty: Some(st.found_difficulty),
                            reason: None,
                        });
                        st.counters.submitted += 1;
                        st.pending += 1;
                        let key = share_key(&share);
                        if st.sent.len() < MAX_TIMED_SHARES {
                            st.sent.insert(key.clone(), Instant::now());
                        }
                        if let Err(e) = pool.try_submit(share) {
                            st.sent.remove(&key);
                            st.pending -= 1;
                            st.counters.lost += 1;
                            if st.log.line("lost") {
                                warn!("share lost: {e}");
                            }
                        }
                    }
                }
            }
            _ = sample.tick() => {
                st.sample();
                st.publish();
                st.log.flush();
                if !st.engine.is_hashing() {
                    nothing_hashing = true;
                    break;
                }
            }
            _ = report.tick() => on_status(&st.status()),
        }
        if st.published.elapsed() >= PUBLISH_EVERY {
            st.publish();
        }
    }

    // Stop hashing, then give in-flight shares a moment for their answers.
    drop(found);
    st.sample();
    st.engine.scheduler().clear();
    let deadline = tokio::time::sleep(config.drain_timeout);
    tokio::pin!(deadline);
    while st.pending > 0 {
        tokio::select! {
            _ = &mut deadline => break,
            ev = events.recv() => match ev {
                Some(ev) => st.on_event(ev),
                None => break,
            },
        }
    }
    st.log.flush();
    if st.pending > 0 {
        warn!(
            "{} share(s) lost: stopped before the pool answered",
            st.pending
        );
        st.counters.lost += st.pending;
    }
    pool.shutdown().await;
    let status = st.status();
    st.publish();
    st.engine.stop();
    on_status(&status);
    if nothing_hashing {
        anyhow::bail!("every backend has stopped (the reason is logged above): nothing is hashing");
    }
    if let Some(reason) = st.gave_up.take() {
        return Err(PoolsGaveUp {
            reason,
            status: Box::new(status),
        }
        .into());
    }
    Ok(status)
}

impl Loop {
    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Connected {
                pool,
                url,
                extranonce1,
                extranonce2_size,
                version_mask,
                difficulty,
            } => {
                info!(
                    "connected to pool {pool} {}: extranonce1 {}, extranonce2 size {extranonce2_size}, version rolling {}, difficulty {}",
                    Escaped(&url),
                    hex::encode(&extranonce1),
                    version_mask.map_or("off".to_string(), |m| format!("{m:08x}")),
                    format_difficulty(difficulty)
                );
                self.pool = Some(url);
                self.difficulty = difficulty;
                if self.last_pool.is_some_and(|p| p != pool) {
                    self.failovers += 1;
                }
                self.last_pool = Some(pool);
                self.current_pool = Some(pool);
                if let Some(p) = self.pools.get_mut(pool) {
                    p.connection = PoolConnection::Connected;
                    p.connected_since = Some(SystemTime::now());
                    p.connections += 1;
                }
                self.ever_connected = true;
            }
            Event::Job(job) => {
                debug!(job = %Escaped(job.id()), clean = job.notify.clean_jobs, "new job");
                self.got_job = true;
                self.checker.new_job(&job);
                self.difficulty = job.difficulty();
                self.job_id = Some(hashforge_stratum::text::escaped_prefix(
                    job.id(),
                    MAX_POOL_ERROR_CHARS,
                ));
                // Always hash the newest job; without clean_jobs the earlier ones stay valid
                // (the checker keeps them), so shares already found for them are still sent.
                self.engine
                    .scheduler()
                    .set_source(job_source(Arc::new(job)));
            }
            Event::Difficulty(d) => info!(
                "pool difficulty {} (for the next jobs)",
                format_difficulty(d)
            ),
            Event::Extranonce {
                extranonce1,
                extranonce2_size,
            } => info!(
                "new extranonce1 {} (extranonce2 size {extranonce2_size}) for the next jobs",
                hex::encode(extranonce1)
            ),
            Event::VersionMask(m) => {
                info!(
                    "version rolling mask {}",
                    m.map_or("off".to_string(), |m| format!("{m:08x}"))
                )
            }
            Event::ShareResult { share, outcome, .. } => {
                self.pending = self.pending.saturating_sub(1);
                if let Some(sent) = self.sent.remove(&share_key(&share)) {
                    let answered =
                        matches!(outcome, ShareOutcome::Accepted | ShareOutcome::Rejected(_));
                    if let Some(p) = self.current_pool.and_then(|i| self.pools.get_mut(i)) {
                        if answered {
                            p.latency = Some(sent.elapsed());
                        }
                    }
                }
                let kind = self.counters.count_outcome(&outcome);
                let reason = match &outcome {
                    ShareOutcome::Accepted => {
                        self.last_share = Some(Instant::now());
                        None
                    }
                    ShareOutcome::Rejected(reason) => Some(Escaped(&reason.message).to_string()),
                    ShareOutcome::TimedOut => None,
                    ShareOutcome::Lost(reason) => Some(Escaped(reason).to_string()),
                };
                (self.on_share)(&ShareEvent {
                    result: if kind == "timed out" {
                        "timed_out"
                    } else {
                        kind
                    },
                    job: Escaped(&share.job_id).to_string(),
                    nonce: share.nonce,
                    difficulty: None,
                    reason,
                });
                if !self.log.line(kind) {
                    return;
                }
                let (job, nonce) = (Escaped(&share.job_id), share.nonce);
                match outcome {
                    ShareOutcome::Accepted => info!("share accepted: job {job} nonce {nonce:08x}"),
                    ShareOutcome::Rejected(reason) => {
                        let stale = if kind == "stale" { " (stale)" } else { "" };
                        warn!("share rejected{stale}: job {job} nonce {nonce:08x}: {reason}")
                    }
                    ShareOutcome::TimedOut => warn!(
                        "share timed out: job {job} nonce {nonce:08x}: no answer from the pool"
                    ),
                    ShareOutcome::Lost(reason) => warn!(
                        "share lost: job {job} nonce {nonce:08x}: {}",
                        Escaped(&reason)
                    ),
                }
            }
            Event::Reconnect { host, port, wait } => {
                info!(
                    "pool asks to reconnect to {}:{port} in {} s",
                    Escaped(&host),
                    wait.as_secs()
                )
            }
            Event::Message(m) => info!("pool says: {}", Escaped(&m)),
            Event::GaveUp(reason) => self.gave_up = Some(reason),
            Event::PoolList(urls) => {
                // Same URL, same state (connections, latency, last error).
                let mut old = std::mem::take(&mut self.pools);
                let url_of = |i: Option<usize>, old: &[PoolState]| {
                    i.and_then(|i| old.get(i)).map(|p| p.url.clone())
                };
                let (current, last) = (
                    url_of(self.current_pool, &old),
                    url_of(self.last_pool, &old),
                );
                self.pools = urls
                    .iter()
                    .map(|u| match old.iter().position(|p| &p.url == u) {
                        Some(i) => old.remove(i),
                        None => PoolState::new(u),
                    })
                    .collect();
                let index = |u: Option<String>| u.and_then(|u| urls.iter().position(|x| *x == u));
                self.current_pool = index(current);
                self.last_pool = index(last);
            }
            Event::Disconnected {
                pool,
                reason,
                retrying,
            } => {
                if !retrying {
                    // The reason comes with the give-up line that follows.
                    debug!("pool {pool} disconnected: {}", Escaped(&reason));
                } else if self.got_job {
                    warn!(
                        "pool {pool} disconnected: {}; mining the last job while reconnecting",
                        Escaped(&reason)
                    );
                } else {
                    warn!(
                        "pool {pool} disconnected: {}; reconnecting (no job yet)",
                        Escaped(&reason)
                    );
                }
                self.pool = None;
                if let Some(p) = self.pools.get_mut(pool) {
                    p.connection = PoolConnection::Disconnected;
                    p.last_error = Some(hashforge_stratum::text::escaped_prefix(
                        &reason,
                        MAX_POOL_ERROR_CHARS,
                    ));
                }
                if self.current_pool == Some(pool) {
                    self.current_pool = None;
                }
            }
        }
    }

    /// A share over [`MAX_SUBMITS_PER_SECOND`]: not sent, counted lost.
    fn over_rate(&mut self, share: &hashforge_stratum::Share) {
        self.counters.lost += 1;
        if !self.throttled {
            self.throttled = true;
            warn!(
                "more than {MAX_SUBMITS_PER_SECOND} shares a second (pool difficulty {}): sending at most {MAX_SUBMITS_PER_SECOND} a second, the others are counted lost",
                format_difficulty(self.difficulty)
            );
        }
        if self.log.line("lost (over the submit rate limit)") {
            warn!(
                "share lost: job {} nonce {:08x}: over the submit rate limit",
                Escaped(&share.job_id),
                share.nonce
            );
        }
    }

    /// Checks a found nonce; returns the share to submit, if any.
    fn on_found(&mut self, f: Found) -> Option<hashforge_stratum::Share> {
        self.counters.found += 1;
        match self.checker.check(&f.assignment, f.found) {
            Verdict::Submit {
                share,
                hash,
                difficulty,
            } => {
                self.best_share = self.best_share.max(difficulty);
                self.found_difficulty = difficulty;
                if self.log.line("found") {
                    info!(
                        "share found: job {} nonce {:08x} difficulty {} hash {hash}",
                        Escaped(&share.job_id),
                        share.nonce,
                        format_difficulty(difficulty)
                    );
                }
                Some(share)
            }
            Verdict::Stale { job_id } => {
                self.counters.stale += 1;
                debug!("dropped a share of cleaned job {}", Escaped(&job_id));
                None
            }
            Verdict::Duplicate => {
                self.counters.duplicates += 1;
                debug!("dropped a duplicate share");
                None
            }
            Verdict::HardwareError { reason } => {
                self.counters.hw_errors += 1;
                warn!("hardware error: {reason}; share not sent");
                None
            }
        }
    }

    fn sample(&mut self) {
        let now = Instant::now();
        let mut total = 0;
        for (meter, backend) in self.meters.iter_mut().zip(self.engine.backends()) {
            let n = backend.hash_counter().load(Ordering::Relaxed);
            meter.sample(now, n);
            total += n;
        }
        self.total.sample(now, total);
        for (meters, parts) in self.part_meters.iter_mut().zip(self.monitor.parts()) {
            for (meter, part) in meters.iter_mut().zip(parts) {
                meter.sample(now, part.hashes.load(Ordering::Relaxed));
            }
        }
    }

    /// Publishes the state for the HTTP API.
    fn publish(&mut self) {
        self.published = Instant::now();
        let part_rates = self
            .part_meters
            .iter()
            .map(|meters| {
                meters
                    .iter()
                    .map(|m| PART_WINDOWS.map(|w| m.rate(w)))
                    .collect()
            })
            .collect();
        self.monitor.publish(MinerState {
            status: self.status(),
            part_rates,
            pools: self.pools.clone(),
            current_pool: self.current_pool,
            failovers: self.failovers,
            job_id: self.job_id.clone(),
            best_share: self.best_share,
        });
    }

    fn status(&self) -> Status {
        let rates = |name: &str, detail: String, m: &Meter, parts: &[Meter]| {
            let [rate_10s, rate_60s, rate_15m] = m.rates();
            let hashes = m.count();
            Rates {
                name: name.to_string(),
                detail,
                rates: WindowRates {
                    rate_10s,
                    rate_60s,
                    rate_15m,
                },
                hashes,
                parts_10s: parts.iter().map(|p| p.rate(PART_WINDOWS[0])).collect(),
            }
        };
        let mut counters = self.counters.clone();
        counters.hw_errors += self
            .engine
            .backends()
            .iter()
            .map(|b| b.hw_errors())
            .sum::<u64>();
        Status {
            uptime_s: self.started.elapsed().as_secs_f64(),
            backends: self
                .engine
                .backends()
                .iter()
                .zip(&self.meters)
                .zip(&self.part_meters)
                .map(|((b, m), parts)| rates(b.name(), b.describe(), m, parts))
                .collect(),
            total: rates("total", String::new(), &self.total, &[]),
            counters,
            difficulty: self.difficulty,
            pool: self.pool.clone(),
            pool_state: match (&self.pool, self.ever_connected) {
                (Some(_), _) => "connected",
                (None, false) => "connecting",
                (None, true) => "reconnecting",
            }
            .to_string(),
            best_share: self.best_share,
            last_share_s: self.last_share.map(|t| t.elapsed().as_secs_f64()),
            window_15m_full: self.started.elapsed().as_secs_f64() >= super::status::WINDOW_15M_S,
        }
    }
}
