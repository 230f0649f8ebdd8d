//! The SV2 transport: the Noise NX handshake on a TCP stream (the pool is the responder and
//! proves itself with a certificate signed by its authority key), then encrypted frames.
//!
//! Split in a reader and a writer, so that a connection's loop can wait on frames and on its
//! other inputs at once: the reader runs in a task of its own and hands whole frames over a
//! channel (reading is not cancel-safe; a channel is).

use std::time::Duration;

use codec_sv2::{Decrypted, Handshake, NoiseDecoder, NoiseEncoder, TransportDecryptState};
use codec_sv2::{TransportEncryptState, ENCRYPTED_SV2_FRAME_HEADER_SIZE};
use framing_sv2::framing::MessageFrame;
use noise_sv2::INITIATOR_EXPECTED_HANDSHAKE_MESSAGE_SIZE as RESPONDER_MESSAGE_SIZE;
use noise_sv2::{Initiator, Responder, ELLSWIFT_ENCODING_SIZE};
use parsers_sv2::AnyMessage;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::AuthorityKeys;
use crate::error::Sv2Error;

/// One decrypted frame: its header's fields and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The message type.
    pub msg_type: u8,
    /// The extension type (0: the base protocol), without the channel bit.
    pub extension_type: u16,
    /// Whether the channel bit was set.
    pub channel_msg: bool,
    /// The message bytes.
    pub payload: Vec<u8>,
}

/// Reads frames of at most `max_payload` bytes.
pub struct Sv2Reader {
    tcp: OwnedReadHalf,
    decoder: NoiseDecoder,
    state: Option<TransportDecryptState>,
    max_payload: usize,
}

/// Writes frames, each within `write_timeout`.
pub struct Sv2Writer {
    tcp: OwnedWriteHalf,
    encoder: NoiseEncoder,
    state: TransportEncryptState,
    write_timeout: Duration,
}

/// The pool's side of the handshake: reads the miner's ephemeral key, answers with ours and a
/// certificate of `validity` signed by `keys`. `now` (Unix seconds) is the certificate's start;
/// `None` is the clock (tests pass a time in the past to make an expired certificate).
pub async fn accept(
    tcp: TcpStream,
    keys: &AuthorityKeys,
    validity: Duration,
    now: Option<u32>,
    limits: Limits,
) -> Result<(Sv2Reader, Sv2Writer), Sv2Error> {
    let (public, secret) = keys.to_bytes();
    let responder = Responder::from_authority_kp(&public, &secret, validity)
        .map_err(|e| Sv2Error::Handshake(format!("authority key: {e:?}")))?;
    let (mut rd, mut wr) = tcp.into_split();
    let steps = async {
        let mut theirs = [0u8; ELLSWIFT_ENCODING_SIZE];
        rd.read_exact(&mut theirs).await?;
        let handshake = Handshake::responder(responder);
        let (message, transport) = match now {
            None => handshake.step_1(theirs),
            Some(t) => handshake.step_1_with_now_rng(theirs, t, &mut rand::thread_rng()),
        }
        .map_err(|e| Sv2Error::Handshake(format!("{e:?}")))?;
        let mut encoder = NoiseEncoder::new();
        let bytes = encoder.encode_handshake(message);
        wr.write_all(bytes.as_ref()).await?;
        Ok::<_, Sv2Error>((encoder, transport))
    };
    let (encoder, transport) = tokio::time::timeout(limits.handshake_timeout, steps)
        .await
        .map_err(|_| Sv2Error::Handshake("timed out".into()))??;
    Ok(halves(rd, wr, encoder, transport, limits))
}

/// The miner's side: sends an ephemeral key, checks the pool's certificate against
/// `authority` (its signature and its validity window, on this machine's clock).
pub async fn connect(
    tcp: TcpStream,
    authority: [u8; 32],
    limits: Limits,
) -> Result<(Sv2Reader, Sv2Writer), Sv2Error> {
    let initiator = Initiator::from_raw_k(authority)
        .map_err(|e| Sv2Error::BadKey(format!("authority key: {e:?}")))?;
    let (mut rd, mut wr) = tcp.into_split();
    let steps = async {
        let (message, sent) = Handshake::initiator(initiator)
            .step_0()
            .map_err(|e| Sv2Error::Handshake(format!("{e:?}")))?;
        let mut encoder = NoiseEncoder::new();
        wr.write_all(encoder.encode_handshake(message).as_ref())
            .await?;
        let mut answer = [0u8; RESPONDER_MESSAGE_SIZE];
        rd.read_exact(&mut answer).await?;
        let transport = sent.step_2(answer).map_err(|e| match e {
            codec_sv2::Error::NoiseSv2Error(noise_sv2::Error::InvalidCertificate(cert)) => {
                Sv2Error::Certificate(describe_certificate(cert.valid_from, cert.not_valid_after))
            }
            e => Sv2Error::Handshake(format!("{e:?}")),
        })?;
        Ok::<_, Sv2Error>((encoder, transport))
    };
    let (encoder, transport) = tokio::time::timeout(limits.handshake_timeout, steps)
        .await
        .map_err(|_| Sv2Error::Handshake("timed out".into()))??;
    Ok(halves(rd, wr, encoder, transport, limits))
}

