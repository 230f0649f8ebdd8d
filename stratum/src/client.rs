//! One Stratum v1 connection to one pool: handshake, events, submits.
//!
//! [`Client::connect`] performs the handshake and then runs the session in a task; the
//! [`crate::PoolManager`] reuses the same session code with reconnects and failover.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncWrite, WriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::codec::{self, LineReader};
use crate::error::{ClientError, RejectReason};
use crate::job::Job;
use crate::messages::{
    response_ok, ClientRequest, ConfigureResult, ServerMessage, Submit, SubscribeResult,
};
use crate::text::Escaped;
use crate::transport::{self, BoxStream};
use crate::url::PoolUrl;

/// One pool: URL and credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// `stratum+tcp://HOST:PORT`, `stratum+ssl://…` or `stratum+tls://…`.
    pub url: String,
    /// Worker name.
    pub user: String,
    /// Password.
    pub password: String,
}

impl PoolConfig {
    /// Convenience constructor.
    pub fn new(
        url: impl Into<String>,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Self {
            url: url.into(),
            user: user.into(),
            password: password.into(),
        }
    }
}

/// Client behaviour; the defaults suit real pools.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// User agent sent in `mining.subscribe` and answered to `client.get_version`.
    pub user_agent: String,
    /// Send `mining.configure` asking for version rolling (BIP 310).
    pub version_rolling: bool,
    /// Mask asked for (default `1fffe000`).
    pub version_mask: u32,
    /// `version-rolling.min-bit-count` asked for (default 2).
    pub version_min_bit_count: u32,
    /// Send `mining.suggest_difficulty` (after authorize) with this value.
    pub suggest_difficulty: Option<f64>,
    /// Send `mining.extranonce.subscribe` (never waited for).
    pub extranonce_subscribe: bool,
    /// Follow `client.reconnect` to a different host (default false: only the port is taken
    /// and the current host kept, so a pool cannot send the miner elsewhere).
    pub allow_reconnect_to_other_host: bool,
    /// Accept any TLS certificate (self-signed pools).
    pub insecure_tls: bool,
    /// Stratum V2: the authority key of `stratum2+tcp://` pools whose URL does not name one.
    pub sv2_authority_key: Option<crate::v2::AuthorityPublicKey>,
    /// TCP (+TLS) connect timeout.
    pub connect_timeout: Duration,
    /// Time allowed from connect to a successful authorize.
    pub handshake_timeout: Duration,
    /// A submit not answered within this time is counted as timed out.
    pub submit_timeout: Duration,
    /// No line from the pool for this long: the connection is treated as dead, and the
    /// manager reconnects (resuming the session). This is the bound on noticing a pool that
    /// went silent with the connection open (half-open); a share sent meanwhile finds it
    /// sooner, after `submit_timeout`. A pool host that vanished is also found by TCP
    /// keepalive (within 110 s, see [`crate::transport::connect`]).
    pub idle_timeout: Duration,
    /// Longest accepted line from the pool.
    pub max_line_len: usize,
    /// Capacity of the event channel.
    pub event_buffer: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            user_agent: crate::USER_AGENT.to_string(),
            version_rolling: true,
            version_mask: 0x1fff_e000,
            version_min_bit_count: 2,
            suggest_difficulty: None,
            extranonce_subscribe: false,
            allow_reconnect_to_other_host: false,
            insecure_tls: false,
            sv2_authority_key: None,
            connect_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(20),
            submit_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(300),
            max_line_len: codec::DEFAULT_MAX_LINE,
            event_buffer: 256,
        }
    }
}

/// A share found by the miner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// Job id it was found for.
    pub job_id: String,
    /// Extranonce2 used.
    pub extranonce2: Vec<u8>,
    /// ntime used.
    pub ntime: u32,
    /// Nonce (as the u32 placed little-endian in the header).
    pub nonce: u32,
    /// Full block version used (the client sends `version & mask` when rolling is on).
    pub version: u32,
}

/// What became of a submitted share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareOutcome {
    /// The pool accepted it.
    Accepted,
    /// The pool rejected it.
    Rejected(RejectReason),
    /// No answer within [`ClientOptions::submit_timeout`] (the connection is then dropped and
    /// re-established).
    TimedOut,
    /// The connection was lost before an answer (or before it could be sent).
    Lost(String),
}

