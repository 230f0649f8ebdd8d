//! Typed errors for the Stratum crate.

use std::fmt;

use crate::text::Escaped;

use thiserror::Error;

/// Errors from the newline-delimited JSON line codec.
#[derive(Debug, Error)]
pub enum CodecError {
    /// A line exceeded the configured maximum length (bytes, without the newline).
    #[error("line longer than {max} bytes")]
    LineTooLong {
        /// The configured maximum.
        max: usize,
    },
    /// A line was not valid UTF-8.
    #[error("line is not valid UTF-8")]
    BadUtf8,
    /// A line was not valid JSON or had an unexpected shape.
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// The peer closed the stream in the middle of a line.
    #[error("stream ended in the middle of a line ({0} bytes unterminated)")]
    Truncated(usize),
    /// An I/O error on the underlying stream.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// A message that is valid JSON but does not match the Stratum shape expected for it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("malformed {what}: {}", crate::text::Escaped(.reason))]
pub struct MessageError {
    /// What was being parsed (a method name or "response").
    pub what: String,
    /// Why it was rejected.
    pub reason: String,
}

impl MessageError {
    /// Builds a new message error.
    pub fn new(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

/// Errors computing work from a job.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum JobError {
    /// The extranonce2 given does not have the size the pool asked for.
    #[error("extranonce2 is {got} bytes, pool expects {expected}")]
    Extranonce2Size {
        /// Expected size in bytes.
        expected: usize,
        /// Size given.
        got: usize,
    },
    /// A hex field could not be decoded.
    #[error("bad hex in {0}")]
    BadHex(&'static str),
}

/// Error codes used by Stratum v1 pools (the de-facto set from cgminer/ckpool/slush).
pub mod codes {
    /// Other / unknown error.
    pub const OTHER: i64 = 20;
    /// Job not found (stale share).
    pub const STALE: i64 = 21;
    /// Duplicate share.
    pub const DUPLICATE: i64 = 22;
    /// Share above target (low difficulty).
    pub const LOW_DIFFICULTY: i64 = 23;
    /// Worker not authorized.
    pub const UNAUTHORIZED: i64 = 24;
    /// Connection not subscribed.
    pub const NOT_SUBSCRIBED: i64 = 25;
}

/// A rejection or error returned by a pool, normalised from every wire shape seen in the wild:
/// `[21,"Job not found",null]`, `{"code":21,"message":"…"}`, `"plain string"`, and ckpool's
/// `{"reject-reason":"Above target","result":false,"error":null}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectReason {
    /// Numeric code when the pool gave one (`None` for string-only errors).
    pub code: Option<i64>,
    /// Human readable message.
    pub message: String,
}

impl RejectReason {
    /// Builds a reason with a code.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code: Some(code),
            message: message.into(),
        }
    }

    /// Best-effort classification into a [`RejectKind`].
    pub fn kind(&self) -> RejectKind {
        match self.code {
            Some(codes::STALE) => return RejectKind::Stale,
            Some(codes::DUPLICATE) => return RejectKind::Duplicate,
            Some(codes::LOW_DIFFICULTY) => return RejectKind::LowDifficulty,
            Some(codes::UNAUTHORIZED) => return RejectKind::Unauthorized,
            Some(codes::NOT_SUBSCRIBED) => return RejectKind::NotSubscribed,
            _ => {}
        }
        let m = self.message.to_ascii_lowercase();
        if m.contains("stale") || m.contains("job not found") || m.contains("invalid jobid") {
            RejectKind::Stale
        } else if m.contains("duplicate") {
            RejectKind::Duplicate
        } else if m.contains("above target") || m.contains("low difficulty") {
            RejectKind::LowDifficulty
        } else if m.contains("unauthorized") {
            RejectKind::Unauthorized
        } else if m.contains("not subscribed") {
            RejectKind::NotSubscribed
        } else {
            RejectKind::Other
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(c) => write!(f, "{} (code {})", Escaped(&self.message), c),
            None => write!(f, "{}", Escaped(&self.message)),
        }
    }
}

/// Coarse classification of a rejection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectKind {
    /// Code 21 / "job not found" / "stale".
    Stale,
    /// Code 22 / "duplicate".
    Duplicate,
    /// Code 23 / "low difficulty" / ckpool's "Above target".
    LowDifficulty,
    /// Code 24.
    Unauthorized,
    /// Code 25.
    NotSubscribed,
    /// Anything else.
    Other,
}

/// Errors from the client side (connecting, handshaking, talking to a pool).
#[derive(Debug, Error)]
pub enum ClientError {
    /// The pool URL could not be parsed.
    #[error("bad pool url {url:?}: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
    /// TCP connect failed or timed out.
    #[error("connect to {addr} failed: {reason}")]
    Connect {
        /// host:port.
        addr: String,
        /// Why.
        reason: String,
    },
    /// TLS setup or handshake failed.
    #[error("tls: {0}")]
    Tls(String),
    /// The line codec failed.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// A message from the pool had an unexpected shape.
    #[error(transparent)]
    Message(#[from] MessageError),
    /// The pool rejected a handshake request (subscribe/authorize).
    #[error("pool rejected {request}: {reason}")]
    Rejected {
        /// The request (e.g. `mining.authorize`).
        request: &'static str,
        /// The pool's reason.
        reason: RejectReason,
    },
    /// The pool closed the connection.
    #[error("connection closed by pool")]
    Closed,
    /// Nothing was heard from the pool for too long.
    #[error("no message from pool for {0:?}")]
    Idle(std::time::Duration),
    /// The handshake did not finish in time.
    #[error("handshake timed out")]
    HandshakeTimeout,
    /// A submitted share got no answer in time: the connection is presumed dead.
    #[error("no answer to a submit for {0:?}")]
    SubmitTimeout(std::time::Duration),
    /// Stratum V2: the handshake or the transport failed.
    #[error(transparent)]
    Sv2(#[from] Sv2Error),
    /// Stratum V2: the pool refused the connection setup or closed the channel.
    #[error("{0}")]
    Sv2Refused(String),
    /// Too many shares are waiting for a connection to the pool.
    #[error("too many shares waiting for the pool (no connection for a while)")]
    QueueFull,
    /// The client task is gone (shut down).
    #[error("client is shut down")]
    ShutDown,
    /// I/O error.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Errors from the pool server.
#[derive(Debug, Error)]
pub enum ServerError {
    /// Bad configuration.
    #[error("bad server config: {0}")]
    Config(String),
    /// I/O error (bind, accept).
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Errors of the Stratum V2 transport and keys.
#[derive(Debug, Error)]
pub enum Sv2Error {
    /// An authority key or key file that cannot be used.
    #[error("{0}")]
    BadKey(String),
    /// The Noise handshake failed (not a certificate problem).
    #[error("Noise handshake failed: {0}")]
    Handshake(String),
    /// The pool's certificate did not check out against the authority key.
    #[error("{0}")]
    Certificate(String),
    /// A frame that could not be decrypted or decoded (the connection is unusable after it).
    #[error("bad frame: {0}")]
    Frame(String),
    /// A frame longer than this side takes.
    #[error("frame larger than {max} bytes")]
    TooLarge {
        /// The bound.
        max: usize,
    },
    /// The peer does not read what is sent.
    #[error("write timed out")]
    WriteTimeout,
    /// The peer closed the connection.
    #[error("connection closed")]
    Closed,
    /// An I/O error.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}
