//! The pool server: hands out jobs from pushed templates, negotiates version rolling, runs
//! vardiff, validates every share and reports found blocks.

mod conn;
mod share;
mod stats;
mod sv2;
mod template;
mod vardiff;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, error, warn};

pub use stats::WorkerStats;
pub use sv2::{Sv2Options, MAX_MINER_FRAME};
pub use template::Template;
pub use vardiff::VardiffConfig;

use crate::error::ServerError;
use crate::rustls;
use hashforge_bitcoin::{Hash256, Header};
use stats::{WorkerEntry, Workers, MAX_WORKERS};

/// Capacity of the event stream [`Server::bind`] returns. Share events that find it full are
/// dropped (counted in the stats all the same); found blocks never are.
pub const EVENT_CAPACITY: usize = 1024;

/// Pool server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Extranonce2 size handed to miners: 4 or 8 (extranonce1 is always 4 bytes).
    pub extranonce2_size: usize,
    /// Version-rolling mask the pool allows (granted: intersection with the miner's request).
    pub version_mask: u32,
    /// Difficulty of a new connection (fractional allowed).
    pub start_difficulty: f64,
    /// Lowest difficulty vardiff (or `mining.suggest_difficulty`) may set.
    pub min_difficulty: f64,
    /// Highest difficulty vardiff may set.
    pub max_difficulty: f64,
    /// Whether the share difficulty is capped at the current work's network difficulty (but
    /// never below `min_difficulty`): a miner sends only shares that meet the share target, so
    /// a share target harder than the network's would keep blocks from the pool. Off by
    /// default, since on a test chain (regtest: network difficulty 4.7·10⁻¹⁰) it would make
    /// every other hash a share; `serve` turns it on.
    pub cap_at_network_difficulty: bool,
    /// Vardiff; `None` keeps the difficulty fixed.
    pub vardiff: Option<VardiffConfig>,
    /// If set, `mining.authorize` requires this password.
    pub password: Option<String>,
    /// Longest accepted line from a miner.
    pub max_line_len: usize,
    /// A miner silent for this long is disconnected.
    pub idle_timeout: Duration,
    /// A connection that has not subscribed and authorized within this time is closed
    /// (default 10 s), so idle sockets cannot hold slots.
    pub handshake_timeout: Duration,
    /// A write that cannot complete within this time disconnects the miner.
    pub write_timeout: Duration,
    /// Maximum simultaneous connections.
    pub max_connections: usize,
    /// Maximum simultaneous connections from one IP address (default 64).
    pub max_connections_per_ip: usize,
    /// Maximum connections that have not yet subscribed and authorized (default 256, a quarter
    /// of `max_connections`); more are refused, so the other slots stay for working miners.
    pub max_pending_connections: usize,
    /// Jobs remembered per connection (older ones are stale).
    pub max_jobs_per_connection: usize,
    /// How long the statistics of a worker with no connection left are kept (default one
    /// hour); then it is forgotten.
    pub worker_stats_retention: Duration,
    /// How long a closed connection's jobs (and its extranonce1) are kept for a miner that
    /// resumes the session (subscribes again with its session id, which is random and known
    /// only to that miner): shares it found while away still count, unless a clean job came
    /// meanwhile. Zero turns resuming off.
    pub resume_window: Duration,
    /// TCP keepalive on every accepted socket (default [`Keepalive::default`]: a peer whose
    /// host vanished is detected within 110 s); `None` leaves the system's setting (off).
    pub tcp_keepalive: Option<Keepalive>,
    /// Shares remembered for the duplicate check per connection, over all its jobs (default
    /// [`MAX_SHARES_PER_CONNECTION`]). A connection that reaches it with a share that is not a
    /// block is told so and disconnected (its session is not kept for resuming: a new session
    /// has a new extranonce1, so nothing it sends can repeat an earlier share).
    pub max_shares_per_connection: usize,
    /// TLS (`stratum+ssl`) when set.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// Default of [`ServerConfig::max_shares_per_connection`]: 16,384 remembered shares, 32 bytes
/// each in the duplicate set (about 1 MB at most per connection with the table's slack). At
/// vardiff's default of a share every 10 s that is 45 hours of shares; a set empties as its
/// jobs are cleaned or replaced.
pub const MAX_SHARES_PER_CONNECTION: usize = 16_384;