/// Submit counters for the current client/manager.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubmitStats {
    /// Accepted shares.
    pub accepted: u64,
    /// Rejected shares.
    pub rejected: u64,
    /// Timed-out submits.
    pub timed_out: u64,
    /// Shares lost with a connection.
    pub lost: u64,
}

/// Something the miner must know about.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Handshake done (subscribed and authorized) on pool `pool` (index in the pool list).
    Connected {
        /// Index of the pool in the list (0 = primary).
        pool: usize,
        /// Its URL.
        url: String,
        /// Extranonce1.
        extranonce1: Vec<u8>,
        /// Extranonce2 size.
        extranonce2_size: usize,
        /// Granted version-rolling mask.
        version_mask: Option<u32>,
        /// Difficulty in force.
        difficulty: f64,
    },
    /// New work. The first job after `Connected` always has `clean_jobs` set.
    Job(Job),
    /// New pool difficulty (applies to the next jobs).
    Difficulty(f64),
    /// New extranonce1 / extranonce2 size (applies to the next jobs).
    Extranonce {
        /// Extranonce1.
        extranonce1: Vec<u8>,
        /// Extranonce2 size.
        extranonce2_size: usize,
    },
    /// New version-rolling mask (`mining.set_version_mask` or a late configure answer).
    VersionMask(Option<u32>),
    /// Answer (or timeout) for a submitted share.
    ShareResult {
        /// The share.
        share: Share,
        /// What happened.
        outcome: ShareOutcome,
        /// Counters after this result.
        stats: SubmitStats,
    },
    /// The pool asked us to reconnect (host/port resolved to the current ones when absent).
    Reconnect {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// Wait before reconnecting.
        wait: Duration,
    },
    /// `client.show_message`.
    Message(String),
    /// The connection to pool `pool` ended.
    Disconnected {
        /// Index of the pool in the list.
        pool: usize,
        /// Why.
        reason: String,
        /// Whether the client tries again (this pool or another); `false` when it stops here,
        /// as after the last allowed attempt ([`Event::GaveUp`] follows).
        retrying: bool,
    },
    /// The pool list was replaced ([`crate::PoolManager::reload`]): the URLs in priority order;
    /// pool indexes in later events are into this list.
    PoolList(Vec<String>),
    /// The [`crate::PoolManager`] stopped trying, with why (one line): every pool refused
    /// authorization or used up its retries ([`crate::FailoverOptions::retries`]). No event
    /// follows.
    GaveUp(String),
}

/// Commands from the miner to the session task.
#[derive(Debug)]
pub(crate) enum Command {
    Submit(Share),
    /// Send `mining.suggest_difficulty` now (a reloaded setting).
    SuggestDifficulty(f64),
    Shutdown,
}

/// How a session ended.
#[derive(Debug)]
pub(crate) enum SessionEnd {
    /// Never finished the handshake.
    Failed(ClientError),
    /// Was up, then lost.
    Lost(ClientError),
    /// `client.reconnect`.
    Reconnect { url: PoolUrl, wait: Duration },
    /// Stopped from outside (e.g. the primary is back).
    Stopped(String),
    /// Shut down by the miner.
    Shutdown,
}

/// A future that ends a running session from outside.
pub(crate) type StopFuture<'a> = Pin<Box<dyn Future<Output = SessionEnd> + Send + 'a>>;

/// Per-session inputs shared across sessions by the caller.
pub(crate) struct SessionCtx<'a> {
    pub pool_index: usize,
    pub pool: &'a PoolConfig,
    pub url: PoolUrl,
    pub opts: &'a ClientOptions,
    pub events: &'a mpsc::Sender<Event>,
    pub cmds: &'a mut mpsc::Receiver<Command>,
    pub resume: &'a mut Resume,
    pub stats: &'a mut SubmitStats,
    pub ready: Option<oneshot::Sender<()>>,
}

