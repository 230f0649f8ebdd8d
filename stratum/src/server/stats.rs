//! Per-worker share statistics.

use std::time::Instant;

/// Counters for one worker name.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerStats {
    /// Worker (authorized user name).
    pub worker: String,
    /// Accepted shares.
    pub accepted: u64,
    /// Rejected shares (all codes).
    pub rejected: u64,
    /// Of the rejected, stale ones (code 21).
    pub stale: u64,
    /// Sum of the pool difficulties of accepted shares.
    pub accepted_difficulty: f64,
    /// Shares that were blocks.
    pub blocks: u64,
    /// Estimated hashrate in H/s: `accepted_difficulty · 2^32 / seconds since first seen`.
    pub hashrate: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct WorkerEntry {
    pub stats: WorkerStats,
    pub since: Instant,
}

impl WorkerStats {
    /// All counters zero.
    pub fn new(worker: &str) -> Self {
        WorkerStats {
            worker: worker.to_string(),
            accepted: 0,
            rejected: 0,
            stale: 0,
            accepted_difficulty: 0.0,
            blocks: 0,
            hashrate: 0.0,
        }
    }
}

impl WorkerEntry {
    pub(crate) fn new(worker: &str) -> Self {
        Self {
            stats: WorkerStats::new(worker),
            since: Instant::now(),
        }
    }

    pub(crate) fn snapshot(&self) -> WorkerStats {
        let secs = self.since.elapsed().as_secs_f64().max(1.0);
        WorkerStats {
            hashrate: self.stats.accepted_difficulty * 4_294_967_296.0 / secs,
            ..self.stats.clone()
        }
    }
}
