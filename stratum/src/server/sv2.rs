//! One Stratum V2 miner connection on the pool server: the Noise handshake, `SetupConnection`,
//! standard and extended channels, jobs from the same templates as Stratum v1, and shares
//! judged by `share.rs` like every other share.
//!
//! Mapping onto the server's jobs: an extended channel's extranonce prefix is a 4-byte
//! extranonce1 from the same allocator as v1 connections, and its extranonce size is the
//! server's extranonce2 size; its job is the template's coinbase split around them (v1's
//! `coinb1`/`coinb2`). A standard channel gets a whole extranonce (prefix and a fixed
//! extranonce2) and jobs with the merkle root computed here.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use binary_sv2::{Seq0255, Sv2Option, B032, B064K, U256};
use common_messages_sv2::{
    Protocol, SetupConnection, SetupConnectionError, SetupConnectionSuccess,
};
use mining_sv2::{
    NewExtendedMiningJob, NewMiningJob, OpenExtendedMiningChannel,
    OpenExtendedMiningChannelSuccess, OpenMiningChannelError, OpenStandardMiningChannel,
    OpenStandardMiningChannelSuccess, SetNewPrevHash, SetTarget, SubmitSharesError,
    SubmitSharesSuccess,
};
use parsers_sv2::{AnyMessage, CommonMessages, Mining};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::conn::{MAX_MALFORMED_REQUESTS, MAX_WORKERS_PER_CONNECTION, MAX_WORKER_NAME_LEN};
use super::share::{self, Origin, ShareKey, Submission};
use super::vardiff::Vardiff;
use super::{lock, Broadcast, Shared, TemplateEntry};
use crate::error::codes;
use crate::error::Sv2Error;
use crate::v2::transport::{self, Frame, Limits, Sv2Writer};
use crate::v2::{AuthorityKeys, PROTOCOL_VERSION, VERSION_ROLLING_MASK};
use hashforge_bitcoin::{merkle, sha256d, Target};

/// Largest frame payload taken from a miner: the largest message a miner sends
/// (`SetupConnection`, five strings of up to 255 bytes) fits many times over.
pub const MAX_MINER_FRAME: usize = 8 * 1024;
/// Frames read ahead of the connection's loop.
const READ_AHEAD: usize = 16;

/// How the server speaks Stratum V2 (`ServerHandle::listen_sv2`).
#[derive(Debug, Clone)]
pub struct Sv2Options {
    /// The authority key pair that signs the certificates.
    pub keys: AuthorityKeys,
    /// How long each connection's certificate is valid from the handshake on.
    pub cert_validity: Duration,
    /// Tests only: the certificate's start in Unix seconds, instead of the clock.
    pub cert_start: Option<u32>,
}

impl Sv2Options {
    /// `keys`, certificates valid for an hour.
    pub fn new(keys: AuthorityKeys) -> Sv2Options {
        Sv2Options {
            keys,
            cert_validity: Duration::from_secs(3600),
            cert_start: None,
        }
    }
}

struct ChannelJob {
    id: u32,
    entry: Arc<TemplateEntry>,
    difficulty: f64,
    target: Target,
    /// Sent as a future job and not yet activated by `SetNewPrevHash`.
    future: bool,
}

struct Channel {
    id: u32,
    worker: String,
    /// Extended: 4 bytes, the miner adds `extranonce2_size`. Standard: the whole extranonce.
    extranonce1: [u8; 4],
    /// Standard channels only: the fixed extranonce2.
    standard_extranonce2: Option<Vec<u8>>,
    difficulty: f64,
    jobs: VecDeque<ChannelJob>,
    /// The first job id this channel was given: lower ids are not its.
    first_job: u32,
    seen: HashSet<ShareKey>,
    vardiff: Vardiff,
}