/// What a connection leaves for the next one to the same pool, so a resumed session (the pool
/// gives back the same extranonce1 for our session id) keeps its jobs valid.
#[derive(Debug, Default)]
pub(crate) struct Resume {
    /// The session id the pool gave (subscription id), sent to resume.
    pub session_id: Option<String>,
    /// Where the last connection went (a redirect is another server: nothing carries over).
    pub url: String,
    /// Extranonce1 of the last connection.
    pub extranonce1: Vec<u8>,
    /// Jobs the last connection received.
    pub jobs: VecDeque<String>,
}

enum Pending {
    Configure,
    Subscribe,
    Authorize,
    Other(&'static str, Instant),
    Submit(Share, Instant),
}

struct Session<'a, 'b> {
    ctx: &'b mut SessionCtx<'a>,
    writer: WriteHalf<BoxStream>,
    next_id: u64,
    pending: HashMap<u64, Pending>,
    extranonce1: Vec<u8>,
    extranonce2_size: usize,
    subscribed: bool,
    authorized: bool,
    difficulty: f64,
    version_mask: Option<u32>,
    held_job: Option<Job>,
    first_job_sent: bool,
    /// Job ids seen on this connection (bounded), to refuse shares from older connections.
    known_jobs: VecDeque<String>,
    /// A difficulty below [`MIN_POOL_DIFFICULTY`] was logged (once a connection).
    low_difficulty_warned: bool,
}

/// The lowest pool difficulty the client takes: a lower `mining.set_difficulty` (a pool's
/// mistake or an attack: at 1e-300 every hash is a share) is raised to this, with one warning.
/// (Non-finite, zero and negative values are malformed messages: the connection is dropped.)
pub const MIN_POOL_DIFFICULTY: f64 = 1e-9;

/// The longest wait honoured from a pool's `client.reconnect` (a longer one is cut to this).
/// With more than one pool configured, the [`crate::PoolManager`] mines on the next pool during
/// the wait, so a pool cannot park the miner.
pub const MAX_RECONNECT_WAIT: Duration = Duration::from_secs(60);

/// How many job ids a session remembers.
const KNOWN_JOBS: usize = 256;

/// Result of handling one step: keep going or end the session.
type Step = Result<(), SessionEnd>;

fn lost_or_failed(authorized: bool, e: ClientError) -> SessionEnd {
    if authorized {
        SessionEnd::Lost(e)
    } else {
        SessionEnd::Failed(e)
    }
}

/// Runs one connection in the protocol its URL names (Stratum v1, or V2 for `stratum2+tcp`).
pub(crate) async fn run_any_session(ctx: SessionCtx<'_>, stop: StopFuture<'_>) -> SessionEnd {
    if ctx.url.sv2.is_some() {
        crate::v2::client::run_session(ctx, stop).await
    } else {
        run_session(ctx, stop).await
    }
}

/// Runs one Stratum v1 connection until it ends. `stop` ends it from outside.
pub(crate) async fn run_session(mut ctx: SessionCtx<'_>, mut stop: StopFuture<'_>) -> SessionEnd {
    let opts = ctx.opts;
    let stream = tokio::select! {
        end = stop.as_mut() => return end,
        r = transport::connect(&ctx.url, opts.insecure_tls, opts.connect_timeout) => match r {
            Ok(s) => s,
            Err(e) => return SessionEnd::Failed(e),
        },
    };
    debug!(url = %ctx.url, "connected");
    let (rd, wr) = tokio::io::split(stream);
    let mut reader = LineReader::new(rd, opts.max_line_len);
    let mut s = Session {
        ctx: &mut ctx,
        writer: wr,
        next_id: 1,
        pending: HashMap::new(),
        extranonce1: Vec::new(),
        extranonce2_size: 0,
        subscribed: false,
        authorized: false,
        difficulty: 1.0,
        version_mask: None,
        held_job: None,
        first_job_sent: false,
        known_jobs: VecDeque::new(),
        low_difficulty_warned: false,
    };
    if let Err(end) = s.start().await {
        return end;
    }
    let started = Instant::now();
    let mut last_rx = Instant::now();
    let tick_period = (opts.submit_timeout.min(opts.idle_timeout) / 4)
        .clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut tick = tokio::time::interval(tick_period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let end = loop {
        let step = tokio::select! {
            end = stop.as_mut() => break end,
            line = reader.read_line() => match line {
                Ok(Some(line)) => {
                    last_rx = Instant::now();
                    s.handle_line(&line).await
                }
                Ok(None) => Err(lost_or_failed(s.authorized, ClientError::Closed)),
                Err(e) => {
                    warn!(url = %s.ctx.url, "bad line from pool, dropping connection: {e}");
                    Err(lost_or_failed(s.authorized, ClientError::Codec(e)))
                }
            },
            // Shares wait for the handshake: only then is it known which jobs are valid here.
            cmd = s.ctx.cmds.recv(), if s.authorized => match cmd {
                Some(Command::Submit(share)) => s.submit(share).await,
                Some(Command::SuggestDifficulty(d)) => s.suggest_difficulty(d).await,
                Some(Command::Shutdown) | None => Err(SessionEnd::Shutdown),
            },
            _ = tick.tick() => {
                if last_rx.elapsed() > opts.idle_timeout {
                    warn!(url = %s.ctx.url, "no message from pool for {:?}", opts.idle_timeout);
                    Err(lost_or_failed(s.authorized, ClientError::Idle(opts.idle_timeout)))
                } else if !s.authorized && started.elapsed() > opts.handshake_timeout {
                    Err(SessionEnd::Failed(ClientError::HandshakeTimeout))
                } else {
                    s.expire().await
                }
            }
        };
        if let Err(end) = step {
            break end;
        }
    };
    s.lose_in_flight(&end).await;
    end
}

impl Session<'_, '_> {
    async fn emit(&mut self, ev: Event) -> Step {
        self.ctx
            .events
            .send(ev)
            .await
            .map_err(|_| SessionEnd::Shutdown)
    }

    async fn send(&mut self, req: ClientRequest, pending: Pending) -> Step {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(id, pending);
        let v = req.to_request(id);
        self.write(&v).await
    }

    async fn write(&mut self, v: &Value) -> Step {
        let t = self.ctx.opts.submit_timeout;
        match tokio::time::timeout(t, write_value(&mut self.writer, v)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(lost_or_failed(self.authorized, ClientError::Io(e))),
            Err(_) => Err(lost_or_failed(
                self.authorized,
                ClientError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "write timed out",
                )),
            )),
        }
    }

