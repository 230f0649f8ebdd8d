//! `Scheduler`: hands disjoint nonce ranges of the current work to every backend.
//!
//! Work arrives as a sequence of work units (each 2^32 nonces at most). A scan sets one
//! range; a miner sets a source that makes the next unit (next extranonce2 or version
//! bits) when one is used up. Workers take chunks sized to their speed; a chunk never
//! spans two units. Replacing the work bumps the generation, which workers check between
//! chunks, so a new job preempts them within one chunk.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::work::WorkUnit;

/// What the owner of the work attaches to a unit (e.g. the job and extranonce2 it was built from),
/// handed back with every chunk.
pub type Tag = Arc<dyn Any + Send + Sync>;

/// Makes the next work unit of the current job, or `None` when the job has no more.
pub type WorkSource = Box<dyn FnMut() -> Option<(WorkUnit, Option<Tag>)> + Send>;

/// One work unit being handed out.
pub struct Unit {
    /// Unique for the scheduler's lifetime; identifies the unit a found nonce belongs to.
    pub id: u64,
    /// The generation this unit belongs to.
    pub generation: u64,
    pub work: Arc<WorkUnit>,
    /// The tag the work source attached.
    pub tag: Option<Tag>,
    cursor: AtomicU64,
    end: u64,
}

/// A range of nonces of one unit, for one worker.
#[derive(Clone, Debug)]
pub struct Chunk {
    pub unit: Arc<Unit>,
    pub start: u32,
    pub count: u32,
}

impl Chunk {
    pub fn work(&self) -> &WorkUnit {
        &self.unit.work
    }
}

#[derive(Default)]
struct Current {
    unit: Option<Arc<Unit>>,
    source: Option<WorkSource>,
    next_id: u64,
}

/// The shared nonce-range dispenser.
#[derive(Default)]
pub struct Scheduler {
    current: Mutex<Current>,
    generation: AtomicU64,
}

impl Scheduler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the work with the single range `[start, start + count)` of `work` (`start + count`
    /// must not exceed 2^32).
    pub fn set_range(&self, work: WorkUnit, start: u32, count: u64) {
        assert!(start as u64 + count <= 1 << 32, "nonce range past 2^32");
        let mut cur = self.current.lock().unwrap();
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        cur.source = None;
        cur.unit = Some(Self::make_unit(
            &mut cur.next_id,
            generation,
            (work, None),
            start as u64,
            start as u64 + count,
        ));
    }

    /// Replaces the work with an endless sequence of full units from `source`.
    pub fn set_source(&self, mut source: WorkSource) {
        let mut cur = self.current.lock().unwrap();
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        cur.unit = source().map(|w| Self::make_unit(&mut cur.next_id, generation, w, 0, 1 << 32));
        cur.source = Some(source);
    }

    /// Withdraws all work: workers stop at their next chunk boundary.
    pub fn clear(&self) {
        let mut cur = self.current.lock().unwrap();
        self.generation.fetch_add(1, Ordering::AcqRel);
        cur.unit = None;
        cur.source = None;
    }

    /// The current generation; it changes whenever the work is replaced.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether a unit still belongs to the current work.
    pub fn is_current(&self, unit: &Unit) -> bool {
        unit.generation == self.generation()
    }

    /// Takes up to `size` nonces of the current work. `cache` holds the worker's current unit so
    /// the common case is one atomic add. `None` when there is no work left.
    pub fn next_chunk(&self, cache: &mut Option<Arc<Unit>>, size: u32) -> Option<Chunk> {
        let size = size.max(1) as u64;
        loop {
            if let Some(unit) = cache.as_ref().filter(|u| self.is_current(u)) {
                let start = unit.cursor.fetch_add(size, Ordering::Relaxed);
                if start < unit.end {
                    let count = size.min(unit.end - start) as u32;
                    return Some(Chunk {
                        unit: unit.clone(),
                        start: start as u32,
                        count,
                    });
                }
            }
            // The cached unit is stale or used up: look at (and maybe advance) the current one.
            let mut cur = self.current.lock().unwrap();
            let exhausted = cur
                .unit
                .as_ref()
                .is_some_and(|u| u.cursor.load(Ordering::Relaxed) >= u.end);
            if exhausted {
                let generation = self.generation();
                let next = cur.source.as_mut().and_then(|s| s());
                cur.unit =
                    next.map(|w| Self::make_unit(&mut cur.next_id, generation, w, 0, 1 << 32));
            }
            *cache = Some(cur.unit.clone()?);
        }
    }

    fn make_unit(
        next_id: &mut u64,
        generation: u64,
        (work, tag): (WorkUnit, Option<Tag>),
        start: u64,
        end: u64,
    ) -> Arc<Unit> {
        *next_id += 1;
        Arc::new(Unit {
            id: *next_id,
            generation,
            work: Arc::new(work),
            tag,
            cursor: AtomicU64::new(start),
            end,
        })
    }
}

impl std::fmt::Debug for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unit")
            .field("id", &self.id)
            .field("generation", &self.generation)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}
