//! Reconnects with exponential backoff and jitter (or a fixed pause), and fails over across a
//! priority-ordered pool list, returning to the primary when it is reachable again. A pool that
//! refuses authorization is failed over from at once; with a retry limit, or when every pool
//! refuses, the manager gives up ([`Event::GaveUp`]). The pool list can be replaced while it
//! runs ([`PoolManager::reload`]).

use std::time::Duration;

use rand::Rng;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::client::{
    describe_end, run_any_session, ClientOptions, Command, Event, PoolConfig, Resume, SessionCtx,
    SessionEnd, Share, StopFuture, SubmitStats,
};
use crate::error::ClientError;
use crate::text::Escaped;
use crate::transport;
use crate::url::PoolUrl;

/// Reconnect and failover policy.
#[derive(Debug, Clone)]
pub struct FailoverOptions {
    /// First reconnect delay.
    pub backoff_initial: Duration,
    /// Largest reconnect delay.
    pub backoff_max: Duration,
    /// Random jitter as a fraction of the delay (0.2 = ±20 %).
    pub jitter: f64,
    /// Consecutive failed attempts on one pool before moving to the next.
    pub failures_before_failover: u32,
    /// While on a backup pool, how often to probe the primary (TCP/TLS connect).
    pub primary_check_interval: Duration,
    /// Retries per pool before giving up (`None`: retry forever). Since the last connection
    /// that got through the handshake, each pool is tried at most `retries + 1` times (its
    /// first attempt and `retries` retries; a pool that has used them up is failed over from
    /// at once); when every pool has, the manager gives up ([`Event::GaveUp`]).
    pub retries: Option<u32>,
    /// A fixed pause between attempts instead of the exponential backoff (`None`: backoff).
    pub retry_pause: Option<Duration>,
}

impl Default for FailoverOptions {
    fn default() -> Self {
        Self {
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            jitter: 0.2,
            failures_before_failover: 3,
            primary_check_interval: Duration::from_secs(60),
            retries: None,
            retry_pause: None,
        }
    }
}

impl FailoverOptions {
    /// Delay before attempt number `attempt` (0-based), with jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .backoff_initial
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.backoff_max);
        let j = self.jitter.clamp(0.0, 1.0);
        if j == 0.0 {
            return base;
        }
        let f = rand::thread_rng().gen_range(1.0 - j..=1.0 + j);
        base.mul_f64(f)
    }

    /// The pause before attempt number `attempt` (0-based): `retry_pause` if set, else the
    /// backoff.
    pub fn pause(&self, attempt: u32) -> Duration {
        self.retry_pause.unwrap_or_else(|| self.backoff(attempt))
    }
}

/// What a running manager can be given anew ([`PoolManager::reload`]).
#[derive(Debug, Clone)]
struct Settings {
    pools: Vec<PoolConfig>,
    urls: Vec<PoolUrl>,
    suggest_difficulty: Option<f64>,
}

/// Why a session was stopped for a reloaded pool list.
const RELOADED: &str = "the pool list was reloaded";

/// Owns the reconnect/failover loop over a list of pools and forwards the session events
/// ([`Event::Connected`] tells which pool is active).
pub struct PoolManager {
    cmds: mpsc::Sender<Command>,
    shutdown: watch::Sender<bool>,
    settings: watch::Sender<Settings>,
    task: JoinHandle<()>,
}

impl PoolManager {
    /// Starts the loop (in a tokio task) over `pools` in priority order (index 0 = primary).
    pub fn start(
        pools: Vec<PoolConfig>,
        opts: ClientOptions,
        failover: FailoverOptions,
    ) -> Result<(PoolManager, mpsc::Receiver<Event>), ClientError> {
        let settings = settings(pools, opts.suggest_difficulty)?;
        let (ev_tx, ev_rx) = mpsc::channel(opts.event_buffer.max(1));
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let (sd_tx, sd_rx) = watch::channel(false);
        let (set_tx, set_rx) = watch::channel(settings);
        let task = tokio::spawn(manage(opts, failover, ev_tx, cmd_rx, sd_rx, set_rx));
        Ok((
            PoolManager {
                cmds: cmd_tx,
                shutdown: sd_tx,
                settings: set_tx,
                task,
            },
            ev_rx,
        ))
    }

