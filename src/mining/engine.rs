//! `Engine`: runs the backends on one scheduler on their own threads and forwards found nonces.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::backend::Backend;
use crate::cpu::WhenIdle;
use crate::scheduler::{Chunk, Scheduler, Unit};

/// A nonce a backend found, with the unit it belongs to.
#[derive(Debug)]
pub struct Found {
    pub unit: Arc<Unit>,
    pub nonce: u32,
}

/// Found nonces waiting for the mining loop. Shares come seconds apart at any sane difficulty;
/// the bound only matters when a pool sets an absurdly low one.
pub const FOUND_QUEUE: usize = 4096;

/// The running backends.
pub struct Engine {
    scheduler: Arc<Scheduler>,
    backends: Vec<Arc<dyn Backend>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Engine {
    /// Starts every backend, idle until work is set on [`Engine::scheduler`].
    pub fn start(backends: Vec<Arc<dyn Backend>>) -> (Engine, mpsc::Receiver<Found>) {
        let scheduler = Arc::new(Scheduler::new());
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel(FOUND_QUEUE);
        let threads = backends
            .iter()
            .map(|backend| {
                let (backend, scheduler, stop, tx) =
                    (backend.clone(), scheduler.clone(), stop.clone(), tx.clone());
                std::thread::Builder::new()
                    .name(format!("{}-backend", backend.name()))
                    .spawn(move || {
                        let halt = stop.clone();
                        let sink = move |chunk: &Chunk, nonce: u32| {
                            let found = Found {
                                unit: chunk.unit.clone(),
                                nonce,
                            };
                            send_or_wait(&tx, found, &halt);
                        };
                        backend.run(&scheduler, &stop, WhenIdle::Wait, &sink);
                    })
                    .expect("spawning a backend thread")
            })
            .collect();
        (
            Engine {
                scheduler,
                backends,
                stop,
                threads,
            },
            rx,
        )
    }

    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    pub fn backends(&self) -> &[Arc<dyn Backend>] {
        &self.backends
    }

    /// Stops the backends and waits for their threads.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.scheduler.clear();
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Queues a found nonce; while the queue is full the backend waits (never dropping a share),
/// unless the engine is stopping.
fn send_or_wait(tx: &mpsc::Sender<Found>, mut found: Found, stop: &AtomicBool) {
    loop {
        match tx.try_send(found) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => return,
            Err(mpsc::error::TrySendError::Full(back)) => {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                found = back;
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.halt();
    }
}
