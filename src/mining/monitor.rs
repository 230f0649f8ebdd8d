//! `MinerMonitor`: what the mining loop publishes for readers outside it (the HTTP API and its
//! metrics), and the pause switch. The loop updates it after every event and every rate sample
//! (once a second); hash counters are read live from the backends, so a reader sees a pause at
//! once.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use super::source::ShareTag;
use super::status::Status;
use crate::backend::{Backend, Part};
use crate::scheduler::Scheduler;

/// The window of the per-part (CPU thread, GPU device) rates, besides 10 s.
pub const PART_WINDOWS: [Duration; 2] = [Duration::from_secs(10), Duration::from_secs(60)];

/// The longest pool error kept for readers, in characters.
pub const MAX_POOL_ERROR_CHARS: usize = 200;

/// A pool's connection as the miner last saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolConnection {
    /// Never connected (a failover pool not needed so far, or the first attempts).
    Idle,
    /// Subscribed and authorized: the pool mined on.
    Connected,
    /// Was connected, lost; the manager reconnects or fails over.
    Disconnected,
}

/// One pool of the miner's list. Serialized (as in `mine`'s `GET /api/v1/pools`, which the
/// README shows): `connection` as `state`, moments as Unix seconds, `latency` as `latency_ms`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PoolState {
    /// Its URL, as configured.
    pub url: String,
    #[serde(rename = "state")]
    pub connection: PoolConnection,
    /// When the current (or last) connection was made.
    #[serde(serialize_with = "hashforge_stratum::ser::unix_secs")]
    pub connected_since: Option<SystemTime>,
    /// Connections made to it.
    pub connections: u64,
    /// Round trip of the last share it answered (submit to answer).
    #[serde(rename = "latency_ms", serialize_with = "latency_ms")]
    pub latency: Option<Duration>,
    /// Why the last connection ended (escaped, at most [`MAX_POOL_ERROR_CHARS`]).
    pub last_error: Option<String>,
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Serializes [`PoolState::latency`] in milliseconds.
fn latency_ms<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&d.map(millis), s)
}

impl PoolState {
    /// [`PoolState::latency`] in milliseconds.
    pub fn latency_ms(&self) -> Option<f64> {
        self.latency.map(millis)
    }

    pub fn new(url: &str) -> Self {
        PoolState {
            url: url.to_string(),
            connection: PoolConnection::Idle,
            connected_since: None,
            connections: 0,
            latency: None,
            last_error: None,
        }
    }
}

/// What the loop publishes.
#[derive(Clone, Debug, Default)]
pub struct MinerState {
    /// The status report as it would be printed now (rates from the last sample).
    pub status: Status,
    /// Per backend, per part: rates over [`PART_WINDOWS`], in hashes per second.
    pub part_rates: Vec<Vec<[f64; 2]>>,
    /// The pools in priority order.
    pub pools: Vec<PoolState>,
    /// The pool mined on (index into `pools`).
    pub current_pool: Option<usize>,
    /// Connections made to another pool than the one before (failovers and failbacks).
    pub failovers: u64,
    /// The job hashed now.
    pub job_id: Option<String>,
    /// The highest difficulty of a share found and sent (0 before the first).
    pub best_share: f64,
}

/// A consistent reading for a reader: the published state plus the live counters.
#[derive(Clone, Debug)]
pub struct MinerSnapshot {
    pub state: MinerState,
    /// Seconds since the miner started.
    pub uptime: Duration,
    pub paused: bool,
    /// Per backend: its name, what it runs, its hashes now (live).
    pub backends: Vec<BackendSnapshot>,
}

/// One backend, read live.
#[derive(Clone, Debug)]
pub struct BackendSnapshot {
    pub name: String,
    pub detail: String,
    pub hashes: u64,
    pub hw_errors: u64,
    /// Its parts: name and hashes (live).
    pub parts: Vec<(String, u64)>,
}

/// Shared between the mining loop (writer) and readers.
pub struct MinerMonitor {
    scheduler: Arc<Scheduler<ShareTag>>,
    backends: Vec<Arc<dyn Backend<ShareTag>>>,
    parts: Vec<Vec<Part>>,
    started: Instant,
    state: Mutex<MinerState>,
}

impl MinerMonitor {
    pub(crate) fn new(
        scheduler: Arc<Scheduler<ShareTag>>,
        backends: Vec<Arc<dyn Backend<ShareTag>>>,
    ) -> Self {
        let parts = backends.iter().map(|b| b.parts()).collect();
        MinerMonitor {
            scheduler,
            backends,
            parts,
            started: Instant::now(),
            state: Mutex::new(MinerState::default()),
        }
    }

    /// Stops handing out work: every backend stops after the chunk it is on (about 1 ms on a
    /// CPU thread; the dispatches in flight on a GPU, about 40 ms). The pool connection stays
    /// up and shares already found are still sent.
    pub fn pause(&self) {
        if !self.scheduler.is_paused() {
            tracing::info!("paused: hashing stops");
        }
        self.scheduler.pause();
    }

    /// Hands out work again after [`MinerMonitor::pause`].
    pub fn resume(&self) {
        if self.scheduler.is_paused() {
            tracing::info!("resumed: hashing again");
        }
        self.scheduler.resume();
    }

    pub fn is_paused(&self) -> bool {
        self.scheduler.is_paused()
    }

    /// The parts of every backend (for meters).
    pub(crate) fn parts(&self) -> &[Vec<Part>] {
        &self.parts
    }

    /// The state as the loop last published it, with the live counters.
    pub fn snapshot(&self) -> MinerSnapshot {
        use std::sync::atomic::Ordering::Relaxed;
        let state = self.lock().clone();
        let backends = self
            .backends
            .iter()
            .zip(&self.parts)
            .map(|(b, parts)| BackendSnapshot {
                name: b.name().to_string(),
                detail: b.describe(),
                hashes: b.hash_counter().load(Relaxed),
                hw_errors: b.hw_errors(),
                parts: parts
                    .iter()
                    .map(|p| (p.name.clone(), p.hashes.load(Relaxed)))
                    .collect(),
            })
            .collect();
        MinerSnapshot {
            state,
            uptime: self.started.elapsed(),
            paused: self.is_paused(),
            backends,
        }
    }

    /// Replaces the published state.
    pub(crate) fn publish(&self, state: MinerState) {
        *self.lock() = state;
    }

    fn lock(&self) -> MutexGuard<'_, MinerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for MinerMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MinerMonitor")
            .field("backends", &self.backends.len())
            .field("paused", &self.is_paused())
            .finish_non_exhaustive()
    }
}