    /// Replaces the pool list (priority order) and the difficulty suggested to pools, without
    /// stopping: the connection in use is kept if its pool (URL, user and password) is still in
    /// the list at the same place; otherwise it is closed and the manager starts again from the
    /// first pool ([`Event::PoolList`] tells the new list). A changed suggested difficulty is
    /// sent on the connection in use at once, and after every handshake from then on.
    pub fn reload(
        &self,
        pools: Vec<PoolConfig>,
        suggest_difficulty: Option<f64>,
    ) -> Result<(), ClientError> {
        let new = settings(pools, suggest_difficulty)?;
        let old = self.settings.send_replace(new);
        if let Some(d) = suggest_difficulty.filter(|d| Some(*d) != old.suggest_difficulty) {
            // Never blocks; if the queue is full the next handshake sends it anyway.
            let _ = self.cmds.try_send(Command::SuggestDifficulty(d));
        }
        Ok(())
    }

    /// Queues a share for submission to the active pool.
    pub async fn submit(&self, share: Share) -> Result<(), ClientError> {
        self.cmds
            .send(Command::Submit(share))
            .await
            .map_err(|_| ClientError::ShutDown)
    }

    /// Queues a share without waiting: for a miner's event loop, which must never block on a
    /// pool that is away. Fails with [`ClientError::QueueFull`] when shares have piled up (no
    /// connection for a while) and [`ClientError::ShutDown`] after shutdown.
    pub fn try_submit(&self, share: Share) -> Result<(), ClientError> {
        self.cmds
            .try_send(Command::Submit(share))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => ClientError::QueueFull,
                mpsc::error::TrySendError::Closed(_) => ClientError::ShutDown,
            })
    }

    /// Stops the loop and closes the connection.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// The pool list checked: at least one pool, every URL read.
fn settings(
    pools: Vec<PoolConfig>,
    suggest_difficulty: Option<f64>,
) -> Result<Settings, ClientError> {
    if pools.is_empty() {
        return Err(ClientError::BadUrl {
            url: String::new(),
            reason: "no pools configured".into(),
        });
    }
    let urls = pools
        .iter()
        .map(|p| PoolUrl::parse(&p.url))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Settings {
        pools,
        urls,
        suggest_difficulty,
    })
}

async fn wait_shutdown(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            // Sender gone: the manager handle was dropped; stop too.
            return;
        }
    }
}

/// Sleeps unless shut down first; returns false on shutdown.
async fn sleep_or_shutdown(d: Duration, sd: &watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = wait_shutdown(sd.clone()) => false,
    }
}

/// Per pool, since the last connection that got through the handshake: failed attempts, and
/// the refusal of authorization if that is how the last attempt ended.
#[derive(Default)]
struct Tries {
    failed: Vec<u32>,
    refused: Vec<Option<String>>,
    last_error: Vec<Option<String>>,
}

impl Tries {
    fn new(n: usize) -> Tries {
        Tries {
            failed: vec![0; n],
            refused: vec![None; n],
            last_error: vec![None; n],
        }
    }

    /// Whether pool `i` is not to be tried again (until a connection somewhere succeeds): it
    /// refused authorization, or used up its retries.
    fn spent(&self, i: usize, retries: Option<u32>) -> bool {
        self.refused[i].is_some() || retries.is_some_and(|r| self.failed[i] > r)
    }

    /// Why every pool is spent, as one line.
    fn give_up_reason(&self, pools: &[PoolConfig], retries: Option<u32>) -> String {
        if self.refused.iter().all(Option::is_some) {
            let all: Vec<&str> = self.refused.iter().flatten().map(String::as_str).collect();
            return all.join("; ");
        }
        let each: Vec<String> = pools
            .iter()
            .enumerate()
            .map(|(i, p)| match (&self.refused[i], &self.last_error[i]) {
                (Some(refusal), _) => refusal.clone(),
                (None, Some(e)) => format!("pool {} failed: {e}", Escaped(&p.url)),
                (None, None) => format!("pool {} was not tried", Escaped(&p.url)),
            })
            .collect();
        let r = retries.unwrap_or(0);
        format!(
            "gave up after {} failed connection attempt{} to {} ({r} retr{}): {}",
            r + 1,
            if r == 0 { "" } else { "s" },
            if pools.len() == 1 {
                "the pool"
            } else {
                "each pool"
            },
            if r == 1 { "y" } else { "ies" },
            each.join("; ")
        )
    }
}

