//! hashforge: a SHA-256d (Bitcoin proof-of-work) miner library.
pub mod node;