struct Conn {
    shared: Arc<Shared>,
    peer: SocketAddr,
    writer: Sv2Writer,
    tuning: super::Tuning,
    setup: bool,
    channels: Vec<Channel>,
    next_channel: u32,
    next_job: u32,
    established: bool,
    malformed: u32,
}

type Close = String;

/// An SV2 error code, and the Stratum v1 code the server's statistics count it under.
struct Refusal(&'static str, i64);

pub(super) async fn run(
    shared: Arc<Shared>,
    tcp: TcpStream,
    peer: SocketAddr,
    mut bcast: broadcast::Receiver<Broadcast>,
    mut sd: watch::Receiver<bool>,
    options: Arc<Sv2Options>,
) -> bool {
    let cfg = &shared.config;
    let limits = Limits {
        handshake_timeout: cfg.handshake_timeout,
        write_timeout: cfg.write_timeout,
        max_payload: MAX_MINER_FRAME,
    };
    let (reader, writer) = match transport::accept(
        tcp,
        &options.keys,
        options.cert_validity,
        options.cert_start,
        limits,
    )
    .await
    {
        Ok(x) => x,
        Err(e) => {
            if let Some(held) = shared.malformed_log.allow() {
                warn!(%peer, "sv2 handshake refused: {e} ({held} similar lines held back)");
            }
            return false;
        }
    };
    let mut frames = reader.spawn(READ_AHEAD);
    let tuning = lock(&shared.tuning).clone();
    let mut c = Conn {
        shared: shared.clone(),
        peer,
        writer,
        tuning,
        setup: false,
        channels: Vec::new(),
        next_channel: 1,
        next_job: 1,
        established: false,
        malformed: 0,
    };
    let handshake_deadline = Instant::now() + cfg.handshake_timeout;
    let mut last_rx = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let close: Close = loop {
        let step = tokio::select! {
            _ = sd.changed() => Err("server shutting down".to_string()),
            f = frames.recv() => match f {
                Some(Ok(frame)) => { last_rx = Instant::now(); c.handle(frame).await }
                Some(Err(Sv2Error::Closed)) | None => Err("closed by miner".to_string()),
                Some(Err(e)) => {
                    warn!(%peer, "disconnecting sv2 miner: {e}");
                    Err(e.to_string())
                }
            },
            b = bcast.recv() => match b {
                Ok(b) => c.handle_broadcast(b).await,
                Err(broadcast::error::RecvError::Lagged(_)) => c.send_current(true).await,
                Err(broadcast::error::RecvError::Closed) => Err("server gone".to_string()),
            },
            _ = tick.tick() => {
                if last_rx.elapsed() > cfg.idle_timeout {
                    warn!(%peer, "disconnecting idle sv2 miner");
                    Err("idle".to_string())
                } else if !c.established && Instant::now() >= handshake_deadline {
                    debug!(%peer, "disconnecting: no channel opened within {:?}", cfg.handshake_timeout);
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
    debug!(%peer, "sv2 connection closed: {close}");
    for ch in std::mem::take(&mut c.channels) {
        shared.free_extranonce1(ch.extranonce1);
        shared.worker_left(&ch.worker);
    }
    c.established
}

impl Conn {
    async fn send(&mut self, m: AnyMessage<'_>) -> Result<(), Close> {
        self.writer.send(m).await.map_err(|e| {
            warn!(peer = %self.peer, "disconnecting sv2 miner: {e}");
            e.to_string()
        })
    }

    /// Counts a malformed or unknown message (logged at most a line a second for the whole
    /// server); past [`MAX_MALFORMED_REQUESTS`] the connection is closed.
    fn misbehaved(&mut self, what: &str) -> Result<(), Close> {
        self.malformed += 1;
        if self.malformed > MAX_MALFORMED_REQUESTS {
            warn!(peer = %self.peer, "disconnecting sv2 miner: more than {MAX_MALFORMED_REQUESTS} malformed messages");
            return Err("too many malformed messages".into());
        }
        if let Some(held) = self.shared.malformed_log.allow() {
            warn!(peer = %self.peer, "sv2 miner: {what} ({held} similar lines held back)");
        }
        Ok(())
    }

    async fn handle(&mut self, mut frame: Frame) -> Result<(), Close> {
        if frame.extension_type != 0 {
            // Extensions are negotiated; none was, so the spec says to ignore the message.
            return self.misbehaved(&format!(
                "message of extension {:#06x} ignored",
                frame.extension_type
            ));
        }
        let t = frame.msg_type;
        if let Ok(common) = CommonMessages::try_from((t, frame.payload.as_mut_slice())) {
            return match common {
                CommonMessages::SetupConnection(m) => self.setup_connection(m).await,
                _ => self.misbehaved(&format!(
                    "unexpected {}",
                    parsers_sv2::message_type_to_name(t)
                )),
            };
        }
        if !self.setup {
            return Err(format!(
                "{} before SetupConnection",
                parsers_sv2::message_type_to_name(t)
            ));
        }
        let mining = match Mining::try_from((t, frame.payload.as_mut_slice())) {
            Ok(m) => m,
            Err(e) => {
                return self.misbehaved(&format!(
                    "undecodable message of type {t:#04x} ({}): {e:?}",
                    parsers_sv2::message_type_to_name(t)
                ))
            }
        };
        match mining {
            Mining::OpenStandardMiningChannel(m) => self.open_standard(m).await,
            Mining::OpenExtendedMiningChannel(m) => self.open_extended(m).await,
            Mining::SubmitSharesStandard(m) => {
                let s = Submit {
                    channel_id: m.channel_id,
                    sequence_number: m.sequence_number,
                    job_id: m.job_id,
                    nonce: m.nonce,
                    ntime: m.ntime,
                    version: m.version,
                    extranonce: None,
                };
                self.submit(s).await
            }
            Mining::SubmitSharesExtended(m) => {
                let en = m.extranonce.as_bytes().to_vec();
                let s = Submit {
                    channel_id: m.channel_id,
                    sequence_number: m.sequence_number,
                    job_id: m.job_id,
                    nonce: m.nonce,
                    ntime: m.ntime,
                    version: m.version,
                    extranonce: Some(en),
                };
                self.submit(s).await
            }
            Mining::UpdateChannel(m) => {
                let max = Target::from_le_bytes(m.maximum_target.as_array());
                self.update_channel(m.channel_id, max).await
            }
            Mining::CloseChannel(m) => {
                if let Some(i) = self.channels.iter().position(|c| c.id == m.channel_id) {
                    let ch = self.channels.remove(i);
                    self.shared.free_extranonce1(ch.extranonce1);
                    self.shared.worker_left(&ch.worker);
                }
                Ok(())
            }
            _ => {
                let name = parsers_sv2::message_type_to_name(t);
                self.misbehaved(&format!("unexpected {name} from a miner"))
            }
        }
    }

    async fn setup_connection(&mut self, m: SetupConnection<'_>) -> Result<(), Close> {
        let refuse = if self.setup {
            Some("connection-already-set-up")
        } else if m.protocol != Protocol::MiningProtocol {
            Some(common_messages_sv2::ERROR_CODE_SETUP_CONNECTION_UNSUPPORTED_PROTOCOL)
        } else if m.min_version > PROTOCOL_VERSION || m.max_version < PROTOCOL_VERSION {
            Some(common_messages_sv2::ERROR_CODE_SETUP_CONNECTION_PROTOCOL_VERSION_MISMATCH)
        } else if m.flags & crate::v2::FLAG_REQUIRES_WORK_SELECTION != 0 {
            Some(common_messages_sv2::ERROR_CODE_SETUP_CONNECTION_UNSUPPORTED_FEATURE_FLAGS)
        } else {
            None
        };
        if let Some(code) = refuse {
            let err = SetupConnectionError {
                // The flags we do not support: work selection.
                flags: m.flags & crate::v2::FLAG_REQUIRES_WORK_SELECTION,
                error_code: code.try_into().expect("short constant"),
            };
            self.send(AnyMessage::Common(CommonMessages::SetupConnectionError(
                err,
            )))
            .await?;
            return Err(format!("setup refused: {code}"));
        }
        self.setup = true;
        let ok = SetupConnectionSuccess {
            used_version: PROTOCOL_VERSION,
            flags: 0,
        };
        self.send(AnyMessage::Common(CommonMessages::SetupConnectionSuccess(
            ok,
        )))
        .await
    }

    /// Checks a channel request: worker name, channel count, target. `Ok` is the worker name
    /// and the channel's starting difficulty.
    fn admit_channel(
        &mut self,
        user: &[u8],
        max_target: &U256<'_>,
    ) -> Result<(String, f64), &'static str> {
        let worker = std::str::from_utf8(user)
            .ok()
            .filter(|u| !u.is_empty() && u.len() <= MAX_WORKER_NAME_LEN)
            .ok_or(mining_sv2::ERROR_CODE_OPEN_MINING_CHANNEL_INVALID_USER_IDENTITY)?;
        if self.channels.len() >= MAX_WORKERS_PER_CONNECTION {
            return Err(mining_sv2::ERROR_CODE_OPEN_MINING_CHANNEL_CHANNEL_CAPACITY_EXHAUSTED);
        }
        // The channel's target may not be easier than the miner's maximum.
        let max = Target::from_le_bytes(max_target.as_array());
        let floor = if max == Target::from_limbs([0; 4]) {
            return Err(mining_sv2::ERROR_CODE_OPEN_MINING_CHANNEL_MAX_TARGET_OUT_OF_RANGE);
        } else {
            max.difficulty()
        };
        let max_difficulty = self.shared.config.max_difficulty;
        if floor > max_difficulty {
            return Err(mining_sv2::ERROR_CODE_OPEN_MINING_CHANNEL_MAX_TARGET_OUT_OF_RANGE);
        }
        let mut d = self.tuning.start_difficulty.max(floor);
        if let Some(e) = lock(&self.shared.current).as_ref() {
            d = d.min(share::difficulty_cap(
                &self.shared,
                &e.template,
                self.tuning.min_difficulty,
            ));
        }
        Ok((worker.to_string(), d.max(floor)))
    }

    fn add_channel(&mut self, worker: String, difficulty: f64, standard: bool) -> usize {
        if !self.shared.worker_joined(&worker, self.peer) {
            debug!(peer = %self.peer, "worker statistics full: {worker:?} served but not counted");
        }
        if !self.established {
            self.established = true;
            self.shared.pending.fetch_sub(1, Ordering::SeqCst);
        }
        let id = self.next_channel;
        self.next_channel += 1;
        let extranonce1 = self.shared.alloc_extranonce1(None);
        let standard_extranonce2 = standard.then(|| {
            let mut en2 = vec![0u8; self.shared.config.extranonce2_size];
            en2[..4].copy_from_slice(&id.to_be_bytes());
            en2
        });
        self.channels.push(Channel {
            id,
            worker,
            extranonce1,
            standard_extranonce2,
            difficulty,
            jobs: VecDeque::new(),
            first_job: self.next_job,
            seen: HashSet::new(),
            vardiff: Vardiff::new(Instant::now()),
        });
        self.channels.len() - 1
    }

    async fn refuse_channel(&mut self, request_id: u32, code: &'static str) -> Result<(), Close> {
        self.misbehaved(&format!("channel refused: {code}"))?;
        let err = OpenMiningChannelError {
            request_id,
            error_code: code.try_into().expect("short constant"),
        };
        self.send(AnyMessage::Mining(Mining::OpenMiningChannelError(err)))
            .await
    }

    async fn open_extended(&mut self, m: OpenExtendedMiningChannel<'_>) -> Result<(), Close> {
        let size = self.shared.config.extranonce2_size;
        if usize::from(m.min_extranonce_size) > size {
            let code = mining_sv2::ERROR_CODE_OPEN_MINING_CHANNEL_MIN_EXTRANONCE_SIZE_TOO_LARGE;
            return self.refuse_channel(m.request_id, code).await;
        }
        let (worker, difficulty) =
            match self.admit_channel(m.user_identity.as_bytes(), &m.max_target) {
                Ok(x) => x,
                Err(code) => return self.refuse_channel(m.request_id, code).await,
            };
        info!(peer = %self.peer, worker = %crate::text::Escaped(&worker), "sv2 extended channel opened");
        let i = self.add_channel(worker, difficulty, false);
        let (channel_id, prefix) = (self.channels[i].id, self.channels[i].extranonce1);
        let target = target_of(difficulty).to_le_bytes();
        let ok = OpenExtendedMiningChannelSuccess {
            request_id: m.request_id,
            channel_id,
            target: U256::from(&target),
            extranonce_size: size as u16,
            extranonce_prefix: B032::new(&prefix[..]).expect("4 bytes"),
            // No group channel: a group id different from every channel id.
            group_channel_id: 0,
        };
        self.send(AnyMessage::Mining(
            Mining::OpenExtendedMiningChannelSuccess(ok),
        ))
        .await?;
        self.send_current_to(i, true).await
    }

    async fn open_standard(&mut self, m: OpenStandardMiningChannel<'_>) -> Result<(), Close> {
        let (worker, difficulty) =
            match self.admit_channel(m.user_identity.as_bytes(), &m.max_target) {
                Ok(x) => x,
                Err(code) => return self.refuse_channel(m.request_id, code).await,
            };
        info!(peer = %self.peer, worker = %crate::text::Escaped(&worker), "sv2 standard channel opened");
        let i = self.add_channel(worker, difficulty, true);
        let ch = &self.channels[i];
        let channel_id = ch.id;
        let mut extranonce = ch.extranonce1.to_vec();
        extranonce.extend_from_slice(ch.standard_extranonce2.as_deref().unwrap_or_default());
        let target = target_of(difficulty).to_le_bytes();
        let ok = OpenStandardMiningChannelSuccess {
            request_id: m.request_id,
            channel_id,
            target: U256::from(&target),
            extranonce_prefix: B032::new(&extranonce[..]).expect("at most 12 bytes"),
            group_channel_id: 0,
        };
        self.send(AnyMessage::Mining(
            Mining::OpenStandardMiningChannelSuccess(ok),
        ))
        .await?;
        self.send_current_to(i, true).await
    }

    /// The current template as a job to every channel.
    async fn send_current(&mut self, clean: bool) -> Result<(), Close> {
        for i in 0..self.channels.len() {
            self.send_current_to(i, clean).await?;
        }
        Ok(())
    }

    async fn send_current_to(&mut self, i: usize, clean: bool) -> Result<(), Close> {
        let entry = lock(&self.shared.current).clone();
        match entry {
            Some(e) => self.send_job(i, e, clean).await,
            None => Ok(()),
        }
    }

    /// A job of `entry` on channel `i`. Clean (a new previous block, or the channel's first
    /// job): a future job, then `SetNewPrevHash` activating it, and the older jobs dropped.
    /// Otherwise a job valid at once, the older ones kept.
    async fn send_job(
        &mut self,
        i: usize,
        entry: Arc<TemplateEntry>,
        clean: bool,
    ) -> Result<(), Close> {
        let clean = clean || self.channels[i].jobs.is_empty();
        let cap = share::difficulty_cap(&self.shared, &entry.template, self.tuning.min_difficulty);
        if self.channels[i].difficulty > cap {
            // The network difficulty fell below the share difficulty.
            self.set_difficulty(i, cap).await?;
        }
        let id = self.next_job;
        self.next_job = self.next_job.wrapping_add(1);
        let max_jobs = self.shared.config.max_jobs_per_connection.max(1);
        let t = entry.template.clone();
        let ch = &mut self.channels[i];
        if clean {
            ch.jobs.clear();
            ch.seen.clear();
        }
        ch.jobs.push_back(ChannelJob {
            id,
            entry,
            difficulty: ch.difficulty,
            target: target_of(ch.difficulty),
            future: clean,
        });
        while ch.jobs.len() > max_jobs {
            ch.jobs.pop_front();
        }
        let live: Vec<u64> = ch.jobs.iter().map(|j| j.entry.id).collect();
        ch.seen.retain(|k| live.contains(&k.template));
        let (channel_id, min_ntime) = (ch.id, (!clean).then_some(t.ntime));
        let message = match &ch.standard_extranonce2 {
            None => {
                let path: Vec<U256> = t.merkle_branch.iter().map(U256::from).collect();
                AnyMessage::Mining(Mining::NewExtendedMiningJob(NewExtendedMiningJob {
                    channel_id,
                    job_id: id,
                    min_ntime: Sv2Option::new(min_ntime),
                    version: t.version,
                    version_rolling_allowed: true,
                    merkle_path: Seq0255::new(path).map_err(|e| format!("{e:?}"))?,
                    coinbase_tx_prefix: B064K::new(&t.coinb1).map_err(|e| format!("{e:?}"))?,
                    coinbase_tx_suffix: B064K::new(&t.coinb2).map_err(|e| format!("{e:?}"))?,
                }))
            }
            Some(en2) => {
                let coinbase = crate::job::coinbase(&t.coinb1, &ch.extranonce1, en2, &t.coinb2);
                let root = merkle::fold_branch(sha256d(&coinbase), &t.merkle_branch);
                let message = NewMiningJob {
                    channel_id,
                    job_id: id,
                    min_ntime: Sv2Option::new(min_ntime),
                    version: t.version,
                    merkle_root: U256::from(&root),
                };
                // `root` is a local: the message is sent before it goes.
                return self
                    .send_then_prev_hash(
                        AnyMessage::Mining(Mining::NewMiningJob(message)),
                        clean,
                        channel_id,
                        id,
                        &t,
                    )
                    .await;
            }
        };
        self.send_then_prev_hash(message, clean, channel_id, id, &t)
            .await
    }

    async fn send_then_prev_hash(
        &mut self,
        job: AnyMessage<'_>,
        clean: bool,
        channel_id: u32,
        job_id: u32,
        t: &super::Template,
    ) -> Result<(), Close> {
        self.send(job).await?;
        if !clean {
            return Ok(());
        }
        let prev = SetNewPrevHash {
            channel_id,
            job_id,
            prev_hash: U256::from(&t.prev_hash),
            min_ntime: t.ntime,
            nbits: t.nbits,
        };
        self.send(AnyMessage::Mining(Mining::SetNewPrevHash(prev)))
            .await?;
        if let Some(ch) = self.channels.iter_mut().find(|c| c.id == channel_id) {
            if let Some(j) = ch.jobs.iter_mut().find(|j| j.id == job_id) {
                j.future = false;
            }
        }
        Ok(())
    }

    /// A new difficulty on channel `i`: `SetTarget`, for the jobs sent from now on.
    async fn set_difficulty(&mut self, i: usize, d: f64) -> Result<(), Close> {
        let ch = &mut self.channels[i];
        if !(d.is_finite() && d > 0.0) || d == ch.difficulty {
            return Ok(());
        }
        ch.difficulty = d;
        debug!(peer = %self.peer, channel = ch.id, "difficulty -> {d}");
        let target = target_of(d).to_le_bytes();
        let m = SetTarget {
            channel_id: ch.id,
            maximum_target: U256::from(&target),
        };
        self.send(AnyMessage::Mining(Mining::SetTarget(m))).await
    }

    /// A difficulty change: `SetTarget` and a job carrying it (as v1 resends its job).
    async fn change_difficulty(&mut self, i: usize, d: f64) -> Result<(), Close> {
        let cap = lock(&self.shared.current)
            .as_ref()
            .map_or(f64::INFINITY, |e| {
                share::difficulty_cap(&self.shared, &e.template, self.tuning.min_difficulty)
            });
        let before = self.channels[i].difficulty;
        self.set_difficulty(i, d.min(cap)).await?;
        if self.channels[i].difficulty != before {
            self.send_current_to(i, false).await?;
        }
        Ok(())
    }

    async fn update_channel(&mut self, channel_id: u32, max: Target) -> Result<(), Close> {
        let Some(i) = self.channels.iter().position(|c| c.id == channel_id) else {
            return self.misbehaved("UpdateChannel on an unknown channel");
        };
        // Honour a lower maximum target (a higher difficulty) at once; a higher one is vardiff's.
        if max != Target::from_limbs([0; 4]) && max.difficulty() > self.channels[i].difficulty {
            self.change_difficulty(i, max.difficulty()).await?;
        }
        Ok(())
    }

    async fn vardiff_tick(&mut self) -> Result<(), Close> {
        let Some(vd) = self.tuning.vardiff.clone() else {
            return Ok(());
        };
        let (min, max) = (
            self.tuning.min_difficulty,
            self.shared.config.max_difficulty,
        );
        for i in 0..self.channels.len() {
            let ch = &mut self.channels[i];
            if let Some(d) = ch
                .vardiff
                .retarget(&vd, Instant::now(), ch.difficulty, min, max)
            {
                self.change_difficulty(i, d).await?;
            }
        }
        Ok(())
    }

    async fn handle_broadcast(&mut self, b: Broadcast) -> Result<(), Close> {
        match b {
            Broadcast::Template { entry, clean } => {
                for i in 0..self.channels.len() {
                    self.send_job(i, entry.clone(), clean).await?;
                }
                Ok(())
            }
            Broadcast::SetDifficulty(d) => {
                for i in 0..self.channels.len() {
                    self.change_difficulty(i, d).await?;
                }
                Ok(())
            }
            // Stratum v1 notices with no SV2 counterpart that every peer takes (the reference
            // translator does not handle `Reconnect`): not sent.
            Broadcast::Reconnect { .. }
            | Broadcast::ShowMessage(_)
            | Broadcast::RotateExtranonce => Ok(()),
        }
    }

    async fn submit(&mut self, s: Submit) -> Result<(), Close> {
        let verdict = self.judge(&s);
        let (channel_id, seq) = (s.channel_id, s.sequence_number);
        match verdict {
            Ok(difficulty) => {
                let ok = SubmitSharesSuccess {
                    channel_id,
                    last_sequence_number: seq,
                    new_submits_accepted_count: 1,
                    new_shares_sum: difficulty.round().max(1.0) as u64,
                };
                self.send(AnyMessage::Mining(Mining::SubmitSharesSuccess(ok)))
                    .await
            }
            Err(Refusal(code, v1_code)) => {
                let worker = self
                    .channels
                    .iter()
                    .find(|c| c.id == channel_id)
                    .map(|c| c.worker.clone());
                let known = worker.is_some();
                let worker = worker.unwrap_or_default();
                self.shared.share_rejected(&worker, known, v1_code, code);
                let err = SubmitSharesError {
                    channel_id,
                    sequence_number: seq,
                    error_code: code.try_into().expect("short constant"),
                };
                self.send(AnyMessage::Mining(Mining::SubmitSharesError(err)))
                    .await
            }
        }
    }

    /// Judges a share; `Ok` is the difficulty it was accepted at.
    fn judge(&mut self, s: &Submit) -> Result<f64, Refusal> {
        use mining_sv2 as m;
        let size = self.shared.config.extranonce2_size;
        let max_shares = self.shared.config.max_shares_per_connection;
        let ch = self
            .channels
            .iter_mut()
            .find(|c| c.id == s.channel_id)
            .ok_or(Refusal(
                m::ERROR_CODE_SUBMIT_SHARES_INVALID_CHANNEL_ID,
                codes::UNAUTHORIZED,
            ))?;
        let Some(job) = ch.jobs.iter().find(|j| j.id == s.job_id && !j.future) else {
            // An id this channel was given before (and dropped on a new block) is stale.
            let known = s.job_id >= ch.first_job && s.job_id < self.next_job;
            return Err(if known {
                Refusal(m::ERROR_CODE_SUBMIT_SHARES_STALE_SHARE, codes::STALE)
            } else {
                Refusal(m::ERROR_CODE_SUBMIT_SHARES_INVALID_JOB_ID, codes::OTHER)
            });
        };
        let t = &job.entry.template;
        let extranonce2: &[u8] = match (&s.extranonce, &ch.standard_extranonce2) {
            (Some(en), None) if en.len() == size => en,
            (Some(_), _) => {
                return Err(Refusal(
                    m::ERROR_CODE_SUBMIT_SHARES_BAD_EXTRANONCE_SIZE,
                    codes::OTHER,
                ))
            }
            (None, Some(fixed)) => fixed,
            (None, None) => {
                return Err(Refusal(
                    m::ERROR_CODE_SUBMIT_SHARES_BAD_EXTRANONCE_SIZE,
                    codes::OTHER,
                ))
            }
        };
        if (s.version ^ t.version) & !VERSION_ROLLING_MASK != 0 {
            return Err(Refusal(
                m::ERROR_CODE_SUBMIT_SHARES_INVALID_NON_ROLLABLE_VERSION_BIT,
                codes::OTHER,
            ));
        }
        if !share::ntime_ok(t, s.ntime) {
            return Err(Refusal(
                m::ERROR_CODE_SUBMIT_SHARES_INVALID_SHARE,
                codes::OTHER,
            ));
        }
        let submission = Submission {
            extranonce1: &ch.extranonce1,
            extranonce2,
            ntime: s.ntime,
            nonce: s.nonce,
            version: s.version,
        };
        let key = submission.key(job.entry.id);
        if ch.seen.contains(&key) {
            return Err(Refusal(
                m::ERROR_CODE_SUBMIT_SHARES_DUPLICATE_SHARE,
                codes::DUPLICATE,
            ));
        }
        let met = share::check(t, &job.target, &submission).ok_or(Refusal(
            m::ERROR_CODE_SUBMIT_SHARES_DIFFICULTY_TOO_LOW,
            codes::LOW_DIFFICULTY,
        ))?;
        if ch.seen.len() >= max_shares && !met.is_block {
            // The duplicate set is full: the channel's next clean job empties it.
            return Err(Refusal(
                m::ERROR_CODE_SUBMIT_SHARES_INVALID_SHARE,
                codes::OTHER,
            ));
        }
        ch.seen.insert(key);
        ch.vardiff.record_share();
        let difficulty = job.difficulty;
        let origin = Origin {
            entry: &job.entry,
            job_id: job.id.to_string(),
            worker: &ch.worker,
            extranonce1: &ch.extranonce1,
            extranonce2,
        };
        self.shared.share_accepted(origin, difficulty, met);
        Ok(difficulty)
    }
}

/// A share submission of either channel kind.
struct Submit {
    channel_id: u32,
    sequence_number: u32,
    job_id: u32,
    nonce: u32,
    ntime: u32,
    version: u32,
    /// Extended channels: the miner's extranonce.
    extranonce: Option<Vec<u8>>,
}

fn target_of(difficulty: f64) -> Target {
    Target::from_difficulty(difficulty).unwrap_or(Target::MAX)
}
