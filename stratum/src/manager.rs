//! Reconnects with exponential backoff and jitter, and fails over across a priority-ordered
//! pool list, returning to the primary when it is reachable again.

use std::time::Duration;

use rand::Rng;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::info;

use crate::client::{
    describe_end, run_session, ClientOptions, Command, Event, PoolConfig, Resume, SessionCtx,
    SessionEnd, Share, StopFuture, SubmitStats,
};
use crate::error::ClientError;
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
}

impl Default for FailoverOptions {
    fn default() -> Self {
        Self {
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            jitter: 0.2,
            failures_before_failover: 3,
            primary_check_interval: Duration::from_secs(60),
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
}

/// Owns the reconnect/failover loop over a list of pools and forwards the session events
/// ([`Event::Connected`] tells which pool is active).
pub struct PoolManager {
    cmds: mpsc::Sender<Command>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl PoolManager {
    /// Starts the loop (in a tokio task) over `pools` in priority order (index 0 = primary).
    pub fn start(
        pools: Vec<PoolConfig>,
        opts: ClientOptions,
        failover: FailoverOptions,
    ) -> Result<(PoolManager, mpsc::Receiver<Event>), ClientError> {
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
        let (ev_tx, ev_rx) = mpsc::channel(opts.event_buffer.max(1));
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let (sd_tx, sd_rx) = watch::channel(false);
        let task = tokio::spawn(manage(pools, urls, opts, failover, ev_tx, cmd_rx, sd_rx));
        Ok((
            PoolManager {
                cmds: cmd_tx,
                shutdown: sd_tx,
                task,
            },
            ev_rx,
        ))
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

async fn manage(
    pools: Vec<PoolConfig>,
    urls: Vec<PoolUrl>,
    opts: ClientOptions,
    failover: FailoverOptions,
    events: mpsc::Sender<Event>,
    mut cmds: mpsc::Receiver<Command>,
    sd: watch::Receiver<bool>,
) {
    let mut current = 0usize;
    let mut failures = 0u32; // consecutive failures on `current`
    let mut attempt = 0u32; // consecutive failures overall (backoff)
    let mut resume: Vec<Resume> = pools.iter().map(|_| Resume::default()).collect();
    let mut redirect: Option<PoolUrl> = None;
    // A pool that asked (`client.reconnect`) to be left alone for a while, while we mine on the
    // next one: its index, where it sent us, and when it may be used again.
    let mut waiting: Option<(usize, PoolUrl, Instant)> = None;
    let mut stats = SubmitStats::default();
    loop {
        let url = redirect.clone().unwrap_or_else(|| urls[current].clone());
        let stop: StopFuture<'_> = {
            let sd = sd.clone();
            // The primary is probed unless it is the pool that asked for time.
            let primary =
                (current != 0 && !matches!(waiting, Some((0, ..)))).then(|| urls[0].clone());
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
                let probe = async {
                    match primary {
                        None => std::future::pending::<()>().await,
                        Some(p) => loop {
                            tokio::time::sleep(interval).await;
                            if transport::connect(&p, insecure, timeout).await.is_ok() {
                                return;
                            }
                        },
                    }
                };
                let wait_over = async {
                    match wait_over {
                        None => std::future::pending::<()>().await,
                        Some(t) => tokio::time::sleep_until(t).await,
                    }
                };
                tokio::select! {
                    _ = wait_shutdown(sd) => SessionEnd::Shutdown,
                    _ = probe => SessionEnd::Stopped("primary pool is back".into()),
                    _ = wait_over => SessionEnd::Stopped("the wait a pool asked for is over".into()),
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
        let end = run_session(ctx, stop).await;
        if let SessionEnd::Shutdown = end {
            return;
        }
        let reason = describe_end(&end);
        if events
            .send(Event::Disconnected {
                pool: current,
                reason: reason.clone(),
            })
            .await
            .is_err()
        {
            return;
        }
        // Shares queued now wait for the next connection: if the pool resumes the session their
        // jobs are still valid and they are sent; otherwise they are reported lost, with why.
        let delay = match end {
            SessionEnd::Shutdown => return,
            SessionEnd::Stopped(_) => {
                failures = 0;
                attempt = 0;
                match waiting.take() {
                    Some((pool, url, until)) if until <= Instant::now() => {
                        info!(pool, "the wait is over; returning to pool {pool}");
                        current = pool;
                        redirect = Some(url);
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
                failover.backoff(0)
            }
            SessionEnd::Failed(e) => {
                info!(pool = current, %url, "pool attempt failed: {e}");
                redirect = None;
                failures += 1;
                let d = failover.backoff(attempt);
                attempt = attempt.saturating_add(1);
                let mut d = d;
                if failures >= failover.failures_before_failover.max(1) && pools.len() > 1 {
                    let next = (current + 1) % pools.len();
                    info!(from = current, to = next, "failing over");
                    current = next;
                    failures = 0;
                    if let Some((pool, url, until)) = waiting.take_if(|(p, ..)| *p == next) {
                        // Back to the pool that asked for time: where it said, when it said.
                        debug_assert_eq!(pool, next);
                        redirect = Some(url);
                        d = d.max(until.saturating_duration_since(Instant::now()));
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
