//! `Backend`: what the miner needs from a hashing backend (CPU workers, the GPU feeder).

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use crate::cpu::{CpuBackend, FoundSink, WhenIdle};
use crate::scheduler::Scheduler;

/// A hashing backend that takes chunks from a [`Scheduler`] and reports found nonces.
pub trait Backend: Send + Sync {
    /// Short name for status output: `cpu`, `gpu`.
    fn name(&self) -> &'static str;
    /// What it runs, e.g. `sha-ni × 2` or the adapter name.
    fn describe(&self) -> String;
    /// Hashes done so far.
    fn hash_counter(&self) -> Arc<AtomicU64>;
    /// Candidates that failed the CPU re-check (hardware errors).
    fn hw_errors(&self) -> u64 {
        0
    }
    /// Runs until `stop` is set (or, with `WhenIdle::Finish`, the scheduler runs dry).
    fn run(&self, scheduler: &Scheduler, stop: &AtomicBool, idle: WhenIdle, sink: &dyn FoundSink);
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }
    fn describe(&self) -> String {
        format!("{} × {}", self.kernel, self.threads)
    }
    fn hash_counter(&self) -> Arc<AtomicU64> {
        self.hashes.clone()
    }
    fn run(&self, scheduler: &Scheduler, stop: &AtomicBool, idle: WhenIdle, sink: &dyn FoundSink) {
        CpuBackend::run(self, scheduler, stop, idle, sink)
    }
}
