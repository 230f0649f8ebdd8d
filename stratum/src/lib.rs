//! Stratum v1: typed messages, a newline-delimited JSON codec, a client (with a failover
//! [`PoolManager`]) and a pool server that validates shares itself.
//!
//! The miner typically builds a [`ClientOptions`] and a list of [`PoolConfig`]s, starts a
//! [`PoolManager`], reads [`Event`]s (jobs, difficulty, results…) and calls
//! [`PoolManager::submit`] with each [`Share`] it finds.

#![warn(missing_docs)]

pub mod client;
pub mod codec;
pub mod error;
pub mod job;
pub mod manager;
pub mod messages;
pub mod server;
pub mod tls;
pub mod transport;
pub mod url;

pub use client::{Client, ClientOptions, Event, PoolConfig, Share, ShareOutcome};
pub use error::{
    ClientError, CodecError, JobError, MessageError, RejectKind, RejectReason, ServerError,
};
pub use job::{Job, Target};
pub use manager::{FailoverOptions, PoolManager};
pub use messages::{Notify, ServerMessage};
pub use server::{
    FoundBlock, Server, ServerConfig, ServerEvent, ServerHandle, Template, WorkerStats,
};
pub use url::PoolUrl;

/// Re-export of rustls, for building server TLS configs.
pub use tokio_rustls::rustls;

/// This crate's user agent: `hashforge/<version>`.
pub const USER_AGENT: &str = concat!("hashforge/", env!("CARGO_PKG_VERSION"));
