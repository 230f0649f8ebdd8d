//! Per-worker share statistics.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

/// Counters for one worker name. Serialized, it is one worker of `hashforge serve`'s
/// `GET /api/v1/workers` (the README shows it): names escaped, moments as Unix seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerStats {
    /// Worker (authorized user name).
    #[serde(rename = "name", serialize_with = "crate::ser::escaped")]
    pub worker: String,
    /// The address of the connection that authorized it last.
    pub address: Option<SocketAddr>,
    /// Whether a connection of it is open.
    pub connected: bool,
    /// When it got a connection after having none (first seen, or back after leaving).
    #[serde(serialize_with = "crate::ser::unix_secs")]
    pub connected_since: Option<SystemTime>,
    /// Estimated hashrate in H/s: `accepted_difficulty · 2^32 / seconds since first seen`.
    pub hashrate: f64,
    /// The pool difficulty its last share was checked at (0 before one).
    pub difficulty: f64,
    /// Accepted shares.
    pub accepted: u64,
    /// Rejected shares (all codes).
    pub rejected: u64,
    /// Of the rejected, stale ones (code 21).
    pub stale: u64,
    /// Shares that were blocks.
    pub blocks: u64,
    /// When its last share (accepted or rejected) came.
    #[serde(serialize_with = "crate::ser::unix_secs")]
    pub last_share: Option<SystemTime>,
    /// The highest difficulty of an accepted share's hash (0 before one).
    #[serde(rename = "best_share_difficulty")]
    pub best_share: f64,
    /// Sum of the pool difficulties of accepted shares.
    #[serde(skip)]
    pub accepted_difficulty: f64,
}

/// Workers whose statistics the server keeps at most; later names are served but not counted.
pub const MAX_WORKERS: usize = 100_000;

#[derive(Debug, Clone)]
pub(crate) struct WorkerEntry {
    pub stats: WorkerStats,
    pub since: Instant,
    /// Open connections that authorized this worker.
    pub connections: usize,
    /// When the last of them closed.
    pub left: Option<Instant>,
}

/// Every worker's statistics, by name.
#[derive(Debug, Default)]
pub(crate) struct Workers {
    pub map: HashMap<String, WorkerEntry>,
    /// Every worker's shares since the server started (never pruned; `worker` is empty and
    /// the hash rate unused).
    pub totals: WorkerStats,
    last_prune: Option<Instant>,
}

impl Workers {
    /// Forgets the workers gone for longer than `retention` (at most once a second unless
    /// `now`).
    pub(crate) fn prune(&mut self, retention: Duration, now: bool) {
        let due = self
            .last_prune
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if !(now || due) {
            return;
        }
        self.last_prune = Some(Instant::now());
        self.map
            .retain(|_, e| e.left.is_none_or(|t| t.elapsed() < retention));
    }
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
            address: None,
            connected_since: None,
            connected: false,
            difficulty: 0.0,
            last_share: None,
            best_share: 0.0,
        }
    }
}

impl Default for WorkerStats {
    fn default() -> Self {
        WorkerStats::new("")
    }
}

impl WorkerEntry {
    pub(crate) fn new(worker: &str) -> Self {
        Self {
            stats: WorkerStats::new(worker),
            since: Instant::now(),
            connections: 0,
            left: None,
        }
    }

    pub(crate) fn snapshot(&self) -> WorkerStats {
        let secs = self.since.elapsed().as_secs_f64().max(1.0);
        WorkerStats {
            hashrate: self.stats.accepted_difficulty * 4_294_967_296.0 / secs,
            connected: self.connections > 0,
            ..self.stats.clone()
        }
    }
}
