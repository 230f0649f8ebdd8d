//! A scripted Stratum V2 miner for tests of the server: the real Noise handshake and codecs
//! (through `hashforge_stratum::v2::transport`), then messages sent one by one, raw frames
//! (lying lengths, unknown types, garbage) where a test needs them, and the server's answers
//! read back as plain values.

use std::net::SocketAddr;
use std::time::Duration;

use binary_sv2::{Str0255, B032, U256};
use common_messages_sv2::{Protocol, SetupConnection};
use hashforge_stratum::v2::transport::{self, Frame, Limits, Sv2Writer};
use hashforge_stratum::v2::AuthorityPublicKey;
use hashforge_stratum::{job::swap_words, Job, Notify, Share, Sv2Error};
use mining_sv2::{OpenExtendedMiningChannel, OpenStandardMiningChannel, SubmitSharesExtended};
use parsers_sv2::{AnyMessage, CommonMessages, Mining};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// How long a test waits for one message.
pub const SV2_WAIT: Duration = Duration::from_secs(5);

/// What the server said, as plain values.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    SetupSuccess,
    SetupError(String),
    ChannelOpened {
        channel: u32,
        extranonce_prefix: Vec<u8>,
        extranonce_size: u16,
        target: [u8; 32],
    },
    ChannelError(String),
    ExtendedJob {
        channel: u32,
        job: u32,
        future: bool,
        version: u32,
        version_rolling_allowed: bool,
        merkle_path: Vec<[u8; 32]>,
        prefix: Vec<u8>,
        suffix: Vec<u8>,
    },
    StandardJob {
        channel: u32,
        job: u32,
        future: bool,
        version: u32,
        merkle_root: [u8; 32],
    },
    PrevHash {
        channel: u32,
        job: u32,
        prev_hash: [u8; 32],
        min_ntime: u32,
        nbits: u32,
    },
    Target(u32, [u8; 32]),
    Accepted {
        channel: u32,
        last_sequence: u32,
    },
    Rejected {
        channel: u32,
        sequence: u32,
        code: String,
    },
    Other(u8),
}

