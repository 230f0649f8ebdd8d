//! What hashforge's tests share and the libraries must not ship: test doubles and helpers.
//!
//! - [`replay`]: a small local JSON-RPC node that replays templates recorded from Bitcoin Core
//!   (`../shared/fixtures/`), with injectable faults, for the node and serve tests.
//! - [`faulty_proxy`]: a TCP proxy that delays, splits, merges and corrupts traffic, drops
//!   connections and leaves them half-open, on a seeded schedule, for soak tests.
//! - [`load`]: a Stratum v1 load generator (many sessions submitting valid shares), used by the
//!   `stratum-load` binary and the load test.

pub mod faulty_proxy;
pub mod load;
pub mod replay;
