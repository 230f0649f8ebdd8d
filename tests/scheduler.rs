//! The scheduler hands out disjoint chunks that tile the range exactly, across threads, and moves
//! every worker to new work when the work is replaced.

use std::sync::{Arc, Mutex};

use hashforge::scheduler::Scheduler;
use hashforge::{Header, Target, WorkUnit};

fn work(time: u32) -> WorkUnit {
    let mut h = Header::genesis();
    h.time = time;
    WorkUnit::new(h, Target::MAX)
}

#[test]
fn chunks_tile_the_range_without_overlap_or_gap() {
    let sched = Scheduler::new();
    let (start, count) = (u32::MAX - 1_000_000, 1_000_001u64);
    sched.set_range(work(1), (), start, count);
    let taken = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for size in [1000u32, 4096, 777] {
            let (sched, taken) = (&sched, &taken);
            s.spawn(move || {
                let mut cache = None;
                while let Some(c) = sched.next_chunk(&mut cache, size) {
                    taken.lock().unwrap().push((c.start as u64, c.count as u64));
                }
            });
        }
    });
    let mut taken = taken.into_inner().unwrap();
    taken.sort();
    let mut next = start as u64;
    for (s, c) in taken {
        assert_eq!(s, next, "gap or overlap at {s}");
        next = s + c;
    }
    assert_eq!(next, 1 << 32);
}

#[test]
fn a_source_supplies_successive_units_and_new_work_preempts() {
    let sched = Scheduler::new();
    let made = Arc::new(Mutex::new(0u32));
    let m = made.clone();
    sched.set_source(Box::new(move || {
        let mut n = m.lock().unwrap();
        *n += 1;
        Some((work(*n), ()))
    }));
    let mut cache = None;
    let first = sched.next_chunk(&mut cache, u32::MAX).unwrap();
    assert_eq!((first.start, first.count), (0, u32::MAX));
    let rest = sched.next_chunk(&mut cache, 10).unwrap();
    assert_eq!(
        (rest.start, rest.count, rest.assignment.id),
        (u32::MAX, 1, first.assignment.id)
    );
    let second = sched.next_chunk(&mut cache, 10).unwrap();
    assert_ne!(second.assignment.id, first.assignment.id);
    assert_eq!(second.work().header().time, 2);
    assert_eq!(second.start, 0);

    sched.set_range(work(99), (), 5, 10);
    assert!(!sched.is_current(&second.assignment));
    let c = sched.next_chunk(&mut cache, 100).unwrap();
    assert_eq!((c.work().header().time, c.start, c.count), (99, 5, 10));
    assert!(sched.next_chunk(&mut cache, 100).is_none());
    sched.clear();
    assert!(sched.next_chunk(&mut cache, 100).is_none());
}

/// A count that would wrap `start + count` is refused, not taken for a short range.
#[test]
#[should_panic(expected = "nonce range past 2^32")]
fn a_range_that_would_wrap_is_refused() {
    Scheduler::new().set_range(work(1), (), 1, u64::MAX);
}

#[test]
fn a_pause_hands_out_nothing_and_resume_goes_on_where_it_stopped() {
    let sched = Scheduler::new();
    sched.set_range(work(1), (), 0, 10_000);
    let mut cache = None;
    let first = sched.next_chunk(&mut cache, 1000).unwrap();
    assert_eq!((first.start, first.count), (0, 1000));
    sched.pause();
    assert!(sched.is_paused());
    assert!(sched.next_chunk(&mut cache, 1000).is_none());
    assert!(sched.next_chunk(&mut None, 1000).is_none());
    // The work stays current: what was found in it is still good.
    assert!(sched.is_current(&first.assignment));
    sched.resume();
    let next = sched.next_chunk(&mut cache, 1000).unwrap();
    assert_eq!((next.start, next.count), (1000, 1000));
}
