//! The mining loop: pool events in, jobs to the scheduler, found nonces checked and submitted,
//! results counted, status reported.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hashforge_stratum::text::Escaped;
use hashforge_stratum::{
    ClientOptions, Event, FailoverOptions, PoolConfig, PoolManager, ShareOutcome,
};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::engine::{Engine, Found};
use super::meter::Meter;
use super::shares::{ShareChecker, Verdict};
use super::source::job_source;
use super::status::{Counters, Rates, Status};
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
}

/// Called with every status report (and once more with the final one).
pub type StatusSink = Box<dyn FnMut(&Status) + Send>;

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
}

/// Mines until `shutdown` completes (or the pools are gone for good); returns the final status.
pub async fn run(
    config: MinerConfig,
    engine: Engine,
    mut found: mpsc::Receiver<Found>,
    mut on_status: StatusSink,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<Status> {
    let (pool, mut events) = PoolManager::start(config.pools, config.client, config.failover)?;
    let now = Instant::now();
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
    };
    let mut sample = tokio::time::interval(Duration::from_secs(1));
    let mut report = tokio::time::interval(config.status_interval);
    report.tick().await;
    tokio::pin!(shutdown);
    let mut nothing_hashing = false;

    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            ev = events.recv() => match ev {
                Some(ev) => st.on_event(ev),
                None => {
                    warn!("every pool connection has ended; stopping");
                    break;
                }
            },
            Some(f) = found.recv() => {
                if let Some(share) = st.on_found(f) {
                    if !st.submits.allow() {
                        st.over_rate(&share);
                    } else {
                        st.counters.submitted += 1;
                        st.pending += 1;
                        if let Err(e) = pool.try_submit(share) {
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
                st.log.flush();
                if !st.engine.is_hashing() {
                    nothing_hashing = true;
                    break;
                }
            }
            _ = report.tick() => on_status(&st.status()),
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
    st.engine.stop();
    on_status(&status);
    if nothing_hashing {
        anyhow::bail!("every backend has stopped (the reason is logged above): nothing is hashing");
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
            }
            Event::Job(job) => {
                debug!(job = %Escaped(job.id()), clean = job.notify.clean_jobs, "new job");
                self.checker.new_job(&job);
                self.difficulty = job.difficulty();
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
                let kind = self.counters.count_outcome(&outcome);
                if !self.log.line(kind) {
                    return;
                }
                let (job, nonce) = (Escaped(&share.job_id), share.nonce);
                match outcome {
                    ShareOutcome::Accepted => info!("share accepted: job {job} nonce {nonce:08x}"),
                    ShareOutcome::Rejected(reason) => {
                        warn!("share rejected: job {job} nonce {nonce:08x}: {reason}")
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
            Event::Disconnected { pool, reason } => {
                warn!(
                    "pool {pool} disconnected: {}; mining the last job while reconnecting",
                    Escaped(&reason)
                );
                self.pool = None;
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
        match self.checker.check(&f.assignment, f.nonce) {
            Verdict::Submit {
                share,
                hash,
                difficulty,
            } => {
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
    }

    fn status(&self) -> Status {
        let rates = |name: &str, detail: String, m: &Meter| {
            let [rate_10s, rate_60s, rate_15m] = m.rates();
            let hashes = m.count();
            Rates {
                name: name.to_string(),
                detail,
                rate_10s,
                rate_60s,
                rate_15m,
                hashes,
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
                .map(|(b, m)| rates(b.name(), b.describe(), m))
                .collect(),
            total: rates("total", String::new(), &self.total),
            counters,
            difficulty: self.difficulty,
            pool: self.pool.clone(),
        }
    }
}
