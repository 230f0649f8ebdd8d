//! hashforge: a SHA-256d (Bitcoin proof-of-work) miner library.
//!
//! - [`Header`], [`Target`], [`CompactTarget`], [`Hash256`]: the domain types (the last three
//!   live in `hashforge-stratum`, which speaks them too, and are re-exported here).
//! - [`WorkUnit`]: a header prepared for scanning (midstate and precomputed rounds).
//! - [`cpu`]: the SHA-NI, AVX2 and scalar kernels and the multi-threaded CPU backend.
//! - [`gpu`]: the WGSL compute shader through wgpu, its feeder, and CPU + GPU together.
//! - [`pool`]: a solo pool: a Stratum server fed with work from a Bitcoin Core node.

pub mod app;
pub mod backend;
pub mod cpu;
mod error;
pub mod gpu;
mod header;
pub mod hexbytes;
pub mod mining;
pub mod node;
pub mod pool;
pub mod scheduler;
pub mod sha256;
pub mod units;
mod work;

pub use error::Error;
pub use hashforge_stratum::{hash_difficulty, CompactTarget, Hash256, PowError, Target};
pub use header::Header;
pub use work::{Precomputed, WorkUnit};
