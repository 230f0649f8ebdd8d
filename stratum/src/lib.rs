//! Stratum v1: typed messages, a newline-delimited JSON codec, a client (with a failover
//! [`PoolManager`]) and a pool server that validates shares itself.
//!
//! The miner typically builds a [`ClientOptions`] and a list of [`PoolConfig`]s, starts a
//! [`PoolManager`], reads [`Event`]s (jobs, difficulty, results…) and calls
//! [`PoolManager::submit`] with each [`Share`] it finds.
//!
//! ```no_run
//! use hashforge_stratum::{ClientOptions, Event, FailoverOptions, PoolConfig, PoolManager, Share};
//!
//! # async fn run() -> Result<(), hashforge_stratum::ClientError> {
//! let pools = vec![
//!     PoolConfig::new("stratum+tcp://pool.example:3333", "bc1q…worker", "x"),
//!     PoolConfig::new("stratum+ssl://backup.example:443", "bc1q…worker", "x"),
//! ];
//! let (pool, mut events) =
//!     PoolManager::start(pools, ClientOptions::default(), FailoverOptions::default())?;
//! while let Some(ev) = events.recv().await {
//!     match ev {
//!         Event::Job(job) => {
//!             // Hash headers built with `job.header(&extranonce2, ntime, nonce, version)`
//!             // (version from `job.roll_version(rolled)`); a header is a share when
//!             // `job.check_share(&header).1` holds.
//!             let extranonce2 = vec![0u8; job.extranonce2_size];
//!             let nonce = 0;
//!             let share = Share {
//!                 job_id: job.id().to_string(),
//!                 extranonce2,
//!                 ntime: job.notify.ntime,
//!                 nonce,
//!                 version: job.roll_version(0),
//!             };
//!             pool.submit(share).await?;
//!         }
//!         Event::ShareResult { outcome, stats, .. } => println!("{outcome:?} {stats:?}"),
//!         Event::Disconnected { reason, .. } => println!("lost pool: {reason}"),
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod client;
pub mod codec;
pub mod error;
pub mod job;
pub mod manager;
pub mod messages;
pub mod ser;
pub mod server;
pub mod text;
pub mod tls;
pub mod transport;
pub mod url;
pub mod v2;

pub use client::{Client, ClientOptions, Event, PoolConfig, Share, ShareOutcome, SubmitStats};
pub use error::{
    ClientError, CodecError, JobError, MessageError, RejectKind, RejectReason, ServerError,
    Sv2Error,
};
/// The Bitcoin basics this crate speaks (header, target, hash), from their one home.
pub use hashforge_bitcoin::{hash_difficulty, CompactTarget, Hash256, Header, PowError, Target};
pub use job::Job;
pub use manager::{FailoverOptions, PoolManager};
pub use messages::{Notify, ServerMessage};
pub use server::{
    FoundBlock, Keepalive, Server, ServerConfig, ServerEvent, ServerHandle, Sv2Options, Template,
    Tuning, VardiffConfig, WorkerStats, MAX_SHARES_PER_CONNECTION,
};
pub use url::PoolUrl;

/// Re-export of rustls, for building server TLS configs.
pub use tokio_rustls::rustls;

/// This crate's user agent: `hashforge/<version>`.
pub const USER_AGENT: &str = concat!("hashforge/", env!("CARGO_PKG_VERSION"));