/// TCP keepalive settings: after `idle` without traffic the kernel sends a probe every
/// `interval`, and closes the connection after `retries` unanswered ones. A peer whose host
/// went away (power, network) is so detected within [`Keepalive::detection_bound`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Silence before the first probe.
    pub idle: Duration,
    /// Time between probes.
    pub interval: Duration,
    /// Unanswered probes before the connection is dropped.
    pub retries: u32,
}

impl Default for Keepalive {
    /// 60 s idle, then a probe every 10 s, 5 probes: 110 s at most.
    fn default() -> Self {
        Keepalive {
            idle: Duration::from_secs(60),
            interval: Duration::from_secs(10),
            retries: 5,
        }
    }
}

impl Keepalive {
    /// The longest a dead peer goes unnoticed: `idle + interval × retries`.
    pub fn detection_bound(&self) -> Duration {
        self.idle + self.interval * self.retries
    }

    /// Turns keepalive on for `tcp` with these times.
    pub fn apply(&self, tcp: &tokio::net::TcpStream) -> std::io::Result<()> {
        let ka = socket2::TcpKeepalive::new()
            .with_time(self.idle)
            .with_interval(self.interval)
            .with_retries(self.retries);
        socket2::SockRef::from(tcp).set_tcp_keepalive(&ka)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            extranonce2_size: 8,
            version_mask: 0x1fff_e000,
            start_difficulty: 1.0,
            min_difficulty: 0.001,
            max_difficulty: 1e15,
            cap_at_network_difficulty: false,
            vardiff: Some(VardiffConfig::default()),
            password: None,
            max_line_len: 16 * 1024,
            idle_timeout: Duration::from_secs(600),
            handshake_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_connections_per_ip: 64,
            max_pending_connections: 256,
            max_jobs_per_connection: 16,
            worker_stats_retention: Duration::from_secs(3600),
            resume_window: Duration::from_secs(120),
            tcp_keepalive: Some(Keepalive::default()),
            max_shares_per_connection: MAX_SHARES_PER_CONNECTION,
            tls: None,
        }
    }
}

/// A share that met the network target.
#[derive(Debug, Clone)]
pub struct FoundBlock {
    /// Id returned by [`ServerHandle::new_template`].
    pub template_id: u64,
    /// The template the job came from.
    pub template: Arc<Template>,
    /// Per-connection job id.
    pub job_id: String,
    /// Worker name.
    pub worker: String,
    /// The block header.
    pub header: Header,
    /// Its hash.
    pub hash: Hash256,
    /// Extranonce1 of the connection.
    pub extranonce1: Vec<u8>,
    /// Extranonce2 submitted.
    pub extranonce2: Vec<u8>,
    /// The full coinbase transaction (`coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2`).
    pub coinbase: Vec<u8>,
}

impl FoundBlock {
    /// The header and the coinbase in hex: with the template's transactions, what an operator
    /// needs to rebuild and resubmit the block by hand.
    pub fn describe(&self) -> String {
        format!(
            "block {} by {} (template {}, job {}): header {} coinbase {}",
            self.hash,
            self.worker,
            self.template_id,
            self.job_id,
            hex::encode(self.header.to_bytes()),
            hex::encode(&self.coinbase)
        )
    }
}

/// Things the pool operator wants to know.
#[derive(Debug, Clone)]
pub enum ServerEvent {
    /// A block was found.
    BlockFound(FoundBlock),
    /// A share was accepted.
    ShareAccepted {
        /// Worker name.
        worker: String,
        /// Pool difficulty the share was checked against.
        difficulty: f64,
        /// Difficulty of the share's hash.
        hash_difficulty: f64,
    },
    /// A share was rejected.
    ShareRejected {
        /// Worker name (as submitted).
        worker: String,
        /// Stratum error code (20..25).
        code: i64,
        /// Message sent to the miner.
        reason: String,
    },
}

#[derive(Debug)]
pub(crate) struct TemplateEntry {
    pub id: u64,
    pub template: Arc<Template>,
    /// How many clean templates came up to and including this one: jobs of entries with a
    /// lower count were cleaned.
    pub clean_epoch: u64,
}

#[derive(Debug, Clone)]
pub(crate) enum Broadcast {
    Template {
        entry: Arc<TemplateEntry>,
        clean: bool,
    },
    SetDifficulty(f64),
    Reconnect {
        host: Option<String>,
        port: Option<u16>,
        wait: Option<u64>,
    },
    ShowMessage(String),
    RotateExtranonce,
}

