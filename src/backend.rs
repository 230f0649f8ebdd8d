//! The backend contract: what the scheduler's consumers (CPU workers, a GPU feeder) provide, and
//! what they report to.
//!
//! A [`Backend`] takes [`Chunk`]s from a [`Scheduler`] until it is stopped (or, with
//! [`WhenIdle::Finish`], until the work runs out), and reports every nonce whose hash meets the
//! chunk's target to a [`FoundSink`]. [`Runner`](crate::runner::Runner) drives several at once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::scheduler::{Chunk, Scheduler, Tag};
use crate::work::Found;

/// What a backend reports: every nonce (and, in a rolled unit, version) whose hash meets the
/// chunk's target.
pub trait FoundSink<T>: Send + Sync {
    /// Called once per found nonce and version, on the backend's thread.
    fn found(&self, chunk: &Chunk<T>, found: Found);
}

impl<T, F: Fn(&Chunk<T>, Found) + Send + Sync> FoundSink<T> for F {
    fn found(&self, chunk: &Chunk<T>, found: Found) {
        self(chunk, found)
    }
}

/// How a backend behaves when the scheduler has no work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenIdle {
    /// Return (a scan is done when its range is used up).
    Finish,
    /// Wait for new work until stopped (mining).
    Wait,
}

/// Where a backend takes its work and when it returns: the scheduler, the stop flag and what to
/// do when the scheduler has no work. Every [`Backend::run`] takes one.
pub struct Feed<'a, T> {
    pub scheduler: &'a Scheduler<T>,
    pub stop: &'a AtomicBool,
    pub idle: WhenIdle,
}

impl<T> Clone for Feed<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Feed<'_, T> {}

impl<'a, T> Feed<'a, T> {
    pub fn new(scheduler: &'a Scheduler<T>, stop: &'a AtomicBool, idle: WhenIdle) -> Self {
        Feed {
            scheduler,
            stop,
            idle,
        }
    }

    /// Whether `stop` is set.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// What a backend does when the scheduler has no work: with [`WhenIdle::Finish`], returns
    /// `false` (the backend returns); with [`WhenIdle::Wait`], sleeps a millisecond and returns
    /// `true` (it asks again).
    pub fn wait_for_work(&self) -> bool {
        match self.idle {
            WhenIdle::Finish => false,
            WhenIdle::Wait => {
                std::thread::sleep(Duration::from_millis(1));
                true
            }
        }
    }
}

/// A backend that stopped on an error. Whatever ranges it had taken were scanned elsewhere
/// (the GPU feeder rescans them on the CPU), so no nonce went unscanned.
#[derive(Debug, thiserror::Error)]
#[error("{backend} backend stopped: {reason}")]
pub struct BackendError {
    /// The backend's [`Backend::name`].
    pub backend: &'static str,
    /// What went wrong, as one line.
    pub reason: String,
}

/// One part of a backend with its own hash counter: a CPU worker thread, a GPU device.
#[derive(Clone, Debug)]
pub struct Part {
    /// What it is, e.g. `cpu-0` or the adapter name.
    pub name: String,
    /// Hashes it has done.
    pub hashes: Arc<AtomicU64>,
}

/// A hashing backend that takes chunks from a [`Scheduler`] and reports found nonces.
pub trait Backend<T: Tag>: Send + Sync {
    /// Short name for status output: `cpu`, `gpu`.
    fn name(&self) -> &'static str;
    /// What it runs, e.g. `sha-ni-x4 × 2` or the adapter name.
    fn describe(&self) -> String;
    /// Hashes done so far.
    fn hash_counter(&self) -> Arc<AtomicU64>;
    /// Its parts, each with its own counter (their sum is [`Backend::hash_counter`]); by
    /// default the backend is one part.
    fn parts(&self) -> Vec<Part> {
        vec![Part {
            name: self.name().to_string(),
            hashes: self.hash_counter(),
        }]
    }
    /// Candidates that failed the CPU re-check (hardware errors).
    fn hw_errors(&self) -> u64 {
        0
    }
    /// Runs on the calling thread until the feed's `stop` is set (or, with `WhenIdle::Finish`,
    /// its scheduler runs dry).
    fn run(&self, feed: Feed<'_, T>, sink: &dyn FoundSink<T>) -> Result<(), BackendError>;
}
