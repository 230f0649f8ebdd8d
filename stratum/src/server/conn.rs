//! One miner connection on the pool server.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::WriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, oneshot, watch};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::share::{self, Origin, ShareKey, Submission};
use super::vardiff::Vardiff;
use super::{lock, Broadcast, Shared, TemplateEntry};
use crate::codec::{self, LineReader};
use crate::error::codes;
use crate::job;
use crate::messages::{
    method, notification, response_err, response_ok, ClientRequest, RawMessage, Submit,
    SubscribeResult,
};
use crate::transport::BoxStream;
use hashforge_bitcoin::Target;

/// Worker names one connection may authorize.
pub const MAX_WORKERS_PER_CONNECTION: usize = 16;
/// Longest worker name accepted, in bytes.
pub const MAX_WORKER_NAME_LEN: usize = 128;
/// Closed sessions whose jobs are kept at most (the oldest make way).
const MAX_PARKED: usize = 4096;
/// Malformed requests (and refused authorizations) a connection may send; one more and it is
/// disconnected.
pub const MAX_MALFORMED_REQUESTS: u32 = 100;
/// Random bytes in a session id (after the 4 of the extranonce1 it started with).
const SESSION_TOKEN_BYTES: usize = 8;

struct ConnJob {
    id: String,
    entry: Arc<TemplateEntry>,
    difficulty: f64,
    /// The share target of `difficulty`, computed once.
    target: Target,
    extranonce1: [u8; 4],
}

/// An open session, registered under its session id: the way for a connection that resumes
/// the session to take it over (`kick`: the old connection parks its jobs, answers, and closes).
pub(crate) struct Live {
    conn: u64,
    kick: oneshot::Sender<oneshot::Sender<()>>,
}

/// A closed session's jobs, kept for [`ServerConfig::resume_window`] so that a miner which
/// reconnects and resumes the session can still submit what it found meanwhile.
///
/// [`ServerConfig::resume_window`]: super::ServerConfig::resume_window
pub(crate) struct Parked {
    /// The session's extranonce1, kept taken while parked.
    pub(super) extranonce1: [u8; 4],
    jobs: VecDeque<ConnJob>,
    seen: HashSet<ShareKey>,
    difficulty: f64,
    pub(super) since: Instant,
}

struct Conn {
    shared: Arc<Shared>,
    peer: SocketAddr,
    writer: WriteHalf<BoxStream>,
    extranonce1: Option<[u8; 4]>,
    /// The session id handed out at subscribe: the extranonce1 it started with (a hint for
    /// a restarted server) and 8 random bytes, in hex. Only its holder can resume the session.
    session_id: Option<String>,
    users: HashSet<String>,
    version_mask: Option<u32>,
    difficulty: f64,
    /// The difficulty settings when the connection was made.
    tuning: super::Tuning,
    jobs: VecDeque<ConnJob>,
    /// Shares accepted on the jobs in `jobs` (the duplicate check), at most
    /// `max_shares_per_connection` (plus blocks).
    seen: HashSet<ShareKey>,
    /// This connection's number (its [`Live`] entry).
    number: u64,
    /// Set when the session is registered as live: taken by `run`, which listens on it.
    new_kick: Option<oneshot::Receiver<oneshot::Sender<()>>>,
    extranonce_subscribed: bool,
    vardiff: Vardiff,
    /// Subscribed and authorized: no longer counted as pending.
    established: bool,
    /// Malformed requests and refused authorizations so far.
    malformed: u32,
}

/// Why a connection ends.
type Close = String;

