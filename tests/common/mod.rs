//! Helpers shared by the integration tests. They live in `hashforge-test-support` (the binary
//! runner, the test miner, and the Stratum helpers of `hashforge-stratum-test-support`); this
//! module names this build's binary for them and keeps `common::…` working.
#![allow(dead_code, unused_imports)]

pub use hashforge_test_support::binary::{assert_error, Exit, Hashforge, Running};
pub use hashforge_test_support::miner::{scan_for_share, watch_jobs, TestMiner};
pub use hashforge_test_support::stratum::*;

/// The `hashforge` binary of this build.
pub fn hashforge() -> Hashforge {
    Hashforge::new(env!("CARGO_BIN_EXE_hashforge"))
}

/// See [`Hashforge::mine_on_embedded_pool`].
pub fn mine_on_embedded_pool(args: &[&str]) -> (String, serde_json::Value) {
    hashforge().mine_on_embedded_pool(args)
}
