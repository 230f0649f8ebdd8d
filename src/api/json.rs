//! The JSON answers of the API, one type per endpoint (the README shows an example of each).
//! Rates are in hashes per second, times in seconds (`*_s`) or milliseconds (`*_ms`), moments
//! as Unix seconds.

use std::collections::BTreeMap;

use hashforge_stratum::ser::unix;
pub use hashforge_stratum::ser::MAX_TEXT_CHARS;
use hashforge_stratum::text::escaped_prefix;
use hashforge_stratum::WorkerStats;
use serde::Serialize;

use super::MinerSource;
use crate::mining::monitor::{MinerSnapshot, PoolConnection, PoolState};
pub use crate::mining::status::WindowRates as Rates;
use crate::pool::{BlockOutcome, BlockReport, FeedStats};

/// The most workers `GET /api/v1/workers` lists (by name); `more` counts the rest.
pub const MAX_LISTED_WORKERS: usize = 10_000;

/// This build's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `GET /api/v1/summary` of `mine`.
#[derive(Clone, Debug, Serialize)]
pub struct MinerSummary {
    pub version: &'static str,
    pub uptime_s: f64,
    pub paused: bool,
    pub kernel: String,
    pub threads: usize,
    /// Every backend's hashes so far (live).
    pub hashes: u64,
    pub hashrate: Rates,
    pub backends: Vec<BackendRate>,
    pub shares: Shares,
    pub hardware_errors: u64,
    /// The highest difficulty of a share found and sent (0 before the first).
    pub best_share_difficulty: f64,
    /// The pool difficulty in force.
    pub difficulty: f64,
    /// The pool mined on (or, when none is connected, `state` says so).
    pub pool: PoolSummary,
    pub job_id: Option<String>,
}

/// One backend's total in the summary.
#[derive(Clone, Debug, Serialize)]
pub struct BackendRate {
    pub name: String,
    pub detail: String,
    pub hashes: u64,
    #[serde(flatten)]
    pub rates: Rates,
}

/// Share outcomes of `mine`.
#[derive(Clone, Debug, Serialize)]
pub struct Shares {
    pub found: u64,
    pub submitted: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub reject_reasons: BTreeMap<String, u64>,
    pub stale: u64,
    pub duplicates: u64,
    pub timed_out: u64,
    pub lost: u64,
}

/// The pool in the summary.
#[derive(Clone, Debug, Serialize)]
pub struct PoolSummary {
    pub url: Option<String>,
    pub state: PoolConnection,
    pub latency_ms: Option<f64>,
    pub failovers: u64,
}

/// `GET /api/v1/backends`.
#[derive(Clone, Debug, Serialize)]
pub struct Backends {
    pub backends: Vec<BackendDetail>,
}

/// One backend with its parts (CPU threads, GPU device).
#[derive(Clone, Debug, Serialize)]
pub struct BackendDetail {
    pub name: String,
    pub detail: String,
    pub hashes: u64,
    #[serde(flatten)]
    pub rates: Rates,
    pub hardware_errors: u64,
    pub parts: Vec<PartRate>,
}

/// One CPU thread or GPU device.
#[derive(Clone, Debug, Serialize)]
pub struct PartRate {
    pub name: String,
    pub hashes: u64,
    pub rate_10s: f64,
    pub rate_60s: f64,
}

/// `GET /api/v1/pools`.
#[derive(Clone, Debug, Serialize)]
pub struct Pools {
    pub pools: Vec<Pool>,
    pub failovers: u64,
}

/// One pool of the list, in priority order.
#[derive(Clone, Debug, Serialize)]
pub struct Pool {
    pub index: usize,
    /// Whether it is the pool mined on now.
    pub active: bool,
    #[serde(flatten)]
    pub pool: PoolState,
}

/// The answer of `POST /api/v1/pause` and `/resume`.
#[derive(Clone, Debug, Serialize)]
pub struct Paused {
    pub paused: bool,
}

impl MinerSummary {
    pub fn new(source: &MinerSource, s: &MinerSnapshot) -> Self {
        let st = &s.state;
        let status = &st.status;
        let c = &status.counters;
        let pool = st.current_pool.and_then(|i| st.pools.get(i));
        let first = st.pools.first();
        MinerSummary {
            version: VERSION,
            uptime_s: s.uptime.as_secs_f64(),
            paused: s.paused,
            kernel: source.kernel.clone(),
            threads: source.threads,
            hashes: s.backends.iter().map(|b| b.hashes).sum(),
            hashrate: status.total.rates,
            backends: s
                .backends
                .iter()
                .zip(
                    status
                        .backends
                        .iter()
                        .map(Some)
                        .chain(std::iter::repeat(None)),
                )
                .map(|(b, r)| BackendRate {
                    name: b.name.clone(),
                    detail: b.detail.clone(),
                    hashes: b.hashes,
                    rates: r.map(|r| r.rates).unwrap_or_default(),
                })
                .collect(),
            shares: Shares {
                found: c.found,
                submitted: c.submitted,
                accepted: c.accepted,
                rejected: c.rejected,
                reject_reasons: c.reject_reasons.clone(),
                stale: c.stale,
                duplicates: c.duplicates,
                timed_out: c.timed_out,
                lost: c.lost,
            },
            hardware_errors: c.hw_errors,
            best_share_difficulty: st.best_share,
            difficulty: status.difficulty,
            pool: PoolSummary {
                url: pool.or(first).map(|p| p.url.clone()),
                state: pool
                    .or(first)
                    .map_or(PoolConnection::Idle, |p| p.connection),
                latency_ms: pool.and_then(PoolState::latency_ms),
                failovers: st.failovers,
            },
            job_id: st.job_id.clone(),
        }
    }
}