pub(super) async fn run(
    shared: Arc<Shared>,
    tcp: TcpStream,
    peer: SocketAddr,
    mut bcast: broadcast::Receiver<Broadcast>,
    mut sd: watch::Receiver<bool>,
) -> bool {
    let cfg = &shared.config;
    let stream: BoxStream = match &cfg.tls {
        None => Box::new(tcp),
        Some(tls) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(tls.clone());
            match tokio::time::timeout(cfg.write_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => Box::new(s),
                Ok(Err(e)) => {
                    warn!(%peer, "tls handshake failed: {e}");
                    return false;
                }
                Err(_) => {
                    warn!(%peer, "tls handshake timed out");
                    return false;
                }
            }
        }
    };
    let (rd, wr) = tokio::io::split(stream);
    let mut reader = LineReader::new(rd, cfg.max_line_len);
    let tuning = lock(&shared.tuning).clone();
    let mut c = Conn {
        shared: shared.clone(),
        peer,
        writer: wr,
        extranonce1: None,
        session_id: None,
        users: HashSet::new(),
        version_mask: None,
        difficulty: tuning.start_difficulty,
        tuning,
        jobs: VecDeque::new(),
        seen: HashSet::new(),
        number: shared.next_conn.fetch_add(1, Ordering::Relaxed),
        new_kick: None,
        extranonce_subscribed: false,
        vardiff: Vardiff::new(Instant::now()),
        established: false,
        malformed: 0,
    };
    let handshake_deadline = Instant::now() + cfg.handshake_timeout;
    let mut last_rx = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Another connection resuming this session asks here; answered once the jobs are parked.
    let mut kick: Option<oneshot::Receiver<oneshot::Sender<()>>> = None;
    let mut taken_over: Option<oneshot::Sender<()>> = None;
    let close: Close = loop {
        if let Some(k) = c.new_kick.take() {
            kick = Some(k);
        }
        let step = tokio::select! {
            _ = sd.changed() => Err("server shutting down".to_string()),
            k = async { kick.as_mut().expect("guarded").await }, if kick.is_some() => match k {
                Ok(ack) => {
                    info!(%peer, "session resumed on another connection: closing this one");
                    taken_over = Some(ack);
                    Err("session resumed on another connection".to_string())
                }
                Err(_) => {
                    kick = None;
                    Ok(())
                }
            },
            line = reader.read_line() => match line {
                Ok(Some(l)) => { last_rx = Instant::now(); c.handle_line(&l).await }
                Ok(None) => Err("closed by miner".to_string()),
                Err(e) => {
                    warn!(%peer, "disconnecting miner: {e}");
                    Err(e.to_string())
                }
            },
            b = bcast.recv() => match b {
                Ok(b) => c.handle_broadcast(b).await,
                Err(broadcast::error::RecvError::Lagged(_)) => c.resend_current(true).await,
                Err(broadcast::error::RecvError::Closed) => Err("server gone".to_string()),
            },
            _ = tick.tick() => {
                if last_rx.elapsed() > cfg.idle_timeout {
                    warn!(%peer, "disconnecting idle miner");
                    Err("idle".to_string())
                } else if !c.established && Instant::now() >= handshake_deadline {
                    debug!(%peer, "disconnecting: no subscribe and authorize within {:?}", cfg.handshake_timeout);
                    Err("handshake timed out".to_string())
                } else {
                    c.vardiff_tick().await
                }
            }
        };
        if let Err(why) = step {
            break why;
        }
    };
    debug!(%peer, "connection closed: {close}");
    if let Some(session) = &c.session_id {
        let mut live = lock(&shared.live);
        if live.get(session).is_some_and(|l| l.conn == c.number) {
            live.remove(session);
        }
    }
    if let Some(en1) = c.extranonce1 {
        if !c.park(en1) {
            shared.free_extranonce1(en1);
        }
    }
    if let Some(ack) = taken_over {
        let _ = ack.send(());
    }
    for user in &c.users {
        shared.worker_left(user);
    }
    c.established
}