/// Why a certificate failed: outside its window (with the window) or not signed by the key.
fn describe_certificate(valid_from: u32, not_valid_after: u32) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (from, until) = (u64::from(valid_from), u64::from(not_valid_after));
    if now > until + 10 {
        format!("the pool's certificate expired {} s ago", now - until)
    } else if now + 10 < from {
        format!("the pool's certificate is valid only in {} s", from - now)
    } else {
        "the pool's certificate is not signed by the authority key given (wrong key?)".into()
    }
}

/// Bounds of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The whole handshake.
    pub handshake_timeout: Duration,
    /// One frame's write.
    pub write_timeout: Duration,
    /// The largest payload taken from the peer.
    pub max_payload: usize,
}

fn halves(
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    encoder: NoiseEncoder,
    transport: codec_sv2::Transport,
    limits: Limits,
) -> (Sv2Reader, Sv2Writer) {
    let (enc, dec) = transport.split();
    (
        Sv2Reader {
            tcp: rd,
            decoder: NoiseDecoder::new(),
            state: Some(dec),
            max_payload: limits.max_payload,
        },
        Sv2Writer {
            tcp: wr,
            encoder,
            state: enc,
            write_timeout: limits.write_timeout,
        },
    )
}

impl Sv2Reader {
    /// The next frame. An error leaves the stream unusable (the cipher's nonces are lost).
    pub async fn next(&mut self) -> Result<Frame, Sv2Error> {
        // Encrypted bytes of the current frame past its header: the payload and its MACs.
        let mut payload_bytes = 0usize;
        let max_encrypted = self.max_payload
            + self
                .max_payload
                .div_ceil(codec_sv2::SV2_FRAME_PLAINTEXT_CHUNK_SIZE)
                .max(1)
                * noise_sv2::AEAD_MAC_LEN;
        loop {
            let want = self.decoder.writable_len();
            let header = payload_bytes == 0 && want == ENCRYPTED_SV2_FRAME_HEADER_SIZE;
            if !header {
                payload_bytes += want;
                if payload_bytes > max_encrypted {
                    return Err(Sv2Error::TooLarge {
                        max: self.max_payload,
                    });
                }
            }
            let buf = self.decoder.writable();
            match self.tcp.read_exact(buf).await {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Err(Sv2Error::Closed)
                }
                Err(e) => return Err(e.into()),
            }
            let state = self.state.take().ok_or(Sv2Error::Closed)?;
            match self.decoder.next_transport_frame(state) {
                Ok(Decrypted::Frame(mut frame, state)) => {
                    self.state = Some(state);
                    let h = frame.header();
                    return Ok(Frame {
                        msg_type: h.msg_type(),
                        extension_type: h.ext_type_without_channel_msg(),
                        channel_msg: h.channel_msg(),
                        payload: frame.payload().to_vec(),
                    });
                }
                Ok(Decrypted::Incomplete(_, state)) => self.state = Some(state),
                Err(e) => return Err(Sv2Error::Frame(format!("{e:?}"))),
            }
        }
    }

    /// Runs the reader in a task: frames (or the error that ended it, last) on a channel of
    /// `capacity`. The task ends with the connection or when the receiver is dropped.
    pub fn spawn(mut self, capacity: usize) -> mpsc::Receiver<Result<Frame, Sv2Error>> {
        let (tx, rx) = mpsc::channel(capacity);
        tokio::spawn(async move {
            loop {
                let frame = self.next().await;
                let end = frame.is_err();
                if tx.send(frame).await.is_err() || end {
                    return;
                }
            }
        });
        rx
    }
}

impl Sv2Writer {
    /// Encrypts and sends one message.
    pub async fn send(&mut self, message: AnyMessage<'_>) -> Result<(), Sv2Error> {
        let frame = MessageFrame::<AnyMessage>::try_from(message)
            .map_err(|e| Sv2Error::Frame(format!("cannot frame a message: {e:?}")))?;
        let bytes = self
            .encoder
            .encode_transport(frame, &mut self.state)
            .map_err(|e| Sv2Error::Frame(format!("{e:?}")))?;
        match tokio::time::timeout(self.write_timeout, self.tcp.write_all(bytes.as_ref())).await {
            Ok(r) => r.map_err(Sv2Error::from),
            Err(_) => Err(Sv2Error::WriteTimeout),
        }
    }

    /// Sends raw bytes as they are (tests of hostile input only write through this).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), Sv2Error> {
        self.tcp.write_all(bytes).await.map_err(Sv2Error::from)
    }

    /// Encrypts a frame whose header is given as it is, whatever the payload: a declared length
    /// that lies, or an unknown message type (tests of hostile input).
    pub async fn send_frame_as_is(
        &mut self,
        header: [u8; 6],
        payload: &[u8],
    ) -> Result<(), Sv2Error> {
        let mut bytes = header.to_vec();
        bytes.extend_from_slice(payload);
        let frame = RawFrame(bytes);
        let out = self
            .encoder
            .encode_transport(frame, &mut self.state)
            .map_err(|e| Sv2Error::Frame(format!("{e:?}")))?;
        self.tcp
            .write_all(out.as_ref())
            .await
            .map_err(Sv2Error::from)
    }
}

/// Bytes encoded as they are: header and payload.
struct RawFrame(Vec<u8>);

impl framing_sv2::framing::EncodableFrame for RawFrame {
    fn encoded_length(&self) -> usize {
        self.0.len()
    }
    fn encode_into(self, dst: &mut [u8]) -> Result<(), framing_sv2::Error> {
        dst.copy_from_slice(&self.0);
        Ok(())
    }
}
