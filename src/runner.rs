//! `Runner`: several backends on one scheduler, each on its own thread. `scan`, `bench` and
//! `mine` all drive their backends through it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::backend::{Backend, BackendError, Feed, FoundSink, WhenIdle};
use crate::scheduler::{Scheduler, Tag};

/// The running backends. Dropping it stops them and waits for their threads.
pub struct Runner<T: Tag> {
    scheduler: Arc<Scheduler<T>>,
    backends: Vec<Arc<dyn Backend<T>>>,
    stop: Arc<AtomicBool>,
    /// Backends whose thread is still running.
    running: Arc<AtomicUsize>,
    /// One per backend: its thread, or the error that kept it from starting.
    threads: Vec<Result<JoinHandle<Result<(), BackendError>>, BackendError>>,
}

impl<T: Tag> Runner<T> {
    /// Starts every backend on `scheduler`. Together they scan every nonce exactly once; if one
    /// fails (or its thread cannot be started), the others go on, and [`Runner::join`] returns
    /// its error.
    pub fn start(
        backends: Vec<Arc<dyn Backend<T>>>,
        scheduler: Arc<Scheduler<T>>,
        idle: WhenIdle,
        sink: Arc<dyn FoundSink<T>>,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let running = Arc::new(AtomicUsize::new(backends.len()));
        let threads = backends
            .iter()
            .map(|backend| {
                let (backend, scheduler, stop, sink, left) = (
                    backend.clone(),
                    scheduler.clone(),
                    stop.clone(),
                    sink.clone(),
                    running.clone(),
                );
                let backend_name = backend.name();
                std::thread::Builder::new()
                    .name(format!("{}-backend", backend.name()))
                    .spawn(move || {
                        let result = backend.run(Feed::new(&scheduler, &stop, idle), sink.as_ref());
                        if let Err(e) = &result {
                            tracing::error!("{e}; the other backends go on");
                        }
                        left.fetch_sub(1, Ordering::Relaxed);
                        result
                    })
                    .map_err(|e| {
                        running.fetch_sub(1, Ordering::Relaxed);
                        let e = BackendError {
                            backend: backend_name,
                            reason: format!("cannot start its thread: {e}"),
                        };
                        tracing::error!("{e}; the other backends go on");
                        e
                    })
            })
            .collect();
        Runner {
            scheduler,
            backends,
            stop,
            running,
            threads,
        }
    }

    /// The scheduler the backends take their work from.
    pub fn scheduler(&self) -> &Scheduler<T> {
        &self.scheduler
    }

    /// The backends, in the order given.
    pub fn backends(&self) -> &[Arc<dyn Backend<T>>] {
        &self.backends
    }

    /// How many backends are still running (a backend that failed, or whose thread could not be
    /// started, is not).
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// Tells every backend to stop after the chunk it is on; [`Runner::join`] waits for them.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Waits for every backend to return (with `WhenIdle::Finish`: the work is done; else after
    /// [`Runner::stop`]); the first error, if any backend failed.
    pub fn join(mut self) -> Result<(), BackendError> {
        self.wait()
    }

    fn wait(&mut self) -> Result<(), BackendError> {
        let mut first = Ok(());
        for t in self.threads.drain(..) {
            let result = t.and_then(|t| {
                t.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            if first.is_ok() {
                first = result;
            }
        }
        first
    }
}

impl<T: Tag> Drop for Runner<T> {
    fn drop(&mut self) {
        self.scheduler.clear();
        self.stop();
        let _ = self.wait();
    }
}
