//! The mining loop: pool events in, jobs to the scheduler, found nonces checked and submitted,
//! results counted, status reported.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    };
    let mut sample = tokio::time::interval(Duration::from_secs(1));
    let mut report = tokio::time::interval(config.status_interval);
    report.tick().await;
    tokio::pin!(shutdown);

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
                    st.pending += 1;
                    if let Err(e) = pool.try_submit(share) {
                        st.pending -= 1;
                        st.counters.lost += 1;
                        warn!("share lost: {e}");
                    }
                }
            }
            _ = sample.tick() => st.sample(),
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
                    "connected to pool {pool} {url}: extranonce1 {}, extranonce2 size {extranonce2_size}, version rolling {}, difficulty {}",
                    hex::encode(&extranonce1),
                    version_mask.map_or("off".to_string(), |m| format!("{m:08x}")),
                    format_difficulty(difficulty)
                );
                self.pool = Some(url);
                self.difficulty = difficulty;
            }
            Event::Job(job) => {
                debug!(job = job.id(), clean = job.notify.clean_jobs, "new job");
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
                let c = &mut self.counters;
                match outcome {
                    ShareOutcome::Accepted => {
                        c.accepted += 1;
                        info!(
                            "share accepted: job {} nonce {:08x}",
                            share.job_id, share.nonce
                        );
                    }
                    ShareOutcome::Rejected(reason) => {
                        c.rejected += 1;
                        if matches!(reason.kind(), hashforge_stratum::RejectKind::Stale) {
                            c.stale += 1;
                        }
                        *c.reject_reasons.entry(reason.message.clone()).or_default() += 1;
                        warn!(
                            "share rejected: job {} nonce {:08x}: {reason}",
                            share.job_id, share.nonce
                        );
                    }
                    ShareOutcome::TimedOut => {
                        c.timed_out += 1;
                        warn!(
                            "share timed out: job {} nonce {:08x}: no answer from the pool",
                            share.job_id, share.nonce
                        );
                    }
                    ShareOutcome::Lost(reason) => {
                        c.lost += 1;
                        warn!(
                            "share lost: job {} nonce {:08x}: {reason}",
                            share.job_id, share.nonce
                        );
                    }
                }
            }
            Event::Reconnect { host, port, wait } => {
                info!(
                    "pool asks to reconnect to {host}:{port} in {} s",
                    wait.as_secs()
                )
            }
            Event::Message(m) => info!("pool says: {m}"),
            Event::Disconnected { pool, reason } => {
                warn!("pool {pool} disconnected: {reason}; mining the last job while reconnecting");
                self.pool = None;
            }
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
                self.counters.submitted += 1;
                info!(
                    "share found: job {} nonce {:08x} difficulty {} hash {hash}",
                    share.job_id,
                    share.nonce,
                    format_difficulty(difficulty)
                );
                Some(share)
            }
            Verdict::Stale { job_id } => {
                self.counters.stale += 1;
                debug!("dropped a share of cleaned job {job_id}");
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
