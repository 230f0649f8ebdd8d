//! The bodies of hashforge's fuzz targets, one module per target, each a `run(&[u8])` that must
//! not panic. The stable test suite (`tests/fuzz_targets.rs` at the repository root) includes the
//! same files and replays the committed seeds and crash inputs through them, so CI exercises
//! every target without nightly.

pub mod bitcoin_parsers;
pub mod poll;
#[cfg(feature = "node")]
pub mod rpc_template;
pub mod stratum_client;
pub mod stratum_server;
pub mod sv2_messages;
#[cfg(feature = "node")]
pub mod template_block;
