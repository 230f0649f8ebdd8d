//! One Stratum V2 connection of the miner: the Noise handshake (the pool's certificate checked
//! against its authority key), `SetupConnection`, one extended channel, and the channel's
//! messages turned into the same [`Event`]s as a Stratum v1 session, so that the miner, its
//! share checks and the [`crate::PoolManager`]'s failover do not know which protocol a pool
//! speaks.
//!
//! An extended job is a v1 job: the coinbase prefix and suffix are `coinb1`/`coinb2`, the
//! channel's extranonce prefix is `extranonce1`, its extranonce size `extranonce2_size`, and a
//! job with `version_rolling_allowed` grants BIP 320's mask.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use binary_sv2::{Str0255, U256};
use common_messages_sv2::{Protocol, SetupConnection};
use mining_sv2::{
    OpenExtendedMiningChannel, OpenStandardMiningChannel, SubmitSharesExtended,
    SubmitSharesStandard,
};
use parsers_sv2::{AnyMessage, CommonMessages, Mining};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::transport::{self, Frame, Limits, Sv2Writer};
use super::{FLAG_REQUIRES_VERSION_ROLLING, PROTOCOL_VERSION, VERSION_ROLLING_MASK};
use crate::client::{
    Command, Event, SessionCtx, SessionEnd, Share, ShareOutcome, StopFuture, MIN_POOL_DIFFICULTY,
};
use crate::error::{codes, ClientError, RejectReason, Sv2Error};
use crate::job::{swap_words, Job};
use crate::messages::Notify;
use crate::text::Escaped;
use crate::url::PoolUrl;
use hashforge_bitcoin::Target;

/// Largest frame payload taken from a pool: a job with a 64 KiB coinbase prefix and suffix
/// and a full merkle path fits.
pub const MAX_POOL_FRAME: usize = 160 * 1024;
/// Future jobs kept waiting for their `SetNewPrevHash`.
const MAX_FUTURE_JOBS: usize = 16;
/// Job ids a session remembers (shares of other jobs are not sent).
const KNOWN_JOBS: usize = 256;
/// Frames read ahead of the session loop.
const READ_AHEAD: usize = 64;
/// The request id of our `OpenExtendedMiningChannel`.
const EXTENDED_REQUEST: u32 = 1;
/// The request id of our `OpenStandardMiningChannel`.
const STANDARD_REQUEST: u32 = 2;

type Step = Result<(), SessionEnd>;

/// A job as the pool sent it, kept until its previous block is known.
struct PoolJob {
    version: u32,
    version_rolling_allowed: bool,
    work: Work,
}

enum Work {
    /// An extended job: the coinbase around the extranonce, and the merkle path.
    Extended {
        merkle_path: Vec<[u8; 32]>,
        prefix: Vec<u8>,
        suffix: Vec<u8>,
    },
    /// A standard (header-only) job: the merkle root.
    Standard { merkle_root: [u8; 32] },
}

struct Session<'a, 'b> {
    ctx: &'b mut SessionCtx<'a>,
    writer: Sv2Writer,
    channel: Option<u32>,
    /// The channel is a standard one (the pool refused an extended channel).
    standard: bool,
    extranonce_prefix: Vec<u8>,
    extranonce_size: usize,
    difficulty: f64,
    /// The previous block and its time, from the last `SetNewPrevHash`.
    prev: Option<([u8; 32], u32, u32)>,
    future: BTreeMap<u32, PoolJob>,
    /// The active job, re-sent with a new difficulty on `SetTarget`.
    current: Option<(u32, PoolJob)>,
    known_jobs: VecDeque<String>,
    next_sequence: u32,
    in_flight: BTreeMap<u32, (Share, Instant)>,
    first_job_sent: bool,
    low_difficulty_warned: bool,
}

fn lost_or_failed(open: bool, e: ClientError) -> SessionEnd {
    if open {
        SessionEnd::Lost(e)
    } else {
        SessionEnd::Failed(e)
    }
}