    async fn start(&mut self) -> Step {
        let opts = self.ctx.opts;
        if opts.version_rolling {
            let req = ClientRequest::Configure {
                extensions: vec!["version-rolling".into()],
                version_mask: Some(opts.version_mask),
                min_bit_count: Some(opts.version_min_bit_count),
            };
            self.send(req, Pending::Configure).await?;
        }
        let req = ClientRequest::Subscribe {
            user_agent: Some(opts.user_agent.clone()),
            session_id: self.ctx.resume.session_id.clone(),
        };
        self.send(req, Pending::Subscribe).await
    }

    async fn submit(&mut self, share: Share) -> Step {
        if !self.known_jobs.contains(&share.job_id) {
            // Work from an earlier connection whose session was not resumed (another
            // extranonce1, or another pool): never valid here.
            self.ctx.stats.lost += 1;
            let reason =
                "its job belongs to an earlier connection whose session the pool did not resume";
            debug!(url = %self.ctx.url, job = %Escaped(&share.job_id), "share lost: {reason}");
            let stats = *self.ctx.stats;
            return self
                .emit(Event::ShareResult {
                    share,
                    outcome: ShareOutcome::Lost(reason.into()),
                    stats,
                })
                .await;
        }
        let sub = Submit {
            user: self.ctx.pool.user.clone(),
            job_id: share.job_id.clone(),
            extranonce2: share.extranonce2.clone(),
            ntime: share.ntime,
            nonce: share.nonce,
            version_bits: self.version_mask.map(|m| share.version & m),
        };
        let deadline = Instant::now() + self.ctx.opts.submit_timeout;
        self.send(ClientRequest::Submit(sub), Pending::Submit(share, deadline))
            .await
    }