/// The difficulty settings of new connections, which a running server can be given anew
/// ([`ServerHandle::retune`]); a connection keeps those it started with.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// [`ServerConfig::start_difficulty`].
    pub start_difficulty: f64,
    /// [`ServerConfig::min_difficulty`].
    pub min_difficulty: f64,
    /// [`ServerConfig::vardiff`].
    pub vardiff: Option<VardiffConfig>,
}

impl Tuning {
    /// The settings of `config`.
    pub fn of(config: &ServerConfig) -> Tuning {
        Tuning {
            start_difficulty: config.start_difficulty,
            min_difficulty: config.min_difficulty,
            vardiff: config.vardiff.clone(),
        }
    }

    /// Positive, finite difficulties, the minimum at most `max_difficulty`, a vardiff interval.
    fn check(&self, max_difficulty: f64) -> Result<(), ServerError> {
        let positive = |x: f64| x.is_finite() && x > 0.0;
        let vardiff_ok = self
            .vardiff
            .as_ref()
            .is_none_or(|v| !v.target_interval.is_zero() && !v.retarget_interval.is_zero());
        if !positive(self.start_difficulty)
            || !positive(self.min_difficulty)
            || self.min_difficulty > max_difficulty
            || !vardiff_ok
        {
            return Err(ServerError::Config("bad difficulty settings".into()));
        }
        Ok(())
    }
}

pub(crate) struct Shared {
    pub config: ServerConfig,
    /// The difficulty settings for new connections (from `config`, then [`ServerHandle::retune`]).
    pub tuning: Mutex<Tuning>,
    pub current: Mutex<Option<Arc<TemplateEntry>>>,
    pub next_template: AtomicU64,
    pub next_job: AtomicU64,
    pub en1_counter: AtomicU32,
    pub en1_in_use: Mutex<HashSet<[u8; 4]>>,
    /// Jobs of closed sessions, by session id, for miners that resume. Their extranonce1s
    /// stay taken until they are resumed or expire.
    pub parked: Mutex<HashMap<String, conn::Parked>>,
    /// Sessions with an open connection, by session id: a miner that resumes one of them (its
    /// old connection is half-open: dead on its side, still open here) takes it over.
    pub live: Mutex<HashMap<String, conn::Live>>,
    /// Numbers the connections (for [`conn::Live`]).
    pub next_conn: AtomicU64,
    pub workers: Mutex<Workers>,
    pub events: mpsc::Sender<ServerEvent>,
    /// Found blocks, on their own path: never behind share events, never dropped.
    pub blocks: mpsc::UnboundedSender<FoundBlock>,
    /// Whether [`ServerHandle::take_blocks`] took the block receiver (else blocks go to the
    /// event stream).
    pub blocks_taken: AtomicBool,
    pub connections: AtomicUsize,
    /// Connections that have not subscribed and authorized yet.
    pub pending: AtomicUsize,
    /// Open connections per address.
    pub per_ip: Mutex<HashMap<IpAddr, usize>>,
    /// Refused connections are logged at most once a second.
    pub refusals: LogLimiter,
    /// Malformed requests (of any connection) are logged at most once a second.
    pub malformed_log: LogLimiter,
    /// Connections cut at [`ServerConfig::max_shares_per_connection`], logged at most once a
    /// second.
    pub flood_log: LogLimiter,
}

/// Lets a repeated log line through at most once per interval, counting the ones held back.
#[derive(Debug)]
pub(crate) struct LogLimiter {
    interval: Duration,
    last: Mutex<Option<std::time::Instant>>,
    held: AtomicU64,
}

impl LogLimiter {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: Mutex::new(None),
            held: AtomicU64::new(0),
        }
    }

    /// `Some(lines held back since the last one)` when this line may be logged.
    pub(crate) fn allow(&self) -> Option<u64> {
        let mut last = lock(&self.last);
        let now = std::time::Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < self.interval) {
            self.held.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(now);
        Some(self.held.swap(0, Ordering::Relaxed))
    }
}

