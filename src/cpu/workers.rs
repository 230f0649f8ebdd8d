//! The CPU backend: N threads that take chunks from the scheduler and run a kernel on them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use super::Kernel;
use crate::backend::{Backend, BackendError, Feed, FoundSink, Part};
use crate::scheduler::Tag;

/// CPU workers: a kernel on a number of threads.
#[derive(Clone, Debug)]
pub struct CpuBackend {
    pub kernel: Kernel,
    pub threads: usize,
    /// Hashes done, for rates.
    pub hashes: Arc<AtomicU64>,
    /// Hashes done by each thread (`threads` counters), for per-thread rates.
    pub per_thread: Vec<Arc<AtomicU64>>,
}

impl CpuBackend {
    pub fn new(kernel: Kernel, threads: usize) -> Self {
        let threads = threads.max(1);
        CpuBackend {
            kernel,
            threads,
            hashes: Arc::default(),
            per_thread: (0..threads).map(|_| Arc::default()).collect(),
        }
    }

    /// Nonces per chunk: about 0.5–1 ms of one thread's work, so a new job preempts within ~1 ms.
    pub fn chunk_size(&self) -> u32 {
        match self.kernel {
            Kernel::Avx512 | Kernel::Avx512X2 => 32 * 1024,
            Kernel::Avx512Vl | Kernel::Avx512VlX2 | Kernel::ShaNi2 | Kernel::ShaNi4 => 16 * 1024,
            Kernel::Avx2 => 8 * 1024,
            Kernel::Scalar => 2 * 1024,
        }
    }

    fn worker<T: Tag>(
        &self,
        index: usize,
        feed: Feed<'_, T>,
        abort: &AtomicBool,
        sink: &dyn FoundSink<T>,
    ) {
        let mut cache = None;
        let mut found = Vec::new();
        let size = self.chunk_size();
        let mine = self.per_thread.get(index);
        while !feed.stopped() && !abort.load(Ordering::Relaxed) {
            let Some(chunk) = feed.scheduler.next_chunk(&mut cache, size) else {
                if feed.wait_for_work() {
                    continue;
                }
                return;
            };
            found.clear();
            self.kernel
                .scan(chunk.work(), chunk.start, chunk.count, &mut found);
            let hashes = chunk.work().hashes(chunk.count as u64);
            self.hashes.fetch_add(hashes, Ordering::Relaxed);
            if let Some(mine) = mine {
                mine.fetch_add(hashes, Ordering::Relaxed);
            }
            for &f in &found {
                sink.found(&chunk, f);
            }
        }
    }
}

impl<T: Tag> Backend<T> for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }
    fn describe(&self) -> String {
        format!("{} × {}", self.kernel, self.threads)
    }
    fn hash_counter(&self) -> Arc<AtomicU64> {
        self.hashes.clone()
    }
    /// One part per worker thread, `cpu-0`, `cpu-1`, …
    fn parts(&self) -> Vec<Part> {
        self.per_thread
            .iter()
            .enumerate()
            .map(|(i, hashes)| Part {
                name: format!("cpu-{i}"),
                hashes: hashes.clone(),
            })
            .collect()
    }
    /// Runs the workers on scoped threads until `stop` is set (or, with `WhenIdle::Finish`,
    /// until the scheduler runs dry). If a thread cannot be started (the system's thread or
    /// memory limit), the ones started stop after their chunk and the error says which thread.
    fn run(&self, feed: Feed<'_, T>, sink: &dyn FoundSink<T>) -> Result<(), BackendError> {
        let abort = AtomicBool::new(false);
        let aborted = &abort;
        std::thread::scope(|scope| {
            for i in 0..self.threads {
                let started = std::thread::Builder::new()
                    .name(format!("cpu-{i}"))
                    .spawn_scoped(scope, move || self.worker(i, feed, aborted, sink));
                if let Err(e) = started {
                    abort.store(true, Ordering::Relaxed);
                    return Err(BackendError {
                        backend: "cpu",
                        reason: format!(
                            "cannot start worker thread {} of {}: {e}",
                            i + 1,
                            self.threads
                        ),
                    });
                }
            }
            Ok(())
        })
    }
}