/// A connected SV2 test miner.
pub struct Sv2Peer {
    frames: mpsc::Receiver<Result<Frame, Sv2Error>>,
    /// The writing half, for raw frames.
    pub writer: Sv2Writer,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Sv2Peer {
    /// Connects and completes the handshake, checking the server's certificate against `key`.
    pub async fn connect(addr: SocketAddr, key: AuthorityPublicKey) -> Result<Sv2Peer, Sv2Error> {
        let tcp = TcpStream::connect(addr).await?;
        let limits = Limits {
            handshake_timeout: SV2_WAIT,
            write_timeout: SV2_WAIT,
            max_payload: 1 << 20,
        };
        let (reader, writer) = transport::connect(tcp, key.to_bytes(), limits).await?;
        Ok(Sv2Peer {
            frames: reader.spawn(64),
            writer,
        })
    }

    /// Sends one message.
    pub async fn send(&mut self, m: AnyMessage<'_>) {
        self.writer.send(m).await.expect("send to the server");
    }

    /// The next frame within [`SV2_WAIT`]: `None` when the server closed the connection.
    pub async fn frame(&mut self) -> Option<Frame> {
        match tokio::time::timeout(SV2_WAIT, self.frames.recv()).await {
            Ok(Some(Ok(f))) => Some(f),
            Ok(Some(Err(_))) | Ok(None) => None,
            Err(_) => panic!("no message from the server within {SV2_WAIT:?}"),
        }
    }

    /// Whether the server closes the connection within [`SV2_WAIT`] (frames before are skipped).
    pub async fn closed(&mut self) -> bool {
        loop {
            match tokio::time::timeout(SV2_WAIT, self.frames.recv()).await {
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(_))) | Ok(None) => return true,
                Err(_) => return false,
            }
        }
    }

    /// The next message, parsed.
    pub async fn reply(&mut self) -> Reply {
        let mut f = self
            .frame()
            .await
            .expect("the server closed the connection");
        let t = f.msg_type;
        if let Ok(c) = CommonMessages::try_from((t, f.payload.as_mut_slice())) {
            return match c {
                CommonMessages::SetupConnectionSuccess(_) => Reply::SetupSuccess,
                CommonMessages::SetupConnectionError(e) => {
                    Reply::SetupError(text(e.error_code.as_bytes()))
                }
                _ => Reply::Other(t),
            };
        }
        match Mining::try_from((t, f.payload.as_mut_slice())) {
            Ok(Mining::OpenExtendedMiningChannelSuccess(m)) => Reply::ChannelOpened {
                channel: m.channel_id,
                extranonce_prefix: m.extranonce_prefix.as_bytes().to_vec(),
                extranonce_size: m.extranonce_size,
                target: *m.target.as_array(),
            },
            Ok(Mining::OpenStandardMiningChannelSuccess(m)) => Reply::ChannelOpened {
                channel: m.channel_id,
                extranonce_prefix: m.extranonce_prefix.as_bytes().to_vec(),
                extranonce_size: 0,
                target: *m.target.as_array(),
            },
            Ok(Mining::OpenMiningChannelError(e)) => {
                Reply::ChannelError(text(e.error_code.as_bytes()))
            }
            Ok(Mining::NewExtendedMiningJob(j)) => Reply::ExtendedJob {
                channel: j.channel_id,
                job: j.job_id,
                future: j.min_ntime.clone().into_inner().is_none(),
                version: j.version,
                version_rolling_allowed: j.version_rolling_allowed,
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
            Ok(Mining::NewMiningJob(j)) => Reply::StandardJob {
                channel: j.channel_id,
                job: j.job_id,
                future: j.min_ntime.clone().into_inner().is_none(),
                version: j.version,
                merkle_root: *j.merkle_root.as_array(),
            },
            Ok(Mining::SetNewPrevHash(p)) => Reply::PrevHash {
                channel: p.channel_id,
                job: p.job_id,
                prev_hash: *p.prev_hash.as_array(),
                min_ntime: p.min_ntime,
                nbits: p.nbits,
            },
            Ok(Mining::SetTarget(m)) => Reply::Target(m.channel_id, *m.maximum_target.as_array()),
            Ok(Mining::SubmitSharesSuccess(m)) => Reply::Accepted {
                channel: m.channel_id,
                last_sequence: m.last_sequence_number,
            },
            Ok(Mining::SubmitSharesError(m)) => Reply::Rejected {
                channel: m.channel_id,
                sequence: m.sequence_number,
                code: text(m.error_code.as_bytes()),
            },
            _ => Reply::Other(t),
        }
    }

    /// `SetupConnection` for the mining protocol with `flags`; the answer.
    pub async fn setup_with(&mut self, protocol: Protocol, flags: u32) -> Reply {
        let m = SetupConnection {
            protocol,
            min_version: 2,
            max_version: 2,
            flags,
            endpoint_host: Str0255::try_from("127.0.0.1").unwrap(),
            endpoint_port: 0,
            vendor: Str0255::try_from("test").unwrap(),
            hardware_version: Str0255::try_from("").unwrap(),
            firmware: Str0255::try_from("").unwrap(),
            device_id: Str0255::try_from("").unwrap(),
        };
        self.send(AnyMessage::Common(CommonMessages::SetupConnection(m)))
            .await;
        self.reply().await
    }

    /// A successful setup (version rolling on).
    pub async fn setup(&mut self) {
        assert_eq!(
            self.setup_with(Protocol::MiningProtocol, 0b100).await,
            Reply::SetupSuccess
        );
    }

    /// Opens an extended channel for `user`; the server's answer.
    pub async fn open_extended(&mut self, user: &str, min_extranonce_size: u16) -> Reply {
        let max = [0xffu8; 32];
        let m = OpenExtendedMiningChannel {
            request_id: 7,
            user_identity: Str0255::try_from(user).unwrap(),
            nominal_hash_rate: 1e6,
            max_target: U256::from(&max),
            min_extranonce_size,
        };
        self.send(AnyMessage::Mining(Mining::OpenExtendedMiningChannel(m)))
            .await;
        self.reply().await
    }

    /// Opens a standard channel for `user`; the server's answer.
    pub async fn open_standard(&mut self, user: &str) -> Reply {
        let max = [0xffu8; 32];
        let m = OpenStandardMiningChannel {
            request_id: 8,
            user_identity: Str0255::try_from(user).unwrap(),
            nominal_hash_rate: 1e6,
            max_target: U256::from(&max),
        };
        self.send(AnyMessage::Mining(Mining::OpenStandardMiningChannel(m)))
            .await;
        self.reply().await
    }

    /// Submits an extended share.
    pub async fn submit_extended(&mut self, channel: u32, sequence: u32, job: u32, share: &Share) {
        let m = SubmitSharesExtended {
            channel_id: channel,
            sequence_number: sequence,
            job_id: job,
            nonce: share.nonce,
            ntime: share.ntime,
            version: share.version,
            extranonce: B032::new(&share.extranonce2[..]).unwrap(),
        };
        self.send(AnyMessage::Mining(Mining::SubmitSharesExtended(m)))
            .await;
    }
}