impl Backends {
    pub fn new(s: &MinerSnapshot) -> Self {
        let status = &s.state.status;
        let backends = s
            .backends
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let r = status.backends.get(i);
                let part_rates = s.state.part_rates.get(i);
                BackendDetail {
                    name: b.name.clone(),
                    detail: b.detail.clone(),
                    hashes: b.hashes,
                    rates: r.map(|r| r.rates).unwrap_or_default(),
                    hardware_errors: b.hw_errors,
                    parts: b
                        .parts
                        .iter()
                        .enumerate()
                        .map(|(j, (name, hashes))| {
                            let [rate_10s, rate_60s] = part_rates
                                .and_then(|p| p.get(j))
                                .copied()
                                .unwrap_or_default();
                            PartRate {
                                name: name.clone(),
                                hashes: *hashes,
                                rate_10s,
                                rate_60s,
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        Backends { backends }
    }
}

impl Pools {
    pub fn new(s: &MinerSnapshot) -> Self {
        let st = &s.state;
        Pools {
            pools: st
                .pools
                .iter()
                .enumerate()
                .map(|(i, p)| Pool {
                    index: i,
                    active: st.current_pool == Some(i),
                    pool: p.clone(),
                })
                .collect(),
            failovers: st.failovers,
        }
    }
}

/// `GET /api/v1/summary` of `serve`.
#[derive(Clone, Debug, Serialize)]
pub struct ServerSummary {
    pub version: &'static str,
    pub uptime_s: f64,
    /// Where miners connect.
    pub listen: String,
    pub connections: usize,
    /// Workers known (connected, or gone for less than the retention time).
    pub workers: usize,
    /// The sum of the workers' rates estimated from their shares.
    pub hashrate: f64,
    pub shares: ServerShares,
    /// The highest difficulty of an accepted share's hash.
    pub best_share_difficulty: f64,
    pub blocks: BlockCounts,
    /// The height worked on.
    pub height: Option<u32>,
    pub templates: u64,
    pub node_errors: u64,
    pub last_error: Option<String>,
}

/// Every worker's shares since the start.
#[derive(Clone, Debug, Serialize)]
pub struct ServerShares {
    pub accepted: u64,
    pub rejected: u64,
    pub stale: u64,
}

/// Blocks found and what the node said.
#[derive(Clone, Debug, Serialize)]
pub struct BlockCounts {
    pub found: u64,
    pub submitted: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Could not be assembled or submitted (logged with the block's hex).
    pub failed: u64,
}

impl ServerSummary {
    pub fn new(
        listen: String,
        uptime_s: f64,
        connections: usize,
        workers: &[WorkerStats],
        totals: &WorkerStats,
        feed: &FeedStats,
    ) -> Self {
        ServerSummary {
            version: VERSION,
            uptime_s,
            listen,
            connections,
            workers: workers.len(),
            hashrate: workers.iter().map(|w| w.hashrate).sum(),
            shares: ServerShares {
                accepted: totals.accepted,
                rejected: totals.rejected,
                stale: totals.stale,
            },
            best_share_difficulty: totals.best_share,
            blocks: BlockCounts {
                found: feed.blocks_found,
                submitted: feed.blocks_submitted,
                accepted: feed.blocks_accepted,
                rejected: feed.blocks_rejected,
                failed: feed.blocks_failed,
            },
            height: feed.height,
            templates: feed.templates,
            node_errors: feed.node_errors,
            last_error: feed
                .last_error
                .as_deref()
                .map(|e| escaped_prefix(e, MAX_TEXT_CHARS * 4)),
        }
    }
}

/// `GET /api/v1/workers`: each worker (an authorized name; several connections may share it)
/// as [`WorkerStats`] serializes it.
#[derive(Clone, Debug, Serialize)]
pub struct Workers {
    pub workers: Vec<WorkerStats>,
    /// Workers past [`MAX_LISTED_WORKERS`], not listed.
    pub more: usize,
}

impl Workers {
    pub fn new(stats: &[WorkerStats]) -> Self {
        Workers {
            workers: stats.iter().take(MAX_LISTED_WORKERS).cloned().collect(),
            more: stats.len().saturating_sub(MAX_LISTED_WORKERS),
        }
    }
}

/// `GET /api/v1/blocks`: the most recent blocks found (at most 64), oldest first.
#[derive(Clone, Debug, Serialize)]
pub struct Blocks {
    pub blocks: Vec<Block>,
}

/// One block found by a worker and the node's answer.
#[derive(Clone, Debug, Serialize)]
pub struct Block {
    pub height: u32,
    pub hash: String,
    pub worker: String,
    /// `accepted`, `rejected` (with the node's BIP 22 reason) or `failed` (not submitted).
    pub result: &'static str,
    pub reason: Option<String>,
    pub answered_at: u64,
}

impl Blocks {
    pub fn new(reports: &[BlockReport]) -> Self {
        let blocks = reports
            .iter()
            .map(|b| {
                let (result, reason) = match &b.outcome {
                    BlockOutcome::Accepted => ("accepted", None),
                    BlockOutcome::Rejected(r) => ("rejected", Some(r.as_str())),
                    BlockOutcome::Failed(e) => ("failed", Some(e.as_str())),
                };
                Block {
                    height: b.height,
                    hash: b.hash.to_string(),
                    worker: escaped_prefix(&b.worker, MAX_TEXT_CHARS),
                    result,
                    reason: reason.map(|r| escaped_prefix(r, MAX_TEXT_CHARS * 4)),
                    answered_at: unix(b.answered_at),
                }
            })
            .collect();
        Blocks { blocks }
    }
}
