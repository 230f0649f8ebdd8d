//! The Bitcoin basics hashforge's miner, protocol and node code all speak, each in one place:
//!
//! - [`Header`]: the 80-byte block header with typed fields and its one encoding;
//! - [`Target`], [`CompactTarget`] and pool difficulty;
//! - [`Hash256`]: a digest, shown in display order;
//! - [`sha256`]: SHA-256 and sha256d (the portable reference every kernel is checked against);
//! - [`merkle`]: the transaction tree's root and the coinbase's branch;
//! - [`hex`]: hex at the edge, including display-order 256-bit numbers.
//!
//! Endianness is settled here, once: hashes and targets are little-endian 256-bit numbers in
//! internal byte order, and only `Display` and the display-order parsers reverse them.

#![warn(missing_docs)]

pub mod error;
mod hash;
mod header;
pub mod hex;
pub mod merkle;
pub mod sha256;
mod target;

pub use error::{HexError, PowError};
pub use hash::Hash256;
pub use header::Header;
pub use sha256::sha256d;
pub use target::{hash_difficulty, CompactTarget, Target};