    /// Reports every share sent on this connection and not yet answered as lost, once, when
    /// the connection ends: its answer can no longer arrive, and sending it again could count
    /// it twice.
    async fn lose_in_flight(&mut self, end: &SessionEnd) {
        let mut ids: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| matches!(p, Pending::Submit(..)))
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        let shares = ids
            .into_iter()
            .filter_map(|id| match self.pending.remove(&id) {
                Some(Pending::Submit(share, _)) => Some(share),
                _ => None,
            })
            .collect();
        lose_in_flight(self.ctx, shares, end).await;
    }

    /// Times out submits (and other unanswered optional requests).
    async fn expire(&mut self) -> Step {
        let now = Instant::now();
        let expired: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| match p {
                Pending::Submit(_, d) | Pending::Other(_, d) => *d <= now,
                _ => false,
            })
            .map(|(id, _)| *id)
            .collect();
        let mut submit_expired = false;
        for id in expired {
            match self.pending.remove(&id) {
                Some(Pending::Submit(share, _)) => {
                    submit_expired = true;
                    self.ctx.stats.timed_out += 1;
                    debug!(url = %self.ctx.url, job = %Escaped(&share.job_id), "submit timed out");
                    let stats = *self.ctx.stats;
                    self.emit(Event::ShareResult {
                        share,
                        outcome: ShareOutcome::TimedOut,
                        stats,
                    })
                    .await?;
                }
                Some(Pending::Other(m, _)) => debug!("no answer to {m} (ignored)"),
                _ => {}
            }
        }
        if submit_expired {
            // A pool that stops answering submits is presumed dead: reconnect.
            let timeout = ClientError::SubmitTimeout(self.ctx.opts.submit_timeout);
            return Err(lost_or_failed(self.authorized, timeout));
        }
        Ok(())
    }

    async fn handle_line(&mut self, line: &str) -> Step {
        let msg = match ServerMessage::parse_line(line) {
            Ok(m) => m,
            Err(e) => {
                warn!(url = %self.ctx.url, "malformed message from pool, dropping connection: {e}");
                return Err(lost_or_failed(self.authorized, ClientError::Message(e)));
            }
        };
        match msg {
            ServerMessage::Notify(n) => {
                if self.known_jobs.len() >= KNOWN_JOBS {
                    self.known_jobs.pop_front();
                }
                self.known_jobs.push_back(n.job_id.clone());
                self.ctx.resume.jobs.clone_from(&self.known_jobs);
                let job = Job::new(
                    n,
                    self.extranonce1.clone(),
                    self.extranonce2_size,
                    self.difficulty,
                    self.version_mask,
                );
                if self.authorized {
                    self.emit_job(job).await?;
                } else {
                    self.held_job = Some(job);
                }
            }
            ServerMessage::SetDifficulty(d) => {
                let d = if d < MIN_POOL_DIFFICULTY {
                    if !self.low_difficulty_warned {
                        self.low_difficulty_warned = true;
                        warn!(url = %self.ctx.url, "pool difficulty {d:e} is below the floor; mining at {MIN_POOL_DIFFICULTY:e} instead");
                    }
                    MIN_POOL_DIFFICULTY
                } else {
                    d
                };
                self.difficulty = d;
                if self.authorized {
                    self.emit(Event::Difficulty(d)).await?;
                }
            }
            ServerMessage::SetExtranonce {
                extranonce1,
                extranonce2_size,
            } => {
                self.extranonce1 = extranonce1.clone();
                self.extranonce2_size = extranonce2_size;
                if self.authorized {
                    self.emit(Event::Extranonce {
                        extranonce1,
                        extranonce2_size,
                    })
                    .await?;
                }
            }
            ServerMessage::SetVersionMask(m) => {
                let mask = if self.ctx.opts.version_rolling {
                    Some(m & self.ctx.opts.version_mask)
                } else {
                    None
                };
                self.version_mask = mask;
                if self.authorized {
                    self.emit(Event::VersionMask(mask)).await?;
                }
            }
            ServerMessage::Reconnect { host, port, wait } => {
                let host = match host {
                    Some(h)
                        if h != self.ctx.url.host
                            && !self.ctx.opts.allow_reconnect_to_other_host =>
                    {
                        warn!(url = %self.ctx.url, "client.reconnect to other host {} refused; keeping the host", Escaped(&h));
                        None
                    }
                    h => h,
                };
                let url = PoolUrl {
                    host: host.unwrap_or_else(|| self.ctx.url.host.clone()),
                    port: port.unwrap_or(self.ctx.url.port),
                    tls: self.ctx.url.tls,
                    sv2: None,
                };
                let asked = Duration::from_secs(wait.unwrap_or(0));
                let wait = asked.min(MAX_RECONNECT_WAIT);
                if asked > wait {
                    warn!(url = %self.ctx.url, "client.reconnect asks to wait {} s; waiting at most {} s", asked.as_secs(), wait.as_secs());
                }
                info!(from = %self.ctx.url, to = %url, ?wait, "pool asked to reconnect");
                self.emit(Event::Reconnect {
                    host: url.host.clone(),
                    port: url.port,
                    wait,
                })
                .await?;
                return Err(SessionEnd::Reconnect { url, wait });
            }
            ServerMessage::ShowMessage(m) => {
                info!(url = %self.ctx.url, "pool message: {}", Escaped(&m));
                self.emit(Event::Message(m)).await?;
            }
            ServerMessage::GetVersion { id } => {
                let v = response_ok(&id, json!(self.ctx.opts.user_agent));
                self.write(&v).await?;
            }
            ServerMessage::Ping { id } => {
                let v = response_ok(&id, json!("pong"));
                self.write(&v).await?;
            }
            ServerMessage::Unknown { method, .. } => {
                debug!(url = %self.ctx.url, "ignoring unknown method {}", Escaped(&method));
            }
            ServerMessage::Response(r) => {
                let Some(p) = r.id_u64().and_then(|id| self.pending.remove(&id)) else {
                    debug!(url = %self.ctx.url, "response to unknown id {}", r.id);
                    return Ok(());
                };
                self.handle_response(p, r.outcome().cloned()).await?;
            }
        }
        Ok(())
    }

    async fn emit_job(&mut self, mut job: Job) -> Step {
        if !self.first_job_sent {
            job.notify.clean_jobs = true;
            self.first_job_sent = true;
        }
        self.emit(Event::Job(job)).await
    }

    async fn handle_response(&mut self, p: Pending, outcome: Result<Value, RejectReason>) -> Step {
        match p {
            Pending::Configure => {
                let granted = match &outcome {
                    Ok(v) => match ConfigureResult::parse(v) {
                        Ok(c) => c.version_mask.map(|m| m & self.ctx.opts.version_mask),
                        Err(e) => {
                            warn!(url = %self.ctx.url, "bad mining.configure answer (no rolling): {e}");
                            None
                        }
                    },
                    Err(r) => {
                        debug!("mining.configure refused: {r}");
                        None
                    }
                };
                self.version_mask = granted;
                if self.authorized {
                    self.emit(Event::VersionMask(granted)).await?;
                }
            }
            Pending::Subscribe => {
                let r = outcome.map_err(|reason| {
                    // A pool may refuse to resume: start afresh next time.
                    *self.ctx.resume = Resume::default();
                    SessionEnd::Failed(ClientError::Rejected {
                        request: "mining.subscribe",
                        reason,
                    })
                })?;
                let sub = SubscribeResult::parse(&r).map_err(|e| {
                    warn!(url = %self.ctx.url, "malformed subscribe answer: {e}");
                    SessionEnd::Failed(ClientError::Message(e))
                })?;
                let resume = &mut *self.ctx.resume;
                let url = self.ctx.url.to_string();
                let resumed = resume.session_id.is_some()
                    && resume.url == url
                    && resume.extranonce1 == sub.extranonce1;
                if resumed {
                    // Same session: the previous connection's jobs are still the pool's.
                    self.known_jobs = std::mem::take(&mut resume.jobs);
                    debug!(url = %self.ctx.url, "session resumed with the same extranonce1");
                } else {
                    resume.jobs.clear();
                }
                resume.extranonce1 = sub.extranonce1.clone();
                resume.url = url;
                self.extranonce1 = sub.extranonce1;
                self.extranonce2_size = sub.extranonce2_size;
                if let Some(job) = self.held_job.as_mut() {
                    job.extranonce1 = self.extranonce1.clone();
                    job.extranonce2_size = self.extranonce2_size;
                }
                if sub.session_id.is_some() {
                    self.ctx.resume.session_id = sub.session_id;
                }
                self.subscribed = true;
                let req = ClientRequest::Authorize {
                    user: self.ctx.pool.user.clone(),
                    password: self.ctx.pool.password.clone(),
                };
                self.send(req, Pending::Authorize).await?;
            }
            Pending::Authorize => {
                let ok = matches!(outcome, Ok(Value::Bool(true)));
                if !ok {
                    let reason = outcome
                        .err()
                        .unwrap_or_else(|| RejectReason::new(24, "authorization refused"));
                    return Err(SessionEnd::Failed(ClientError::Rejected {
                        request: "mining.authorize",
                        reason,
                    }));
                }
                self.authorized = true;
                self.after_authorize().await?;
            }
            Pending::Other(m, _) => debug!("answer to {m}: {outcome:?}"),
            Pending::Submit(share, _) => {
                let outcome = match outcome {
                    Ok(Value::Bool(true)) | Ok(Value::Null) => {
                        self.ctx.stats.accepted += 1;
                        ShareOutcome::Accepted
                    }
                    Ok(other) => {
                        self.ctx.stats.rejected += 1;
                        ShareOutcome::Rejected(RejectReason {
                            code: None,
                            message: format!("unexpected result {other}"),
                        })
                    }
                    Err(r) => {
                        self.ctx.stats.rejected += 1;
                        debug!(url = %self.ctx.url, job = %Escaped(&share.job_id), "share rejected: {r}");
                        ShareOutcome::Rejected(r)
                    }
                };
                let stats = *self.ctx.stats;
                self.emit(Event::ShareResult {
                    share,
                    outcome,
                    stats,
                })
                .await?;
            }
        }
        Ok(())
    }

    /// `mining.suggest_difficulty` on this connection.
    async fn suggest_difficulty(&mut self, d: f64) -> Step {
        let deadline = Instant::now() + self.ctx.opts.submit_timeout;
        let req = ClientRequest::SuggestDifficulty(d);
        self.send(req, Pending::Other("mining.suggest_difficulty", deadline))
            .await
    }

    async fn after_authorize(&mut self) -> Step {
        let opts = self.ctx.opts;
        let deadline = Instant::now() + opts.submit_timeout;
        if let Some(d) = opts.suggest_difficulty {
            let req = ClientRequest::SuggestDifficulty(d);
            self.send(req, Pending::Other("mining.suggest_difficulty", deadline))
                .await?;
        }
        if opts.extranonce_subscribe {
            let req = ClientRequest::ExtranonceSubscribe;
            self.send(req, Pending::Other("mining.extranonce.subscribe", deadline))
                .await?;
        }
        info!(url = %self.ctx.url, extranonce1 = %hex::encode(&self.extranonce1), "authorized");
        if let Some(tx) = self.ctx.ready.take() {
            let _ = tx.send(());
        }
        self.emit(Event::Connected {
            pool: self.ctx.pool_index,
            url: self.ctx.url.to_string(),
            extranonce1: self.extranonce1.clone(),
            extranonce2_size: self.extranonce2_size,
            version_mask: self.version_mask,
            difficulty: self.difficulty,
        })
        .await?;
        if let Some(job) = self.held_job.take() {
            let job = Job::new(
                job.notify,
                job.extranonce1,
                job.extranonce2_size,
                self.difficulty,
                self.version_mask,
            );
            self.emit_job(job).await?;
        }
        Ok(())
    }
}