/// An extended channel's job, once its previous block is known, as the miner's [`Job`] (the
/// mapping hashforge's client makes): its id is the SV2 job id.
pub fn extended_job(
    job: &Reply,
    prev: &Reply,
    extranonce_prefix: &[u8],
    extranonce_size: usize,
    difficulty: f64,
) -> Job {
    let Reply::ExtendedJob {
        job,
        version,
        version_rolling_allowed,
        merkle_path,
        prefix,
        suffix,
        ..
    } = job
    else {
        panic!("not an extended job: {job:?}");
    };
    let Reply::PrevHash {
        prev_hash,
        min_ntime,
        nbits,
        ..
    } = prev
    else {
        panic!("not a SetNewPrevHash: {prev:?}");
    };
    let notify = Notify {
        job_id: job.to_string(),
        prevhash: swap_words(prev_hash),
        coinb1: prefix.clone(),
        coinb2: suffix.clone(),
        merkle_branch: merkle_path.clone(),
        version: *version,
        nbits: *nbits,
        ntime: *min_ntime,
        clean_jobs: true,
    };
    Job::new(
        notify,
        extranonce_prefix.to_vec(),
        extranonce_size,
        difficulty,
        version_rolling_allowed.then_some(0x1fff_e000),
    )
}

/// What the miner said, as plain values.
#[derive(Debug, Clone, PartialEq)]
pub enum MinerMsg {
    Setup {
        flags: u32,
    },
    OpenExtended {
        request: u32,
        user: String,
        min_extranonce_size: u16,
    },
    OpenStandard {
        request: u32,
        user: String,
    },
    Submit {
        channel: u32,
        sequence: u32,
        job: u32,
        nonce: u32,
        ntime: u32,
        version: u32,
        /// `None` for a standard share.
        extranonce: Option<Vec<u8>>,
    },
    Other(u8),
}

/// A scripted Stratum V2 pool for tests of the client: it accepts one miner (the real Noise
/// handshake, with `keys`) and sends what the test says.
pub struct Sv2Pool {
    frames: mpsc::Receiver<Result<Frame, Sv2Error>>,
    /// The writing half.
    pub writer: Sv2Writer,
}

