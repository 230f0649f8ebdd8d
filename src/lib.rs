//! hashforge: a SHA-256d (Bitcoin proof-of-work) miner library.
//!
//! - [`Header`], [`Target`], [`CompactTarget`], [`Hash256`]: the Bitcoin basics, from their one
//!   home in `hashforge-bitcoin` (the protocol crate speaks the same ones), re-exported here.
//! - [`WorkUnit`]: a header prepared for scanning (midstate and precomputed rounds).
//! - [`cpu`]: the SHA-NI, AVX2 and scalar kernels and the multi-threaded CPU backend.
//! - [`gpu`]: the WGSL compute shader through wgpu, its feeder, and CPU + GPU together.
//! - [`pool`]: a solo pool: a Stratum server fed with work from a Bitcoin Core node.
//! - [`api`]: the HTTP API and Prometheus metrics of `mine` and `serve` (axum).

pub mod api;
pub mod backend;
pub mod cpu;
mod error;
pub mod gpu;
pub mod mining;
pub mod node;
pub mod pool;
pub mod runner;
pub mod scheduler;
pub mod setup;
pub mod units;
mod work;

pub use error::Error;
pub use hashforge_bitcoin::{hash_difficulty, CompactTarget, Hash256, Header, PowError, Target};
pub use work::{Found, Precomputed, WorkUnit, ROLLED_VERSIONS};