async fn write_value<W: AsyncWrite + Unpin>(w: &mut W, v: &Value) -> std::io::Result<()> {
    codec::write_line(w, v).await
}

/// Reports the shares a connection sent and never got an answer for as lost, once, when it
/// ends (either protocol): their answers can no longer arrive, and sending them again could
/// count them twice.
pub(crate) async fn lose_in_flight(ctx: &mut SessionCtx<'_>, shares: Vec<Share>, end: &SessionEnd) {
    if shares.is_empty() {
        return;
    }
    let reason = match end {
        SessionEnd::Shutdown => "shut down before the pool answered".to_string(),
        end => format!(
            "connection dropped before the pool answered ({})",
            describe_end(end)
        ),
    };
    warn!(url = %ctx.url, "{} share(s) in flight lost: {reason}", shares.len());
    for share in shares {
        ctx.stats.lost += 1;
        let ev = Event::ShareResult {
            share,
            outcome: ShareOutcome::Lost(reason.clone()),
            stats: *ctx.stats,
        };
        // After a shutdown nobody may be reading: never wait for room then.
        let sent = if matches!(end, SessionEnd::Shutdown) {
            ctx.events.try_send(ev).is_ok()
        } else {
            ctx.events.send(ev).await.is_ok()
        };
        if !sent {
            return;
        }
    }
}