async fn manage(
    mut opts: ClientOptions,
    failover: FailoverOptions,
    events: mpsc::Sender<Event>,
    mut cmds: mpsc::Receiver<Command>,
    sd: watch::Receiver<bool>,
    mut settings: watch::Receiver<Settings>,
) {
    let Settings {
        mut pools,
        mut urls,
        ..
    } = settings.borrow_and_update().clone();
    let mut current = 0usize;
    let mut failures = 0u32; // consecutive failures on `current`
    let mut attempt = 0u32; // consecutive failures overall (backoff)
    let mut tries = Tries::new(pools.len());
    let mut resume: Vec<Resume> = pools.iter().map(|_| Resume::default()).collect();
    let mut redirect: Option<PoolUrl> = None;
    // A pool that asked (`client.reconnect`) to be left alone for a while, while we mine on the
    // next one: its index, where it sent us, and when it may be used again.
    let mut waiting: Option<(usize, PoolUrl, Instant)> = None;
    let mut stats = SubmitStats::default();
    loop {
        // A reloaded pool list: the pool in use stays if it kept its place, else the first.
        if settings.has_changed().unwrap_or(false) {
            let new = settings.borrow_and_update().clone();
            let find = |p: &PoolConfig| new.pools.iter().position(|q| q == p);
            if find(&pools[current]) != Some(current) {
                current = 0;
                redirect = None;
            }
            let mut old_resume = std::mem::take(&mut resume);
            resume = new
                .pools
                .iter()
                .map(|p| {
                    pools
                        .iter()
                        .position(|o| o == p)
                        .map(|i| std::mem::take(&mut old_resume[i]))
                        .unwrap_or_default()
                })
                .collect();
            waiting = waiting.and_then(|(i, url, until)| Some((find(&pools[i])?, url, until)));
            tries = Tries::new(new.pools.len());
            failures = 0;
            opts.suggest_difficulty = new.suggest_difficulty;
            pools = new.pools;
            urls = new.urls;
            debug!(pools = pools.len(), current, "pool list reloaded");
            let list = Event::PoolList(pools.iter().map(|p| p.url.clone()).collect());
            if events.send(list).await.is_err() {
                return;
            }
        }
        let url = redirect.clone().unwrap_or_else(|| urls[current].clone());
        let stop: StopFuture<'_> = {
            let sd = sd.clone();
            let mut settings = settings.clone();
            let events = events.clone();
            let (me, index) = (pools[current].clone(), current);
            let waiting_primary = matches!(waiting, Some((0, ..)));
            // The primary is probed unless it is the pool that asked for time.
            let mut primary = (current != 0 && !waiting_primary).then(|| urls[0].clone());
            // Back to a pool of higher priority when the wait it asked for is over.
            let wait_over = waiting
                .as_ref()
                .filter(|(pool, ..)| *pool < current)
                .map(|(_, _, until)| *until);
            let (interval, insecure, timeout) = (
                failover.primary_check_interval,
                opts.insecure_tls,
                opts.connect_timeout,
            );
            Box::pin(async move {
                let wait_over = async {
                    match wait_over {
                        None => std::future::pending::<()>().await,
                        Some(t) => tokio::time::sleep_until(t).await,
                    }
                };
                tokio::pin!(wait_over);
                let shutdown = wait_shutdown(sd);
                tokio::pin!(shutdown);
                loop {
                    let probe = async {
                        match &primary {
                            None => std::future::pending::<()>().await,
                            Some(p) => loop {
                                tokio::time::sleep(interval).await;
                                if transport::connect(p, insecure, timeout).await.is_ok() {
                                    return;
                                }
                            },
                        }
                    };
                    tokio::select! {
                        _ = &mut shutdown => return SessionEnd::Shutdown,
                        _ = probe => return SessionEnd::Stopped("primary pool is back".into()),
                        _ = &mut wait_over => return SessionEnd::Stopped("the wait a pool asked for is over".into()),
                        changed = settings.changed() => {
                            if changed.is_err() {
                                return SessionEnd::Shutdown;
                            }
                            let new = settings.borrow_and_update().clone();
                            if new.pools.iter().position(|p| *p == me) != Some(index) {
                                return SessionEnd::Stopped(RELOADED.into());
                            }
                            // Kept: the list applies when this connection ends; the miner
                            // learns it now, and the probe goes to the new primary.
                            let list = new.pools.iter().map(|p| p.url.clone()).collect();
                            if events.send(Event::PoolList(list)).await.is_err() {
                                return SessionEnd::Shutdown;
                            }
                            primary = (index != 0 && !waiting_primary).then(|| new.urls[0].clone());
                        }
                    }
                }
            })
        };
        let ctx = SessionCtx {
            pool_index: current,
            pool: &pools[current],
            url: url.clone(),
            opts: &opts,
            events: &events,
            cmds: &mut cmds,
            resume: &mut resume[current],
            stats: &mut stats,
            ready: None,
        };
        let end = run_any_session(ctx, stop).await;
        if let SessionEnd::Shutdown = end {
            return;
        }
        let reason = describe_end(&end);
        let mut refusal = None;
        match &end {
            SessionEnd::Failed(e) => {
                info!(pool = current, %url, "pool attempt failed: {e}");
                tries.failed[current] = tries.failed[current].saturating_add(1);
                tries.last_error[current] = Some(e.to_string());
                refusal = match e {
                    ClientError::Rejected {
                        request: "mining.authorize",
                        reason,
                    } => Some(format!(
                        "pool {} refused authorization for worker {}: {reason}",
                        Escaped(&pools[current].url),
                        Escaped(&pools[current].user)
                    )),
                    _ => None,
                };
                tries.refused[current] = refusal.clone();
            }
            // The pool answered: every pool gets its retries again.
            _ => tries = Tries::new(pools.len()),
        }
        let retries = failover.retries;
        let give_up = (0..pools.len()).all(|i| tries.spent(i, retries));
        let event = Event::Disconnected {
            pool: current,
            reason: reason.clone(),
            retrying: !give_up,
        };
        if events.send(event).await.is_err() {
            return;
        }
        if give_up {
            let reason = tries.give_up_reason(&pools, retries);
            debug!("giving up: {reason}");
            let _ = events.send(Event::GaveUp(reason)).await;
            return;
        }
        // Shares queued now wait for the next connection: if the pool resumes the session their
        // jobs are still valid and they are sent; otherwise they are reported lost, with why.
        let delay = match end {
            SessionEnd::Shutdown => return,
            SessionEnd::Stopped(why) => {
                failures = 0;
                attempt = 0;
                match waiting.take() {
                    Some((pool, url, until)) if until <= Instant::now() => {
                        info!(pool, "the wait is over; returning to pool {pool}");
                        current = pool;
                        redirect = Some(url);
                    }
                    _ if why == RELOADED => {
                        // The top of the loop picks the first pool of the new list.
                        current = 0;
                        redirect = None;
                    }
                    _ => {
                        info!("returning to the primary pool");
                        current = 0;
                        redirect = None;
                    }
                }
                Duration::ZERO
            }
            SessionEnd::Reconnect { url, wait } if wait.is_zero() || pools.len() == 1 => {
                redirect = Some(url);
                failures = 0;
                attempt = 0;
                wait
            }
            SessionEnd::Reconnect { url, wait } => {
                // Never park the miner: mine on the next pool during the wait.
                let next = (current + 1) % pools.len();
                info!(
                    from = current,
                    to = next,
                    "pool {current} asked to wait {} s before reconnecting; mining on pool {next} meanwhile",
                    wait.as_secs()
                );
                waiting = Some((current, url, Instant::now() + wait));
                current = next;
                redirect = None;
                failures = 0;
                attempt = 0;
                Duration::ZERO
            }
            SessionEnd::Lost(e) => {
                info!(pool = current, "connection lost: {e}");
                failures = 0;
                attempt = 0;
                failover.pause(0)
            }
            SessionEnd::Failed(_) => {
                redirect = None;
                failures += 1;
                let mut d = failover.pause(attempt);
                attempt = attempt.saturating_add(1);
                let spent = tries.spent(current, retries);
                if spent || failures >= failover.failures_before_failover.max(1) {
                    // The next pool not spent, after this one (this one if it is the only).
                    let n = pools.len();
                    let next = (1..=n)
                        .map(|k| (current + k) % n)
                        .find(|&i| !tries.spent(i, retries))
                        .unwrap_or(current);
                    failures = 0;
                    if next != current {
                        match &refusal {
                            Some(refusal) => {
                                // At once: retrying a pool that refused the worker is useless.
                                warn!(
                                    "{refusal}; failing over to pool {next} {}",
                                    Escaped(&pools[next].url)
                                );
                                d = Duration::ZERO;
                            }
                            None => info!(from = current, to = next, "failing over"),
                        }
                        current = next;
                        if let Some((pool, url, until)) = waiting.take_if(|(p, ..)| *p == next) {
                            // Back to the pool that asked for time: where it said, when it said.
                            debug_assert_eq!(pool, next);
                            redirect = Some(url);
                            d = d.max(until.saturating_duration_since(Instant::now()));
                        }
                    }
                }
                d
            }
        };
        if !sleep_or_shutdown(delay, &sd).await {
            return;
        }
    }
}
