//! Pool mining: jobs from a Stratum pool become work units for every backend; found nonces are
//! re-checked on the CPU and submitted as shares.
//!
//! - [`source`]: job → work units (extranonce2, version rolling)
//! - [`engine`]: the backends running on one scheduler
//! - [`shares`]: stale, duplicate and re-hash checks before a submit
//! - [`meter`], [`status`]: rates over 10 s / 60 s / 15 min and the status report
//! - [`miner`]: the loop tying them to the pool connection
//! - [`monitor`]: what the loop publishes for the HTTP API, and the pause switch
//!
//! This is the miner alone: the pools `mine` may run in-process (embedded, solo) are the
//! serving side's, in [`crate::pool`].

pub mod engine;
pub mod meter;
pub mod miner;
pub mod monitor;
pub mod shares;
pub mod source;
pub mod status;

pub use engine::{Engine, Found};
pub use miner::{
    run, run_with_shares, MinerConfig, PoolsGaveUp, Reload, ShareEvent, ShareSink, StatusSink,
};
pub use monitor::MinerMonitor;
pub use status::Status;