impl Sv2Pool {
    /// Accepts the next miner on `listener`.
    pub async fn accept(
        listener: &tokio::net::TcpListener,
        keys: &hashforge_stratum::v2::AuthorityKeys,
    ) -> Sv2Pool {
        let (tcp, _) = tokio::time::timeout(SV2_WAIT, listener.accept())
            .await
            .expect("a miner within the wait")
            .unwrap();
        let limits = Limits {
            handshake_timeout: SV2_WAIT,
            write_timeout: SV2_WAIT,
            max_payload: 1 << 20,
        };
        let (reader, writer) =
            transport::accept(tcp, keys, Duration::from_secs(3600), None, limits)
                .await
                .expect("handshake");
        Sv2Pool {
            frames: reader.spawn(64),
            writer,
        }
    }

    /// Sends one message.
    pub async fn send(&mut self, m: AnyMessage<'_>) {
        self.writer.send(m).await.expect("send to the miner");
    }

    /// The miner's next message; `None` when it closed the connection.
    pub async fn next(&mut self) -> Option<MinerMsg> {
        let mut f = match tokio::time::timeout(SV2_WAIT, self.frames.recv()).await {
            Ok(Some(Ok(f))) => f,
            Ok(Some(Err(_))) | Ok(None) => return None,
            Err(_) => panic!("no message from the miner within {SV2_WAIT:?}"),
        };
        let t = f.msg_type;
        if let Ok(CommonMessages::SetupConnection(m)) =
            CommonMessages::try_from((t, f.payload.as_mut_slice()))
        {
            return Some(MinerMsg::Setup { flags: m.flags });
        }
        Some(match Mining::try_from((t, f.payload.as_mut_slice())) {
            Ok(Mining::OpenExtendedMiningChannel(m)) => MinerMsg::OpenExtended {
                request: m.request_id,
                user: text(m.user_identity.as_bytes()),
                min_extranonce_size: m.min_extranonce_size,
            },
            Ok(Mining::OpenStandardMiningChannel(m)) => MinerMsg::OpenStandard {
                request: m.request_id,
                user: text(m.user_identity.as_bytes()),
            },
            Ok(Mining::SubmitSharesExtended(m)) => MinerMsg::Submit {
                channel: m.channel_id,
                sequence: m.sequence_number,
                job: m.job_id,
                nonce: m.nonce,
                ntime: m.ntime,
                version: m.version,
                extranonce: Some(m.extranonce.as_bytes().to_vec()),
            },
            Ok(Mining::SubmitSharesStandard(m)) => MinerMsg::Submit {
                channel: m.channel_id,
                sequence: m.sequence_number,
                job: m.job_id,
                nonce: m.nonce,
                ntime: m.ntime,
                version: m.version,
                extranonce: None,
            },
            _ => MinerMsg::Other(t),
        })
    }

    /// Answers the setup, and an extended channel request with `channel`, `prefix` (extranonce
    /// size 8) and a target of `difficulty`.
    pub async fn open(&mut self, channel: u32, prefix: &[u8], difficulty: f64) {
        assert!(matches!(self.next().await, Some(MinerMsg::Setup { .. })));
        self.send(AnyMessage::Common(CommonMessages::SetupConnectionSuccess(
            common_messages_sv2::SetupConnectionSuccess {
                used_version: 2,
                flags: 0,
            },
        )))
        .await;
        let Some(MinerMsg::OpenExtended { request, .. }) = self.next().await else {
            panic!("no OpenExtendedMiningChannel");
        };
        let target = target_bytes(difficulty);
        let m = mining_sv2::OpenExtendedMiningChannelSuccess {
            request_id: request,
            channel_id: channel,
            target: U256::from(&target),
            extranonce_size: 8,
            extranonce_prefix: B032::new(prefix).unwrap(),
            group_channel_id: 0,
        };
        self.send(AnyMessage::Mining(
            Mining::OpenExtendedMiningChannelSuccess(m),
        ))
        .await;
    }