/// Reports every share still waiting in `cmds` as lost (used between connections).
pub(crate) async fn drain_lost(
    cmds: &mut mpsc::Receiver<Command>,
    events: &mpsc::Sender<Event>,
    stats: &mut SubmitStats,
    reason: &str,
) -> bool {
    while let Ok(cmd) = cmds.try_recv() {
        match cmd {
            Command::Submit(share) => {
                stats.lost += 1;
                let ev = Event::ShareResult {
                    share,
                    outcome: ShareOutcome::Lost(reason.to_string()),
                    stats: *stats,
                };
                if events.send(ev).await.is_err() {
                    return false;
                }
            }
            Command::SuggestDifficulty(_) => {}
            Command::Shutdown => return false,
        }
    }
    true
}

/// A single connection to one pool (no reconnect; see [`crate::PoolManager`] for that).
pub struct Client {
    cmds: mpsc::Sender<Command>,
    task: JoinHandle<()>,
}

impl Client {
    /// Connects, performs the handshake (configure, subscribe, authorize) and returns the
    /// client plus its event stream (which starts with [`Event::Connected`] and ends with
    /// [`Event::Disconnected`]).
    pub async fn connect(
        pool: PoolConfig,
        opts: ClientOptions,
    ) -> Result<(Client, mpsc::Receiver<Event>), ClientError> {
        let url = PoolUrl::parse(&pool.url)?;
        let (ev_tx, ev_rx) = mpsc::channel(opts.event_buffer.max(1));
        let (cmd_tx, mut cmd_rx) = mpsc::channel(64);
        let (ready_tx, ready_rx) = oneshot::channel();
        let (end_tx, end_rx) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut resume = Resume::default();
            let mut stats = SubmitStats::default();
            let ctx = SessionCtx {
                pool_index: 0,
                pool: &pool,
                url,
                opts: &opts,
                events: &ev_tx,
                cmds: &mut cmd_rx,
                resume: &mut resume,
                stats: &mut stats,
                ready: Some(ready_tx),
            };
            let end = run_any_session(ctx, Box::pin(std::future::pending())).await;
            let reason = describe_end(&end);
            let event = Event::Disconnected {
                pool: 0,
                reason,
                retrying: false,
            };
            let _ = ev_tx.send(event).await;
            drain_lost(&mut cmd_rx, &ev_tx, &mut stats, "connection closed").await;
            let _ = end_tx.send(end);
        });
        match ready_rx.await {
            Ok(()) => Ok((Client { cmds: cmd_tx, task }, ev_rx)),
            Err(_) => Err(match end_rx.await {
                Ok(SessionEnd::Failed(e)) | Ok(SessionEnd::Lost(e)) => e,
                _ => ClientError::Closed,
            }),
        }
    }

    /// Queues a share for submission; its result arrives as [`Event::ShareResult`].
    pub async fn submit(&self, share: Share) -> Result<(), ClientError> {
        self.cmds
            .send(Command::Submit(share))
            .await
            .map_err(|_| ClientError::ShutDown)
    }

    /// Closes the connection.
    pub async fn shutdown(self) {
        let _ = self.cmds.send(Command::Shutdown).await;
        let _ = self.task.await;
    }
}

/// Human-readable reason for a session end.
pub(crate) fn describe_end(end: &SessionEnd) -> String {
    match end {
        SessionEnd::Failed(e) => format!("connect/handshake failed: {e}"),
        SessionEnd::Lost(e) => e.to_string(),
        SessionEnd::Reconnect { url, wait } => {
            format!("reconnect to {url} requested (wait {wait:?})")
        }
        SessionEnd::Stopped(why) => why.clone(),
        SessionEnd::Shutdown => "shut down".to_string(),
    }
}
