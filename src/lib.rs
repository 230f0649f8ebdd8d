//! hashforge: a SHA-256d (Bitcoin proof-of-work) miner library.
//!
//! - [`Header`], [`Target`], [`CompactTarget`], [`Hash256`]: the domain types.
//! - [`WorkUnit`]: a header prepared for scanning (midstate and precomputed rounds).
//! - [`cpu`]: the SHA-NI, AVX2 and scalar kernels and the multi-threaded CPU backend.
//! - [`gpu`]: the WGSL compute shader through wgpu, its feeder, and CPU + GPU together.
//! - [`pool`]: a solo pool: a Stratum server fed with work from a Bitcoin Core node.

pub mod app;
pub mod backend;
pub mod cpu;
mod error;
pub mod gpu;
mod hash;
mod header;
pub mod hexbytes;
pub mod mining;
pub mod node;
pub mod pool;
pub mod scheduler;
pub mod sha256;
mod target;
pub mod units;
mod work;

pub use error::Error;
pub use hash::Hash256;
pub use header::Header;
pub use target::{hash_difficulty, CompactTarget, Target};
pub use work::{Precomputed, WorkUnit};
