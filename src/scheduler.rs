//! `Scheduler`: hands disjoint nonce ranges of the current work to every backend.
//!
//! Work arrives as a sequence of work units (each 2^32 nonces at most), each with a tag of the
//! owner's type `T` (for the miner: the job and extranonce2 it was built from). A scan sets one
//! range; a miner sets a source that makes the next unit (next extranonce2 or version bits)
//! when one is used up. Backends take chunks sized to their speed; a chunk never spans two
//! units. Replacing the work bumps the generation, which backends check between chunks, so a
//! new job preempts them within one chunk.
//!
//! [`Scheduler::pause`] holds the work back: no chunk is handed out until
//! [`Scheduler::resume`], so every backend stops after the chunk it is on (about 1 ms on a CPU
//! thread, the dispatches in flight on a GPU) and goes on with the same work when resumed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::work::WorkUnit;

/// What the owner of the work may attach to a unit: any value the backend threads can share.
pub trait Tag: Send + Sync + 'static {}
impl<T: Send + Sync + 'static> Tag for T {}

/// Makes the next work unit of the current job with its tag, or `None` when the job has no more.
pub type WorkSource<T> = Box<dyn FnMut() -> Option<(WorkUnit, T)> + Send>;

/// One work unit as the scheduler hands it out: the unit, its tag, and how far it is taken.
pub struct Assignment<T> {
    /// Unique for the scheduler's lifetime; identifies the unit a found nonce belongs to.
    pub id: u64,
    /// The generation this unit belongs to.
    pub generation: u64,
    /// The work unit.
    pub work: Arc<WorkUnit>,
    /// The tag the work's owner attached.
    pub tag: T,
    cursor: AtomicU64,
    end: u64,
}

/// A range of nonces of one unit, for one backend.
pub struct Chunk<T> {
    /// The unit the range belongs to.
    pub assignment: Arc<Assignment<T>>,
    /// First nonce.
    pub start: u32,
    /// Number of nonces.
    pub count: u32,
}

impl<T> Clone for Chunk<T> {
    fn clone(&self) -> Self {
        Chunk {
            assignment: self.assignment.clone(),
            start: self.start,
            count: self.count,
        }
    }
}

impl<T> Chunk<T> {
    /// The work unit the range belongs to.
    pub fn work(&self) -> &WorkUnit {
        &self.assignment.work
    }

    /// The tag of its unit.
    pub fn tag(&self) -> &T {
        &self.assignment.tag
    }
}

struct Current<T> {
    assignment: Option<Arc<Assignment<T>>>,
    source: Option<WorkSource<T>>,
    next_id: u64,
}

/// The shared nonce-range dispenser, for work tagged with `T` (`()` when nothing is attached).
pub struct Scheduler<T = ()> {
    current: Mutex<Current<T>>,
    generation: AtomicU64,
    paused: AtomicBool,
}

impl<T: Tag> Default for Scheduler<T> {
    fn default() -> Self {
        Scheduler {
            current: Mutex::new(Current {
                assignment: None,
                source: None,
                next_id: 0,
            }),
            generation: AtomicU64::new(0),
            paused: AtomicBool::new(false),
        }
    }
}

impl<T: Tag> Scheduler<T> {
    /// A scheduler with no work: backends wait (or finish) until work is set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the work with the single range `[start, start + count)` of `work`.
    ///
    /// # Panics
    /// If `start + count` exceeds 2^32 (checked without wrapping, for any `count`).
    pub fn set_range(&self, work: WorkUnit, tag: T, start: u32, count: u64) {
        let Some(end) = (start as u64)
            .checked_add(count)
            .filter(|&end| end <= 1 << 32)
        else {
            panic!("nonce range past 2^32: start {start}, count {count}");
        };
        let mut cur = self.current.lock().unwrap();
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        cur.source = None;
        cur.assignment = Some(Self::assign(
            &mut cur.next_id,
            generation,
            (work, tag),
            start as u64,
            end,
        ));
    }

    /// Replaces the work with an endless sequence of full units from `source`.
    pub fn set_source(&self, mut source: WorkSource<T>) {
        let mut cur = self.current.lock().unwrap();
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        cur.assignment =
            source().map(|w| Self::assign(&mut cur.next_id, generation, w, 0, 1 << 32));
        cur.source = Some(source);
    }

    /// Withdraws all work: backends stop at their next chunk boundary.
    pub fn clear(&self) {
        let mut cur = self.current.lock().unwrap();
        self.generation.fetch_add(1, Ordering::AcqRel);
        cur.assignment = None;
        cur.source = None;
    }

    /// Holds the work back: [`Scheduler::next_chunk`] hands out nothing until
    /// [`Scheduler::resume`]. The work itself is kept (and may still be replaced), so nothing
    /// found meanwhile goes stale because of the pause. Backends that wait for work
    /// ([`WhenIdle::Wait`](crate::backend::WhenIdle)) stay idle; a scan
    /// ([`WhenIdle::Finish`](crate::backend::WhenIdle)) would end, so only miners pause.
    pub fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
    }

    /// Hands out chunks again after [`Scheduler::pause`].
    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }

    /// Whether [`Scheduler::pause`] is in force.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    /// The current generation; it changes whenever the work is replaced.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether a unit still belongs to the current work.
    pub fn is_current(&self, assignment: &Assignment<T>) -> bool {
        assignment.generation == self.generation()
    }

    /// Takes up to `size` nonces of the current work. `cache` holds the backend's current unit
    /// so the common case is one atomic add. `None` when there is no work left, or while
    /// paused.
    pub fn next_chunk(
        &self,
        cache: &mut Option<Arc<Assignment<T>>>,
        size: u32,
    ) -> Option<Chunk<T>> {
        if self.is_paused() {
            return None;
        }
        let size = size.max(1) as u64;
        loop {
            if let Some(a) = cache.as_ref().filter(|a| self.is_current(a)) {
                let start = a.cursor.fetch_add(size, Ordering::Relaxed);
                if start < a.end {
                    let count = size.min(a.end - start) as u32;
                    return Some(Chunk {
                        assignment: a.clone(),
                        start: start as u32,
                        count,
                    });
                }
            }
            // The cached unit is stale or used up: look at (and maybe advance) the current one.
            let mut cur = self.current.lock().unwrap();
            let exhausted = cur
                .assignment
                .as_ref()
                .is_some_and(|a| a.cursor.load(Ordering::Relaxed) >= a.end);
            if exhausted {
                let generation = self.generation();
                let next = cur.source.as_mut().and_then(|s| s());
                cur.assignment =
                    next.map(|w| Self::assign(&mut cur.next_id, generation, w, 0, 1 << 32));
            }
            *cache = Some(cur.assignment.clone()?);
        }
    }

    fn assign(
        next_id: &mut u64,
        generation: u64,
        (work, tag): (WorkUnit, T),
        start: u64,
        end: u64,
    ) -> Arc<Assignment<T>> {
        *next_id += 1;
        Arc::new(Assignment {
            id: *next_id,
            generation,
            work: Arc::new(work),
            tag,
            cursor: AtomicU64::new(start),
            end,
        })
    }
}

impl<T> std::fmt::Debug for Assignment<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assignment")
            .field("id", &self.id)
            .field("generation", &self.generation)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

impl<T> std::fmt::Debug for Chunk<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunk")
            .field("assignment", &self.assignment.id)
            .field("start", &self.start)
            .field("count", &self.count)
            .finish()
    }
}