/// Locks a mutex, recovering from poisoning (a panicking holder cannot leave our simple
/// maps in a broken state).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Allocates a unique extranonce1, reusing `wanted` when it is free.
    pub(crate) fn alloc_extranonce1(&self, wanted: Option<[u8; 4]>) -> [u8; 4] {
        let mut used = lock(&self.en1_in_use);
        if let Some(w) = wanted {
            if used.insert(w) {
                return w;
            }
        }
        loop {
            let v = self
                .en1_counter
                .fetch_add(1, Ordering::Relaxed)
                .to_be_bytes();
            if used.insert(v) {
                return v;
            }
        }
    }

    /// Takes a slot for a new connection from `ip`, or says why not: the server is full, too
    /// many connections have not authorized yet, or `ip` has too many.
    fn admit(&self, ip: IpAddr) -> Option<&'static str> {
        let cfg = &self.config;
        if self.connections.load(Ordering::SeqCst) >= cfg.max_connections {
            return Some("too many connections");
        }
        if self.pending.load(Ordering::SeqCst) >= cfg.max_pending_connections {
            return Some("too many connections that have not authorized");
        }
        let mut per_ip = lock(&self.per_ip);
        let n = per_ip.entry(ip).or_insert(0);
        if *n >= cfg.max_connections_per_ip {
            return Some("too many connections from this address");
        }
        *n += 1;
        self.connections.fetch_add(1, Ordering::SeqCst);
        self.pending.fetch_add(1, Ordering::SeqCst);
        None
    }

    /// Gives back the slot of a closed connection (`established`: it had authorized, so it no
    /// longer counted as pending).
    fn release(&self, ip: IpAddr, established: bool) {
        if !established {
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
        let mut per_ip = lock(&self.per_ip);
        if let Some(n) = per_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&ip);
            }
        }
        drop(per_ip);
        self.connections.fetch_sub(1, Ordering::SeqCst);
    }

    pub(crate) fn free_extranonce1(&self, v: [u8; 4]) {
        lock(&self.en1_in_use).remove(&v);
    }

    /// Drops the parked sessions older than the resume window, freeing their extranonce1s.
    pub(crate) fn prune_parked(&self, parked: &mut HashMap<String, conn::Parked>) {
        let window = self.config.resume_window;
        parked.retain(|_, p| {
            let keep = p.since.elapsed() < window;
            if !keep {
                self.free_extranonce1(p.extranonce1);
            }
            keep
        });
    }

    /// Updates the statistics of a worker (known from an authorize), and the server's totals.
    pub(crate) fn with_worker(&self, worker: &str, f: impl Fn(&mut WorkerStats)) {
        let mut w = lock(&self.workers);
        f(&mut w.totals);
        if let Some(e) = w.map.get_mut(worker) {
            f(&mut e.stats);
        }
    }

    /// A connection authorized `worker`: its statistics are kept while it has a connection
    /// (and for [`ServerConfig::worker_stats_retention`] after). False when the server already
    /// keeps [`MAX_WORKERS`] workers.
    pub(crate) fn worker_joined(&self, worker: &str, peer: std::net::SocketAddr) -> bool {
        let mut w = lock(&self.workers);
        w.prune(self.config.worker_stats_retention, false);
        if w.map.len() >= MAX_WORKERS && !w.map.contains_key(worker) {
            return false;
        }
        let e = w
            .map
            .entry(worker.to_string())
            .or_insert_with(|| WorkerEntry::new(worker));
        if e.connections == 0 {
            e.stats.connected_since = Some(std::time::SystemTime::now());
        }
        e.connections += 1;
        e.left = None;
        e.stats.address = Some(peer);
        true
    }

    /// A connection of `worker` closed.
    pub(crate) fn worker_left(&self, worker: &str) {
        let mut w = lock(&self.workers);
        if let Some(e) = w.map.get_mut(worker) {
            e.connections = e.connections.saturating_sub(1);
            if e.connections == 0 {
                e.left = Some(std::time::Instant::now());
            }
        }
    }

    /// Share events are best effort: a full event stream drops them (the counters in
    /// [`ServerHandle::stats`] still count every share).
    pub(crate) fn event(&self, ev: ServerEvent) {
        if let Err(e) = self.events.try_send(ev) {
            debug!("server event dropped: {e}");
        }
    }

    /// Hands a found block on without waiting: to the block receiver when one was taken
    /// ([`ServerHandle::take_blocks`], unbounded: a block needs network-difficulty work, so
    /// they are rare), otherwise to the event stream, waiting in a task of its own while the
    /// stream is full. Lost only if nobody listens any more, and then logged with its header
    /// and coinbase.
    pub(crate) fn block_found(&self, block: FoundBlock) {
        if self.blocks_taken.load(Ordering::SeqCst) {
            if let Err(mpsc::error::SendError(b)) = self.blocks.send(block) {
                error!(
                    "found block NOT submitted (nobody takes blocks): {}",
                    b.describe()
                );
            }
            return;
        }
        match self.events.try_send(ServerEvent::BlockFound(block)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(ev)) => {
                let events = self.events.clone();
                tokio::spawn(async move {
                    if let Err(mpsc::error::SendError(ServerEvent::BlockFound(b))) =
                        events.send(ev).await
                    {
                        error!(
                            "found block NOT submitted (event stream closed): {}",
                            b.describe()
                        );
                    }
                });
            }
            Err(mpsc::error::TrySendError::Closed(ServerEvent::BlockFound(b))) => {
                error!(
                    "found block NOT submitted (event stream closed): {}",
                    b.describe()
                );
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

/// The pool server.
pub struct Server;

impl Server {
    /// Binds `addr` and starts accepting miners. Returns the control handle and the event
    /// stream (found blocks, share results).
    pub async fn bind(
        addr: SocketAddr,
        config: ServerConfig,
    ) -> Result<(ServerHandle, mpsc::Receiver<ServerEvent>), ServerError> {
        if !matches!(config.extranonce2_size, 4 | 8) {
            return Err(ServerError::Config(
                "extranonce2_size must be 4 or 8".into(),
            ));
        }
        let tuning = Tuning::of(&config);
        tuning.check(config.max_difficulty)?;
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let (ev_tx, ev_rx) = mpsc::channel(EVENT_CAPACITY);
        let (blocks_tx, blocks_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            config,
            tuning: Mutex::new(tuning),
            current: Mutex::new(None),
            next_template: AtomicU64::new(1),
            // Random start: job ids from different servers (or restarts) rarely collide.
            next_job: AtomicU64::new(u64::from(rand::random::<u32>())),
            en1_counter: AtomicU32::new(rand::random()),
            en1_in_use: Mutex::new(HashSet::new()),
            parked: Mutex::new(HashMap::new()),
            live: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
            workers: Mutex::new(Workers::default()),
            events: ev_tx,
            blocks: blocks_tx,
            blocks_taken: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
            pending: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
            refusals: LogLimiter::new(Duration::from_secs(1)),
            malformed_log: LogLimiter::new(Duration::from_secs(1)),
            flood_log: LogLimiter::new(Duration::from_secs(1)),
        });
        let (bcast, _) = broadcast::channel(64);
        let (sd_tx, sd_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(
            listener,
            shared.clone(),
            bcast.clone(),
            sd_rx,
            Protocol::V1,
        ));
        Ok((
            ServerHandle {
                shared,
                bcast,
                local_addr,
                shutdown: sd_tx,
                task: Mutex::new(Some(task)),
                blocks: Mutex::new(Some(blocks_rx)),
            },
            ev_rx,
        ))
    }
}

/// The protocol a listener speaks.
#[derive(Clone)]
enum Protocol {
    V1,
    V2(Arc<Sv2Options>),
}

/// Accepts miners on `listener` until shutdown, each admitted within the server's bounds.
async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    bcast: broadcast::Sender<Broadcast>,
    mut sd: watch::Receiver<bool>,
    protocol: Protocol,
) {
    loop {
        let accepted = tokio::select! {
            _ = sd.changed() => return,
            a = listener.accept() => a,
        };
        let (tcp, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if let Some(why) = shared.admit(peer.ip()) {
            if let Some(held) = shared.refusals.allow() {
                warn!(%peer, "refusing a connection: {why} ({held} more refused since the last line)");
            }
            continue;
        }
        let _ = tcp.set_nodelay(true);
        if let Some(keepalive) = &shared.config.tcp_keepalive {
            if let Err(e) = keepalive.apply(&tcp) {
                debug!(%peer, "cannot set TCP keepalive: {e}");
            }
        }
        let (shared, rx, sd) = (shared.clone(), bcast.subscribe(), sd.clone());
        let protocol = protocol.clone();
        tokio::spawn(async move {
            let established = match protocol {
                Protocol::V1 => conn::run(shared.clone(), tcp, peer, rx, sd).await,
                Protocol::V2(o) => sv2::run(shared.clone(), tcp, peer, rx, sd, o).await,
            };
            shared.release(peer.ip(), established);
        });
    }
}

/// Controls a running pool server.
pub struct ServerHandle {
    shared: Arc<Shared>,
    bcast: broadcast::Sender<Broadcast>,
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
    blocks: Mutex<Option<mpsc::UnboundedReceiver<FoundBlock>>>,
}

impl ServerHandle {
    /// Takes the found-block stream (once; `None` after): from then on found blocks arrive
    /// here, in order and never dropped, and no longer as [`ServerEvent::BlockFound`] on the
    /// event stream, where share events could delay them. A block submitter (the node feed)
    /// takes it.
    pub fn take_blocks(&self) -> Option<mpsc::UnboundedReceiver<FoundBlock>> {
        let rx = lock(&self.blocks).take();
        if rx.is_some() {
            self.shared.blocks_taken.store(true, Ordering::SeqCst);
        }
        rx
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Also serves Stratum V2 miners on `addr` (standard and extended channels, the same
    /// templates, share checks, statistics and blocks); returns the bound address. Stops with
    /// the server.
    pub async fn listen_sv2(
        &self,
        addr: SocketAddr,
        options: Sv2Options,
    ) -> Result<SocketAddr, ServerError> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        tokio::spawn(accept_loop(
            listener,
            self.shared.clone(),
            self.bcast.clone(),
            self.shutdown.subscribe(),
            Protocol::V2(Arc::new(options)),
        ));
        Ok(local)
    }

    /// Total extranonce area size the templates' coinbase must leave (4 + extranonce2 size).
    pub fn extranonce_size(&self) -> usize {
        4 + self.shared.config.extranonce2_size
    }

    /// Publishes a new template to every miner; returns its id (reported in [`FoundBlock`]).
    pub fn new_template(&self, template: Template, clean_jobs: bool) -> u64 {
        let id = self.shared.next_template.fetch_add(1, Ordering::Relaxed);
        let mut current = lock(&self.shared.current);
        let epoch = current.as_ref().map_or(0, |e| e.clean_epoch) + u64::from(clean_jobs);
        let entry = Arc::new(TemplateEntry {
            id,
            template: Arc::new(template),
            clean_epoch: epoch,
        });
        *current = Some(entry.clone());
        drop(current);
        let _ = self.bcast.send(Broadcast::Template {
            entry,
            clean: clean_jobs,
        });
        id
    }

    /// New difficulty settings for the connections made from now on (those open keep theirs).
    pub fn retune(&self, tuning: Tuning) -> Result<(), ServerError> {
        tuning.check(self.shared.config.max_difficulty)?;
        *lock(&self.shared.tuning) = tuning;
        Ok(())
    }

    /// The difficulty settings new connections get.
    pub fn tuning(&self) -> Tuning {
        lock(&self.shared.tuning).clone()
    }

    /// Forces a difficulty on every connection (vardiff continues from it).
    pub fn set_difficulty(&self, difficulty: f64) {
        let _ = self.bcast.send(Broadcast::SetDifficulty(difficulty));
    }

    /// Sends `client.reconnect` to every miner.
    pub fn reconnect_all(&self, host: Option<String>, port: Option<u16>, wait: Option<u64>) {
        let _ = self.bcast.send(Broadcast::Reconnect { host, port, wait });
    }

    /// Sends `client.show_message` to every miner.
    pub fn show_message(&self, message: impl Into<String>) {
        let _ = self.bcast.send(Broadcast::ShowMessage(message.into()));
    }

    /// Gives every miner that sent `mining.extranonce.subscribe` a new extranonce1
    /// (`mining.set_extranonce`) followed by a clean job.
    pub fn rotate_extranonce(&self) {
        let _ = self.bcast.send(Broadcast::RotateExtranonce);
    }

    /// Per-worker statistics.
    pub fn stats(&self) -> Vec<WorkerStats> {
        let mut w = lock(&self.shared.workers);
        w.prune(self.shared.config.worker_stats_retention, true);
        let mut v: Vec<_> = w.map.values().map(|e| e.snapshot()).collect();
        drop(w);
        v.sort_by(|a, b| a.worker.cmp(&b.worker));
        v
    }

    /// Every worker's shares since the server started, summed (pruned workers included):
    /// accepted, rejected, stale, accepted difficulty, blocks, the best share and the time of
    /// the last one. The name is empty and the rate 0.
    pub fn totals(&self) -> WorkerStats {
        lock(&self.shared.workers).totals.clone()
    }

    /// Number of open connections.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Stops accepting and closes every connection.
    pub async fn shutdown(&self) {
        let _ = self.shutdown.send(true);
        let task = lock(&self.task).take();
        if let Some(t) = task {
            let _ = t.await;
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