/// Runs one SV2 connection until it ends; the same contract as the v1 session.
pub(crate) async fn run_session(mut ctx: SessionCtx<'_>, mut stop: StopFuture<'_>) -> SessionEnd {
    let opts = ctx.opts;
    let Some(key) = ctx.url.sv2.flatten().or(opts.sv2_authority_key) else {
        return SessionEnd::Failed(ClientError::BadUrl {
            url: ctx.url.to_string(),
            reason: "no authority public key: give it as stratum2+tcp://HOST:PORT/KEY or --sv2-authority-key".into(),
        });
    };
    let limits = Limits {
        handshake_timeout: opts.handshake_timeout,
        write_timeout: opts.submit_timeout,
        max_payload: MAX_POOL_FRAME,
    };
    let connect = async {
        let addr = ctx.url.addr();
        let tcp = tokio::time::timeout(opts.connect_timeout, TcpStream::connect(&addr))
            .await
            .map_err(|_| ClientError::Connect {
                addr: addr.clone(),
                reason: "timed out".into(),
            })?
            .map_err(|e| ClientError::Connect {
                addr: addr.clone(),
                reason: e.to_string(),
            })?;
        let _ = tcp.set_nodelay(true);
        transport::connect(tcp, key.to_bytes(), limits)
            .await
            .map_err(ClientError::from)
    };
    let (reader, writer) = tokio::select! {
        end = stop.as_mut() => return end,
        r = connect => match r {
            Ok(x) => x,
            Err(e) => return SessionEnd::Failed(e),
        },
    };
    debug!(url = %ctx.url, "sv2 handshake done");
    let mut frames = reader.spawn(READ_AHEAD);
    let mut s = Session {
        ctx: &mut ctx,
        writer,
        channel: None,
        standard: false,
        extranonce_prefix: Vec::new(),
        extranonce_size: 0,
        difficulty: 1.0,
        prev: None,
        future: BTreeMap::new(),
        current: None,
        known_jobs: VecDeque::new(),
        next_sequence: 0,
        in_flight: BTreeMap::new(),
        first_job_sent: false,
        low_difficulty_warned: false,
    };
    if let Err(end) = s.setup().await {
        return end;
    }
    let started = Instant::now();
    let mut last_rx = Instant::now();
    let tick_period = (opts.submit_timeout.min(opts.idle_timeout) / 4)
        .clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut tick = tokio::time::interval(tick_period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let end = loop {
        let open = s.channel.is_some();
        let step = tokio::select! {
            end = stop.as_mut() => break end,
            f = frames.recv() => match f {
                Some(Ok(frame)) => { last_rx = Instant::now(); s.handle(frame).await }
                Some(Err(Sv2Error::Closed)) | None => Err(lost_or_failed(open, ClientError::Closed)),
                Some(Err(e)) => {
                    warn!(url = %s.ctx.url, "bad frame from pool, dropping connection: {e}");
                    Err(lost_or_failed(open, e.into()))
                }
            },
            cmd = s.ctx.cmds.recv(), if open => match cmd {
                Some(Command::Submit(share)) => s.submit(share).await,
                // SV2 has no difficulty suggestion outside the channel's opening.
                Some(Command::SuggestDifficulty(_)) => Ok(()),
                Some(Command::Shutdown) | None => Err(SessionEnd::Shutdown),
            },
            _ = tick.tick() => {
                if last_rx.elapsed() > opts.idle_timeout {
                    warn!(url = %s.ctx.url, "no message from pool for {:?}", opts.idle_timeout);
                    Err(lost_or_failed(open, ClientError::Idle(opts.idle_timeout)))
                } else if !open && started.elapsed() > opts.handshake_timeout {
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

    async fn send(&mut self, m: AnyMessage<'_>) -> Step {
        let open = self.channel.is_some();
        self.writer
            .send(m)
            .await
            .map_err(|e| lost_or_failed(open, e.into()))
    }

    async fn setup(&mut self) -> Step {
        let url = self.ctx.url.clone();
        let host = url.host.clone();
        let vendor = "hashforge".to_string();
        let firmware = env!("CARGO_PKG_VERSION").to_string();
        let empty = String::new();
        let flags = if self.ctx.opts.version_rolling {
            FLAG_REQUIRES_VERSION_ROLLING
        } else {
            0
        };
        let bad = || {
            SessionEnd::Failed(ClientError::BadUrl {
                url: url.to_string(),
                reason: "a name longer than 255 bytes".into(),
            })
        };
        let m = SetupConnection {
            protocol: Protocol::MiningProtocol,
            min_version: PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
            flags,
            endpoint_host: Str0255::try_from(host.as_str()).map_err(|_| bad())?,
            endpoint_port: url.port,
            vendor: Str0255::try_from(vendor.as_str()).map_err(|_| bad())?,
            hardware_version: Str0255::try_from(empty.as_str()).map_err(|_| bad())?,
            firmware: Str0255::try_from(firmware.as_str()).map_err(|_| bad())?,
            device_id: Str0255::try_from(empty.as_str()).map_err(|_| bad())?,
        };
        self.send(AnyMessage::Common(CommonMessages::SetupConnection(m)))
            .await
    }

    /// Asks for a channel for the worker: an extended one, or (`standard`) a header-only one.
    async fn open_channel(&mut self, standard: bool) -> Step {
        let user = self.ctx.pool.user.clone();
        let user = Str0255::try_from(user.as_str()).map_err(|_| {
            SessionEnd::Failed(ClientError::Sv2Refused(
                "the worker name is longer than 255 bytes".into(),
            ))
        })?;
        // The easiest target we take: the suggested difficulty's, or any.
        let max = match self.ctx.opts.suggest_difficulty {
            Some(d) => Target::from_difficulty(d).unwrap_or(Target::MAX),
            None => Target::MAX,
        }
        .to_le_bytes();
        let max_target = U256::from(&max);
        let m = if standard {
            Mining::OpenStandardMiningChannel(OpenStandardMiningChannel {
                request_id: STANDARD_REQUEST,
                user_identity: user,
                nominal_hash_rate: 0.0,
                max_target,
            })
        } else {
            Mining::OpenExtendedMiningChannel(OpenExtendedMiningChannel {
                request_id: EXTENDED_REQUEST,
                user_identity: user,
                nominal_hash_rate: 0.0,
                max_target,
                min_extranonce_size: 4,
            })
        };
        self.send(AnyMessage::Mining(m)).await
    }

    async fn handle(&mut self, mut frame: Frame) -> Step {
        let open = self.channel.is_some();
        if frame.extension_type != 0 {
            debug!(url = %self.ctx.url, "message of extension {:#06x} ignored", frame.extension_type);
            return Ok(());
        }
        let t = frame.msg_type;
        if let Ok(common) = CommonMessages::try_from((t, frame.payload.as_mut_slice())) {
            return match common {
                CommonMessages::SetupConnectionSuccess(_) => self.open_channel(false).await,
                CommonMessages::SetupConnectionError(e) => {
                    Err(SessionEnd::Failed(ClientError::Sv2Refused(format!(
                        "pool refused the connection setup: {}",
                        Escaped(&text(e.error_code.as_bytes()))
                    ))))
                }
                CommonMessages::Reconnect(r) => {
                    let host = text(r.new_host.as_bytes());
                    let host = match host.as_str() {
                        "" => self.ctx.url.host.clone(),
                        h if h != self.ctx.url.host
                            && !self.ctx.opts.allow_reconnect_to_other_host =>
                        {
                            warn!(url = %self.ctx.url, "Reconnect to other host {} refused; keeping the host", Escaped(h));
                            self.ctx.url.host.clone()
                        }
                        h => h.to_string(),
                    };
                    let url = PoolUrl {
                        host,
                        port: if r.new_port == 0 {
                            self.ctx.url.port
                        } else {
                            r.new_port
                        },
                        ..self.ctx.url.clone()
                    };
                    info!(from = %self.ctx.url, to = %url, "pool asked to reconnect");
                    self.emit(Event::Reconnect {
                        host: url.host.clone(),
                        port: url.port,
                        wait: Duration::ZERO,
                    })
                    .await?;
                    Err(SessionEnd::Reconnect {
                        url,
                        wait: Duration::ZERO,
                    })
                }
                _ => {
                    debug!(url = %self.ctx.url, "{} ignored", parsers_sv2::message_type_to_name(t));
                    Ok(())
                }
            };
        }
        let mining = match Mining::try_from((t, frame.payload.as_mut_slice())) {
            Ok(m) => m,
            Err(e) => {
                // An unknown message type is ignored; a known one that does not decode is a
                // broken pool.
                if parsers_sv2::message_type_to_name(t) == "Unknown Message" {
                    debug!(url = %self.ctx.url, "unknown message type {t:#04x} ignored");
                    return Ok(());
                }
                let e = Sv2Error::Frame(format!(
                    "undecodable {}: {e:?}",
                    parsers_sv2::message_type_to_name(t)
                ));
                return Err(lost_or_failed(open, e.into()));
            }
        };
        let ours = |id: u32| self.channel == Some(id);
        match mining {
            Mining::OpenExtendedMiningChannelSuccess(m) if !open => {
                let prefix = m.extranonce_prefix.as_bytes().to_vec();
                let (size, target) = (usize::from(m.extranonce_size), *m.target.as_array());
                self.channel_opened(m.channel_id, prefix, size, &target)
                    .await
            }
            Mining::OpenStandardMiningChannelSuccess(m) if !open => {
                self.standard = true;
                let prefix = m.extranonce_prefix.as_bytes().to_vec();
                let target = *m.target.as_array();
                self.channel_opened(m.channel_id, prefix, 0, &target).await
            }
            Mining::OpenMiningChannelError(e) if !open => {
                let code = text(e.error_code.as_bytes());
                let user_refused = code == mining_sv2::ERROR_CODE_OPEN_MINING_CHANNEL_UNKNOWN_USER
                    || code == mining_sv2::ERROR_CODE_OPEN_MINING_CHANNEL_INVALID_USER_IDENTITY;
                if !user_refused && e.request_id == EXTENDED_REQUEST {
                    // A pool that offers only header-only mining: a standard channel.
                    info!(url = %self.ctx.url, "pool refused an extended channel ({}); asking for a standard channel", Escaped(&code));
                    return self.open_channel(true).await;
                }
                let err = if user_refused {
                    // The manager fails over at once from a pool that refuses the worker.
                    ClientError::Rejected {
                        request: "mining.authorize",
                        reason: RejectReason::new(codes::UNAUTHORIZED, code),
                    }
                } else {
                    ClientError::Sv2Refused(format!("pool refused the channel: {}", Escaped(&code)))
                };
                Err(SessionEnd::Failed(err))
            }
            Mining::NewExtendedMiningJob(j) if ours(j.channel_id) && !self.standard => {
                let job = PoolJob {
                    version: j.version,
                    version_rolling_allowed: j.version_rolling_allowed,
                    work: Work::Extended {
                        merkle_path: j
                            .merkle_path
                            .clone()
                            .into_inner()
                            .iter()
                            .map(|h| *h.as_array())
                            .collect(),
                        prefix: j.coinbase_tx_prefix.as_bytes().to_vec(),
                        suffix: j.coinbase_tx_suffix.as_bytes().to_vec(),
                    },
                };
                self.new_job(j.job_id, j.min_ntime.into_inner(), job).await
            }
            Mining::NewMiningJob(j) if ours(j.channel_id) && self.standard => {
                let job = PoolJob {
                    version: j.version,
                    // Standard jobs roll BIP 320's bits when the setup asked for rolling.
                    version_rolling_allowed: self.ctx.opts.version_rolling,
                    work: Work::Standard {
                        merkle_root: *j.merkle_root.as_array(),
                    },
                };
                self.new_job(j.job_id, j.min_ntime.into_inner(), job).await
            }
            Mining::SetNewPrevHash(p) if ours(p.channel_id) => {
                self.prev = Some((*p.prev_hash.as_array(), p.min_ntime, p.nbits));
                match self.future.remove(&p.job_id) {
                    Some(job) => {
                        self.future.clear();
                        self.activate(p.job_id, job, true).await
                    }
                    None => {
                        warn!(url = %self.ctx.url, job = p.job_id, "SetNewPrevHash for a job never sent");
                        Ok(())
                    }
                }
            }
            Mining::SetTarget(m) if ours(m.channel_id) => {
                self.difficulty = self.difficulty_of(m.maximum_target.as_array());
                self.emit(Event::Difficulty(self.difficulty)).await?;
                // The target holds at once in SV2: the active job again, at the new difficulty.
                if let Some((id, job)) = self.current.take() {
                    self.activate(id, job, false).await?;
                }
                Ok(())
            }
            Mining::SetExtranoncePrefix(m) if ours(m.channel_id) => {
                self.extranonce_prefix = m.extranonce_prefix.as_bytes().to_vec();
                let ev = Event::Extranonce {
                    extranonce1: self.extranonce_prefix.clone(),
                    extranonce2_size: self.extranonce_size,
                };
                self.emit(ev).await
            }
            Mining::SubmitSharesSuccess(m) if ours(m.channel_id) => {
                // Every share up to the sequence number is accepted (a pool may batch).
                let done: Vec<u32> = self
                    .in_flight
                    .range(..=m.last_sequence_number)
                    .map(|(k, _)| *k)
                    .collect();
                for seq in done {
                    if let Some((share, _)) = self.in_flight.remove(&seq) {
                        self.ctx.stats.accepted += 1;
                        self.result(share, ShareOutcome::Accepted).await?;
                    }
                }
                Ok(())
            }
            Mining::SubmitSharesError(m) if ours(m.channel_id) => {
                let code = text(m.error_code.as_bytes());
                if let Some((share, _)) = self.in_flight.remove(&m.sequence_number) {
                    self.ctx.stats.rejected += 1;
                    let reason = RejectReason {
                        code: v1_code(&code),
                        message: code,
                    };
                    debug!(url = %self.ctx.url, job = %Escaped(&share.job_id), "share rejected: {reason}");
                    self.result(share, ShareOutcome::Rejected(reason)).await?;
                }
                Ok(())
            }
            Mining::CloseChannel(m) if ours(m.channel_id) => {
                Err(SessionEnd::Lost(ClientError::Sv2Refused(format!(
                    "pool closed the channel: {}",
                    Escaped(&text(m.reason_code.as_bytes()))
                ))))
            }
            _ => {
                debug!(url = %self.ctx.url, "{} ignored", parsers_sv2::message_type_to_name(t));
                Ok(())
            }
        }
    }

    async fn channel_opened(
        &mut self,
        channel: u32,
        prefix: Vec<u8>,
        extranonce_size: usize,
        target: &[u8; 32],
    ) -> Step {
        self.channel = Some(channel);
        self.extranonce_prefix = prefix;
        self.extranonce_size = extranonce_size;
        self.difficulty = self.difficulty_of(target);
        let kind = if self.standard {
            "standard"
        } else {
            "extended"
        };
        info!(url = %self.ctx.url, channel, extranonce_prefix = %hex::encode(&self.extranonce_prefix), "sv2 {kind} channel open");
        if let Some(tx) = self.ctx.ready.take() {
            let _ = tx.send(());
        }
        let ev = Event::Connected {
            pool: self.ctx.pool_index,
            url: self.ctx.url.to_string(),
            extranonce1: self.extranonce_prefix.clone(),
            extranonce2_size: self.extranonce_size,
            version_mask: Some(VERSION_ROLLING_MASK),
            difficulty: self.difficulty,
        };
        self.emit(ev).await
    }

    /// A job: a future one waits for its `SetNewPrevHash`, another is active at once.
    async fn new_job(&mut self, id: u32, min_ntime: Option<u32>, job: PoolJob) -> Step {
        match min_ntime {
            None => {
                self.future.insert(id, job);
                while self.future.len() > MAX_FUTURE_JOBS {
                    self.future.pop_first();
                }
                Ok(())
            }
            Some(ntime) => {
                let Some((prev, _, nbits)) = self.prev else {
                    debug!(url = %self.ctx.url, "job before any SetNewPrevHash ignored");
                    return Ok(());
                };
                self.prev = Some((prev, ntime, nbits));
                self.activate(id, job, false).await
            }
        }
    }

    /// A pool target as a difficulty, raised to [`MIN_POOL_DIFFICULTY`] with one warning.
    fn difficulty_of(&mut self, target: &[u8; 32]) -> f64 {
        let d = Target::from_le_bytes(target).difficulty();
        if d < MIN_POOL_DIFFICULTY || !d.is_finite() {
            if !self.low_difficulty_warned {
                self.low_difficulty_warned = true;
                warn!(url = %self.ctx.url, "pool target of difficulty {d} raised to {MIN_POOL_DIFFICULTY}");
            }
            return MIN_POOL_DIFFICULTY;
        }
        d
    }

    /// Hands job `id` to the miner; `clean` when the previous block changed.
    async fn activate(&mut self, id: u32, job: PoolJob, clean: bool) -> Step {
        let Some((prev, ntime, nbits)) = self.prev else {
            return Ok(());
        };
        let (merkle_branch, coinb1, coinb2, root) = match &job.work {
            Work::Extended {
                merkle_path,
                prefix,
                suffix,
            } => (merkle_path.clone(), prefix.clone(), suffix.clone(), None),
            Work::Standard { merkle_root } => {
                (Vec::new(), Vec::new(), Vec::new(), Some(*merkle_root))
            }
        };
        let notify = Notify {
            job_id: id.to_string(),
            prevhash: swap_words(&prev),
            coinb1,
            coinb2,
            merkle_branch,
            version: job.version,
            nbits,
            ntime,
            clean_jobs: clean || !self.first_job_sent,
        };
        self.first_job_sent = true;
        let mask = job.version_rolling_allowed.then_some(VERSION_ROLLING_MASK);
        let j = match root {
            None => Job::new(
                notify,
                self.extranonce_prefix.clone(),
                self.extranonce_size,
                self.difficulty,
                mask,
            ),
            Some(root) => Job::header_only(notify, root, self.difficulty, mask),
        };
        self.known_jobs.push_back(id.to_string());
        while self.known_jobs.len() > KNOWN_JOBS {
            self.known_jobs.pop_front();
        }
        self.current = Some((id, job));
        self.emit(Event::Job(j)).await
    }

    async fn result(&mut self, share: Share, outcome: ShareOutcome) -> Step {
        let stats = *self.ctx.stats;
        self.emit(Event::ShareResult {
            share,
            outcome,
            stats,
        })
        .await
    }

    async fn submit(&mut self, share: Share) -> Step {
        let job_id = share.job_id.parse::<u32>().ok();
        let (Some(channel_id), Some(job_id)) = (self.channel, job_id) else {
            return self
                .lose(share, "its job is not one of this connection")
                .await;
        };
        if !self.known_jobs.contains(&share.job_id) {
            return self
                .lose(
                    share,
                    "its job belongs to an earlier connection (SV2 sessions do not resume)",
                )
                .await;
        }
        let seq = self.next_sequence;
        if self.standard {
            let m = SubmitSharesStandard {
                channel_id,
                sequence_number: seq,
                job_id,
                nonce: share.nonce,
                ntime: share.ntime,
                version: share.version,
            };
            self.send(AnyMessage::Mining(Mining::SubmitSharesStandard(m)))
                .await?;
        } else {
            let Ok(extranonce) = binary_sv2::B032::new(&share.extranonce2[..]) else {
                return self.lose(share, "extranonce longer than 32 bytes").await;
            };
            let m = SubmitSharesExtended {
                channel_id,
                sequence_number: seq,
                job_id,
                nonce: share.nonce,
                ntime: share.ntime,
                version: share.version,
                extranonce,
            };
            self.send(AnyMessage::Mining(Mining::SubmitSharesExtended(m)))
                .await?;
        }
        self.next_sequence = self.next_sequence.wrapping_add(1);
        let deadline = Instant::now() + self.ctx.opts.submit_timeout;
        self.in_flight.insert(seq, (share, deadline));
        Ok(())
    }

    async fn lose(&mut self, share: Share, reason: &str) -> Step {
        self.ctx.stats.lost += 1;
        debug!(url = %self.ctx.url, job = %Escaped(&share.job_id), "share lost: {reason}");
        self.result(share, ShareOutcome::Lost(reason.into())).await
    }

    /// Times out submits; a pool that stops answering them is presumed dead.
    async fn expire(&mut self) -> Step {
        let now = Instant::now();
        let expired: Vec<u32> = self
            .in_flight
            .iter()
            .filter(|(_, (_, d))| *d <= now)
            .map(|(k, _)| *k)
            .collect();
        if expired.is_empty() {
            return Ok(());
        }
        for seq in expired {
            if let Some((share, _)) = self.in_flight.remove(&seq) {
                self.ctx.stats.timed_out += 1;
                self.result(share, ShareOutcome::TimedOut).await?;
            }
        }
        let timeout = ClientError::SubmitTimeout(self.ctx.opts.submit_timeout);
        Err(lost_or_failed(self.channel.is_some(), timeout))
    }

    /// Every share sent and not answered is lost when the connection ends.
    async fn lose_in_flight(&mut self, end: &SessionEnd) {
        let shares = std::mem::take(&mut self.in_flight)
            .into_values()
            .map(|(share, _)| share)
            .collect();
        crate::client::lose_in_flight(self.ctx, shares, end).await;
    }
}

/// Text from the pool (shown escaped where it is printed).
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The Stratum v1 code an SV2 share error is counted under.
fn v1_code(code: &str) -> Option<i64> {
    Some(match code {
        "stale-share" | "invalid-job-id" => codes::STALE,
        "duplicate-share" => codes::DUPLICATE,
        "difficulty-too-low" => codes::LOW_DIFFICULTY,
        "invalid-channel-id" => codes::UNAUTHORIZED,
        _ => return None,
    })
}