    /// A job on `channel`: future (`min_ntime` None) or active from `min_ntime`; the synthetic
    /// template's coinbase (a valid one for an extranonce of 12 bytes).
    pub async fn job(&mut self, channel: u32, job: u32, min_ntime: Option<u32>, version: u32) {
        let t = hashforge_stratum::Template::synthetic(12);
        let m = mining_sv2::NewExtendedMiningJob {
            channel_id: channel,
            job_id: job,
            min_ntime: binary_sv2::Sv2Option::new(min_ntime),
            version,
            version_rolling_allowed: true,
            merkle_path: binary_sv2::Seq0255::new(Vec::new()).unwrap(),
            coinbase_tx_prefix: binary_sv2::B064K::new(&t.coinb1).unwrap(),
            coinbase_tx_suffix: binary_sv2::B064K::new(&t.coinb2).unwrap(),
        };
        self.send(AnyMessage::Mining(Mining::NewExtendedMiningJob(m)))
            .await;
    }

    /// `SetNewPrevHash` activating `job` (regtest bits, a fixed previous block).
    pub async fn prev_hash(&mut self, channel: u32, job: u32, prev: [u8; 32], ntime: u32) {
        let m = mining_sv2::SetNewPrevHash {
            channel_id: channel,
            job_id: job,
            prev_hash: U256::from(&prev),
            min_ntime: ntime,
            nbits: 0x207f_ffff,
        };
        self.send(AnyMessage::Mining(Mining::SetNewPrevHash(m)))
            .await;
    }

    /// `SetTarget` to `difficulty`.
    pub async fn set_target(&mut self, channel: u32, difficulty: f64) {
        let target = target_bytes(difficulty);
        let m = mining_sv2::SetTarget {
            channel_id: channel,
            maximum_target: U256::from(&target),
        };
        self.send(AnyMessage::Mining(Mining::SetTarget(m))).await;
    }

    /// `SetExtranoncePrefix`.
    pub async fn set_extranonce_prefix(&mut self, channel: u32, prefix: &[u8]) {
        let m = mining_sv2::SetExtranoncePrefix {
            channel_id: channel,
            extranonce_prefix: B032::new(prefix).unwrap(),
        };
        self.send(AnyMessage::Mining(Mining::SetExtranoncePrefix(m)))
            .await;
    }

    /// `SubmitShares.Success` for everything up to `sequence`.
    pub async fn accept_up_to(&mut self, channel: u32, sequence: u32, count: u32) {
        let m = mining_sv2::SubmitSharesSuccess {
            channel_id: channel,
            last_sequence_number: sequence,
            new_submits_accepted_count: count,
            new_shares_sum: u64::from(count),
        };
        self.send(AnyMessage::Mining(Mining::SubmitSharesSuccess(m)))
            .await;
    }

    /// `SubmitShares.Error` with `code`.
    pub async fn reject(&mut self, channel: u32, sequence: u32, code: &str) {
        let m = mining_sv2::SubmitSharesError {
            channel_id: channel,
            sequence_number: sequence,
            error_code: Str0255::try_from(code).unwrap(),
        };
        self.send(AnyMessage::Mining(Mining::SubmitSharesError(m)))
            .await;
    }

    /// `CloseChannel` with `reason`.
    pub async fn close_channel(&mut self, channel: u32, reason: &str) {
        let m = mining_sv2::CloseChannel {
            channel_id: channel,
            reason_code: Str0255::try_from(reason).unwrap(),
        };
        self.send(AnyMessage::Mining(Mining::CloseChannel(m))).await;
    }

    /// `Reconnect` to `host:port` (empty and 0: the same).
    pub async fn reconnect(&mut self, host: &str, port: u16) {
        let m = common_messages_sv2::Reconnect {
            new_host: Str0255::try_from(host).unwrap(),
            new_port: port,
        };
        self.send(AnyMessage::Common(CommonMessages::Reconnect(m)))
            .await;
    }
}

/// A difficulty's target, little-endian as SV2 carries it.
pub fn target_bytes(difficulty: f64) -> [u8; 32] {
    hashforge_stratum::Target::from_difficulty(difficulty)
        .unwrap()
        .to_le_bytes()
}