impl Conn {
    async fn write(&mut self, v: &Value) -> Result<(), Close> {
        let t = self.shared.config.write_timeout;
        match tokio::time::timeout(t, codec::write_line(&mut self.writer, v)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("write failed: {e}")),
            Err(_) => {
                warn!(peer = %self.peer, "disconnecting miner: not reading (write timed out)");
                Err("write timed out".into())
            }
        }
    }

    async fn handle_line(&mut self, line: &str) -> Result<(), Close> {
        let raw = match RawMessage::parse_line(line) {
            Ok(r) => r,
            Err(e) => {
                warn!(peer = %self.peer, "disconnecting miner: {e}");
                return Err(e.to_string());
            }
        };
        let (id, m, params) = match raw {
            RawMessage::Request { id, method, params } => (id, method, params),
            RawMessage::Response(r) => {
                debug!(peer = %self.peer, "miner answered {}: {:?}", r.id, r.outcome());
                return Ok(());
            }
        };
        let req = match ClientRequest::parse(&m, &params) {
            Ok(r) => r,
            Err(e) => {
                self.misbehaved(&format!("malformed request: {e}"))?;
                return self
                    .write(&response_err(&id, codes::OTHER, &e.to_string()))
                    .await;
            }
        };
        match req {
            ClientRequest::Configure {
                extensions,
                version_mask,
                min_bit_count,
            } => {
                let mut result = serde_json::Map::new();
                if extensions.iter().any(|e| e == "version-rolling") {
                    let granted =
                        version_mask.unwrap_or(u32::MAX) & self.shared.config.version_mask;
                    let ok = granted.count_ones() >= min_bit_count.unwrap_or(0);
                    result.insert("version-rolling".into(), json!(ok));
                    if ok {
                        result.insert(
                            "version-rolling.mask".into(),
                            json!(format!("{granted:08x}")),
                        );
                        self.version_mask = Some(granted);
                    }
                }
                self.write(&response_ok(&id, Value::Object(result))).await
            }
            ClientRequest::Subscribe { session_id, .. } => self.subscribe(&id, session_id).await,
            ClientRequest::Authorize { user, password } => {
                let known = self.users.contains(&user);
                let ok = !user.is_empty()
                    && user.len() <= MAX_WORKER_NAME_LEN
                    && (known || self.users.len() < MAX_WORKERS_PER_CONNECTION)
                    && self
                        .shared
                        .config
                        .password
                        .as_ref()
                        .map(|p| *p == password)
                        .unwrap_or(true);
                if ok {
                    if !known {
                        if !self.shared.worker_joined(&user, self.peer) {
                            debug!(peer = %self.peer, "worker statistics full: {user:?} served but not counted");
                        }
                        self.users.insert(user);
                    }
                    self.establish();
                    self.write(&response_ok(&id, json!(true))).await
                } else {
                    self.misbehaved(&format!(
                        "authorization refused for a worker name of {} bytes",
                        user.len()
                    ))?;
                    let v = json!({"id": id, "result": false, "error": [codes::UNAUTHORIZED, "Unauthorized worker", null]});
                    self.write(&v).await
                }
            }
            ClientRequest::SuggestDifficulty(d) => {
                self.write(&response_ok(&id, json!(true))).await?;
                let d = d.clamp(
                    self.tuning.min_difficulty,
                    self.shared.config.max_difficulty,
                );
                self.change_difficulty(d).await
            }
            ClientRequest::ExtranonceSubscribe => {
                self.extranonce_subscribed = true;
                self.write(&response_ok(&id, json!(true))).await
            }
            ClientRequest::Submit(s) => self.submit(&id, s).await,
            ClientRequest::Unknown(m) => {
                debug!(peer = %self.peer, "unknown method {}", crate::text::Escaped(&m));
                self.write(&response_err(&id, codes::OTHER, "Unknown method"))
                    .await
            }
        }
    }

    /// Counts a malformed request or refused authorization (logged, at most a line a second
    /// for the whole server); past [`MAX_MALFORMED_REQUESTS`] the connection is closed.
    fn misbehaved(&mut self, what: &str) -> Result<(), Close> {
        self.malformed += 1;
        if self.malformed > MAX_MALFORMED_REQUESTS {
            warn!(peer = %self.peer, "disconnecting miner: more than {MAX_MALFORMED_REQUESTS} malformed requests");
            return Err("too many malformed requests".into());
        }
        if let Some(held) = self.shared.malformed_log.allow() {
            warn!(peer = %self.peer, "{what} ({held} similar lines held back)");
        }
        Ok(())
    }

    /// Once subscribed and authorized, the connection no longer counts as pending.
    fn establish(&mut self) {
        if !self.established && self.extranonce1.is_some() && !self.users.is_empty() {
            self.established = true;
            self.shared.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    async fn subscribe(&mut self, id: &Value, session: Option<String>) -> Result<(), Close> {
        let mut resumed = false;
        if self.extranonce1.is_none() {
            if let Some(s) = session.as_deref() {
                self.take_over(s).await;
            }
            match session.as_deref().and_then(|s| self.unpark(s)) {
                Some((en1, with_jobs)) => {
                    self.extranonce1 = Some(en1);
                    self.session_id = session;
                    resumed = with_jobs;
                }
                None => {
                    // An unknown session (e.g. from before a restart) gets its old extranonce1
                    // back if it is free, but nothing else.
                    let wanted = session
                        .as_deref()
                        .and_then(|s| s.get(..8))
                        .and_then(|s| hex::decode(s).ok())
                        .and_then(|v| <[u8; 4]>::try_from(v).ok());
                    let en1 = self.shared.alloc_extranonce1(wanted);
                    self.extranonce1 = Some(en1);
                    let token: [u8; SESSION_TOKEN_BYTES] = rand::random();
                    self.session_id = Some(format!("{}{}", hex::encode(en1), hex::encode(token)));
                }
            }
            if let Some(session) = &self.session_id {
                let (tx, rx) = oneshot::channel();
                let live = Live {
                    conn: self.number,
                    kick: tx,
                };
                lock(&self.shared.live).insert(session.clone(), live);
                self.new_kick = Some(rx);
            }
        }
        self.establish();
        let en1 = self.extranonce1.unwrap_or_default();
        let result = SubscribeResult {
            session_id: self.session_id.clone(),
            extranonce1: en1.to_vec(),
            extranonce2_size: self.shared.config.extranonce2_size,
        };
        self.write(&response_ok(id, result.to_result())).await?;
        let cap = lock(&self.shared.current)
            .as_ref()
            .map_or(f64::INFINITY, |e| self.difficulty_cap(&e.template));
        self.difficulty = self.difficulty.min(cap);
        let d = self.difficulty;
        self.write(&notification(method::SET_DIFFICULTY, json!([d])))
            .await?;
        // A resumed session's jobs stay valid: the new job does not clean them.
        self.resend_current(!resumed).await
    }

    /// When the session `session` is still open on another connection (half-open: the miner
    /// has given up on it, the server has not noticed yet), has that connection park its jobs
    /// and close, waiting at most its write timeout (and a second) for it.
    async fn take_over(&mut self, session: &str) {
        let Some(live) = lock(&self.shared.live).remove(session) else {
            return;
        };
        let (ack, done) = oneshot::channel();
        if live.kick.send(ack).is_err() {
            return;
        }
        let wait = self.shared.config.write_timeout + Duration::from_secs(1);
        match tokio::time::timeout(wait, done).await {
            Ok(_) => debug!(peer = %self.peer, "took over a session from its old connection"),
            Err(_) => {
                warn!(peer = %self.peer, "the old connection of a resumed session did not let go within {wait:?}")
            }
        }
    }

    /// Keeps this closed session's jobs, and its extranonce1 taken, for the miner that
    /// resumes it; whether it did (if not, the caller frees the extranonce1).
    fn park(&mut self, en1: [u8; 4]) -> bool {
        let window = self.shared.config.resume_window;
        let Some(session) = self.session_id.take() else {
            return false;
        };
        if window.is_zero() || self.jobs.is_empty() {
            return false;
        }
        let mut parked = lock(&self.shared.parked);
        self.shared.prune_parked(&mut parked);
        if parked.len() >= MAX_PARKED {
            let oldest = parked
                .iter()
                .min_by_key(|(_, p)| p.since)
                .map(|(k, _)| k.clone());
            if let Some(p) = oldest.and_then(|k| parked.remove(&k)) {
                self.shared.free_extranonce1(p.extranonce1);
            }
        }
        parked.insert(
            session,
            Parked {
                extranonce1: en1,
                jobs: std::mem::take(&mut self.jobs),
                seen: std::mem::take(&mut self.seen),
                difficulty: self.difficulty,
                since: Instant::now(),
            },
        );
        true
    }

    /// Resumes the parked session `session`: its extranonce1 and, if no clean job came
    /// since, its jobs (whether there were any). `None` for an unknown or expired session.
    fn unpark(&mut self, session: &str) -> Option<([u8; 4], bool)> {
        let p = {
            let mut parked = lock(&self.shared.parked);
            self.shared.prune_parked(&mut parked);
            parked.remove(session)?
        };
        let epoch = lock(&self.shared.current).as_ref().map(|e| e.clean_epoch);
        let mut jobs = p.jobs;
        jobs.retain(|j| Some(j.entry.clean_epoch) == epoch);
        debug!(peer = %self.peer, "session resumed with {} jobs", jobs.len());
        let with_jobs = !jobs.is_empty();
        if with_jobs {
            self.jobs = jobs;
            self.seen = p.seen;
            self.forget_dropped_templates();
            self.difficulty = p.difficulty;
        }
        Some((p.extranonce1, with_jobs))
    }

    /// Sends the current template as a new job.
    async fn resend_current(&mut self, clean: bool) -> Result<(), Close> {
        let entry = lock(&self.shared.current).clone();
        match entry {
            Some(e) => self.send_job(e, clean).await,
            None => Ok(()),
        }
    }

    async fn send_job(&mut self, entry: Arc<TemplateEntry>, clean: bool) -> Result<(), Close> {
        let Some(en1) = self.extranonce1 else {
            return Ok(()); // not subscribed yet
        };
        let mut dropped = false;
        if clean {
            dropped = !self.jobs.is_empty();
            self.jobs.clear();
        }
        let cap = self.difficulty_cap(&entry.template);
        if self.difficulty > cap {
            // The network difficulty fell below the share difficulty.
            self.difficulty = cap;
            self.write(&notification(method::SET_DIFFICULTY, json!([cap])))
                .await?;
        }
        let id = format!("{:x}", self.shared.next_job.fetch_add(1, Ordering::Relaxed));
        let notify = entry.template.notify(id.clone(), clean);
        self.jobs.push_back(ConnJob {
            id,
            entry,
            difficulty: self.difficulty,
            target: Target::from_difficulty(self.difficulty).unwrap_or(Target::MAX),
            extranonce1: en1,
        });
        while self.jobs.len() > self.shared.config.max_jobs_per_connection.max(1) {
            self.jobs.pop_front();
            dropped = true;
        }
        if dropped {
            self.forget_dropped_templates();
        }
        self.write(&notification(method::NOTIFY, notify.to_params()))
            .await
    }

    /// Drops the duplicate-set entries of templates no job of this connection has any more
    /// (their shares are stale now), and gives back the memory of a set that shrank.
    fn forget_dropped_templates(&mut self) {
        if self.seen.is_empty() {
            return;
        }
        let live: Vec<u64> = self.jobs.iter().map(|j| j.entry.id).collect();
        self.seen.retain(|k| live.contains(&k.template));
        if self.seen.capacity() > 2 * self.seen.len() + 64 {
            self.seen.shrink_to_fit();
        }
    }

    fn difficulty_cap(&self, template: &super::Template) -> f64 {
        share::difficulty_cap(&self.shared, template, self.tuning.min_difficulty)
    }

    async fn change_difficulty(&mut self, d: f64) -> Result<(), Close> {
        let cap = lock(&self.shared.current)
            .as_ref()
            .map_or(f64::INFINITY, |e| self.difficulty_cap(&e.template));
        let d = d.min(cap);
        if !(d.is_finite() && d > 0.0) || d == self.difficulty {
            return Ok(());
        }
        self.difficulty = d;
        if self.extranonce1.is_none() {
            return Ok(());
        }
        debug!(peer = %self.peer, "difficulty -> {d}");
        self.write(&notification(method::SET_DIFFICULTY, json!([d])))
            .await?;
        self.resend_current(false).await
    }

    async fn vardiff_tick(&mut self) -> Result<(), Close> {
        let Some(vd) = self.tuning.vardiff.as_ref() else {
            return Ok(());
        };
        if self.extranonce1.is_none() {
            return Ok(());
        }
        let (min, max) = (
            self.tuning.min_difficulty,
            self.shared.config.max_difficulty,
        );
        if let Some(d) = self
            .vardiff
            .retarget(vd, Instant::now(), self.difficulty, min, max)
        {
            self.change_difficulty(d).await?;
        }
        Ok(())
    }

    async fn handle_broadcast(&mut self, b: Broadcast) -> Result<(), Close> {
        match b {
            Broadcast::Template { entry, clean } => self.send_job(entry, clean).await,
            Broadcast::SetDifficulty(d) => self.change_difficulty(d).await,
            Broadcast::Reconnect { host, port, wait } => {
                self.write(&notification(method::RECONNECT, json!([host, port, wait])))
                    .await
            }
            Broadcast::ShowMessage(m) => {
                self.write(&notification(method::SHOW_MESSAGE, json!([m])))
                    .await
            }
            Broadcast::RotateExtranonce => {
                let Some(old) = self.extranonce1 else {
                    return Ok(());
                };
                if !self.extranonce_subscribed {
                    return Ok(());
                }
                let new = self.shared.alloc_extranonce1(None);
                self.shared.free_extranonce1(old);
                self.extranonce1 = Some(new);
                let size = self.shared.config.extranonce2_size;
                self.write(&notification(
                    method::SET_EXTRANONCE,
                    json!([hex::encode(new), size]),
                ))
                .await?;
                self.resend_current(true).await
            }
        }
    }

    async fn reject(&mut self, id: &Value, user: &str, code: i64, msg: &str) -> Result<(), Close> {
        self.shared
            .share_rejected(user, self.users.contains(user), code, msg);
        self.write(&response_err(id, code, msg)).await
    }

    async fn submit(&mut self, id: &Value, s: Submit) -> Result<(), Close> {
        if self.extranonce1.is_none() {
            return self
                .reject(id, &s.user, codes::NOT_SUBSCRIBED, "Not subscribed")
                .await;
        }
        if !self.users.contains(&s.user) {
            return self
                .reject(id, &s.user, codes::UNAUTHORIZED, "Unauthorized worker")
                .await;
        }
        let en2_size = self.shared.config.extranonce2_size;
        let mask = self.version_mask;
        let Some(job) = self.jobs.iter().find(|j| j.id == s.job_id) else {
            return self
                .reject(id, &s.user, codes::STALE, "Job not found")
                .await;
        };
        let t = &job.entry.template;
        let check = if s.extranonce2.len() != en2_size {
            Err("Incorrect size of extranonce2")
        } else if !share::ntime_ok(t, s.ntime) {
            Err("ntime out of range")
        } else {
            match (s.version_bits, mask) {
                (None, _) => Ok(t.version),
                (Some(0), None) => Ok(t.version),
                (Some(_), None) => Err("Version rolling not negotiated"),
                (Some(b), Some(m)) if b & !m != 0 => Err("Invalid version bits"),
                (Some(b), Some(m)) => Ok(job::apply_version_bits(t.version, m, b)),
            }
        };
        let version = match check {
            Ok(v) => v,
            Err(msg) => return self.reject(id, &s.user, codes::OTHER, msg).await,
        };
        let submission = Submission {
            extranonce1: &job.extranonce1,
            extranonce2: &s.extranonce2,
            ntime: s.ntime,
            nonce: s.nonce,
            version,
        };
        let key = submission.key(job.entry.id);
        if self.seen.contains(&key) {
            return self
                .reject(id, &s.user, codes::DUPLICATE, "Duplicate share")
                .await;
        }
        let Some(met) = share::check(t, &job.target, &submission) else {
            return self
                .reject(id, &s.user, codes::LOW_DIFFICULTY, "Low difficulty share")
                .await;
        };
        let max = self.shared.config.max_shares_per_connection;
        if self.seen.len() >= max && !met.is_block {
            // The duplicate set is full: cut the connection (a block still counts, above).
            if let Some(held) = self.shared.flood_log.allow() {
                warn!(
                    peer = %self.peer,
                    "disconnecting miner: {max} shares remembered on one connection, the duplicate-check bound ({held} similar lines held back)"
                );
            }
            let msg = format!("Too many shares on this connection ({max}); reconnect");
            self.reject(id, &s.user, codes::OTHER, &msg).await?;
            // Not parked: a new session has a new extranonce1, so no old share can repeat.
            self.jobs.clear();
            self.seen = HashSet::new();
            return Err("share limit of the connection reached".into());
        }
        self.seen.insert(key);
        self.vardiff.record_share();
        let origin = Origin {
            entry: &job.entry,
            job_id: job.id.clone(),
            worker: &s.user,
            extranonce1: &job.extranonce1,
            extranonce2: &s.extranonce2,
        };
        self.shared.share_accepted(origin, job.difficulty, met);
        self.write(&response_ok(id, json!(true))).await
    }
}
