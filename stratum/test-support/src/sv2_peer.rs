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
