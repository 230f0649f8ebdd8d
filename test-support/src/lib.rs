//! What hashforge's tests share and the libraries must not ship: test doubles and helpers.
//!
//! - [`replay`]: a small local JSON-RPC node that replays templates recorded from Bitcoin Core
//!   (`../shared/fixtures/`), with injectable faults, for the node and serve tests.
//! - [`binary`]: the `hashforge` binary run the one way every test runs it (spawned, bounded,
//!   killed on drop).
//! - [`miner`]: a test miner (the Stratum client plus a CPU kernel) and a job watcher.
//! - [`stratum`]: the Stratum helpers (`hashforge-stratum-test-support`): servers and clients
//!   on 127.0.0.1 with short timeouts, event and share-result waits, a brute-force share search,
//!   a scripted raw peer, self-signed certificates.
//! - [`faulty_proxy`]: a TCP proxy that delays, splits, merges and corrupts traffic, drops
//!   connections and leaves them half-open, on a seeded schedule, for soak tests.
//! - [`serve`]: `hashforge serve` on an advancing replay node, its workers, its HTTP API.
//! - [`load`]: a Stratum v1 load generator (many sessions submitting valid shares), used by the
//!   `stratum-load` binary and the load test.

pub mod binary;
pub mod faulty_proxy;
pub mod load;
pub mod miner;
pub mod replay;
pub mod serve;

pub use hashforge_stratum_test_support as stratum;
