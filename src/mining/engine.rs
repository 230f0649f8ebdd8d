//! `Engine`: the miner's backends running on one scheduler (through the [`Runner`]), with found
//! nonces queued for the mining loop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::monitor::MinerMonitor;
use super::source::ShareTag;
use crate::backend::{Backend, FoundSink, WhenIdle};
use crate::runner::Runner;
use crate::scheduler::{Assignment, Chunk, Scheduler};

/// A nonce (and version) a backend found, with the unit it belongs to.
#[derive(Debug)]
pub struct Found {
    pub assignment: Arc<Assignment<ShareTag>>,
    pub found: crate::Found,
}

/// Found nonces waiting for the mining loop. Shares come seconds apart at any sane difficulty;
/// the bound only matters when a pool sets an absurdly low one.
pub const FOUND_QUEUE: usize = 4096;

/// The running backends.
pub struct Engine {
    runner: Runner<ShareTag>,
    monitor: Arc<MinerMonitor>,
    /// Set when stopping, so that a backend waiting on a full queue gives up.
    halt: Arc<AtomicBool>,
}

impl Engine {
    /// Starts every backend, idle until work is set on [`Engine::scheduler`].
    pub fn start(backends: Vec<Arc<dyn Backend<ShareTag>>>) -> (Engine, mpsc::Receiver<Found>) {
        let (tx, rx) = mpsc::channel(FOUND_QUEUE);
        let halt = Arc::new(AtomicBool::new(false));
        let sink = Queue {
            tx,
            halt: halt.clone(),
        };
        let scheduler = Arc::new(Scheduler::new());
        let monitor = Arc::new(MinerMonitor::new(scheduler.clone(), backends.clone()));
        let runner = Runner::start(backends, scheduler, WhenIdle::Wait, Arc::new(sink));
        (
            Engine {
                runner,
                monitor,
                halt,
            },
            rx,
        )
    }

    pub fn scheduler(&self) -> &Scheduler<ShareTag> {
        self.runner.scheduler()
    }

    /// What the mining loop publishes (for the HTTP API), and the pause switch.
    pub fn monitor(&self) -> Arc<MinerMonitor> {
        self.monitor.clone()
    }

    pub fn backends(&self) -> &[Arc<dyn Backend<ShareTag>>] {
        self.runner.backends()
    }

    /// Whether any backend is still hashing (each failure was logged when it happened).
    pub fn is_hashing(&self) -> bool {
        self.runner.running() > 0
    }

    /// Stops the backends and waits for their threads (a backend's error was logged when it
    /// happened).
    pub fn stop(self) {
        drop(self)
    }
}

impl Drop for Engine {
    /// Lets a backend waiting on a full queue give up; the runner then stops and joins them.
    fn drop(&mut self) {
        self.halt.store(true, Ordering::Relaxed);
    }
}

/// The sink that queues found nonces for the mining loop.
struct Queue {
    tx: mpsc::Sender<Found>,
    halt: Arc<AtomicBool>,
}

impl FoundSink<ShareTag> for Queue {
    /// Queues a found nonce; while the queue is full the backend waits (never dropping a
    /// share), unless the engine is stopping or the loop is gone.
    fn found(&self, chunk: &Chunk<ShareTag>, found: crate::Found) {
        let mut found = Found {
            assignment: chunk.assignment.clone(),
            found,
        };
        loop {
            match self.tx.try_send(found) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Closed(_)) => return,
                Err(mpsc::error::TrySendError::Full(back)) => {
                    if self.halt.load(Ordering::Relaxed) {
                        return;
                    }
                    found = back;
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }
    }
}
