//! The CPU workers and the GPU feeder together, sharing one scheduler.

use std::sync::atomic::AtomicBool;

use super::{GpuBackend, GpuError};
use crate::cpu::{CpuBackend, FoundSink, WhenIdle};
use crate::scheduler::Scheduler;

/// Runs `cpu`'s workers and `gpu`'s feeder (on its own thread) until `stop` is set or, with
/// `WhenIdle::Finish`, until the scheduler runs dry. Both take their ranges from `scheduler`,
/// so together they scan every nonce exactly once.
///
/// The feeder keeps one CPU thread busy (submitting, verifying candidates): give the CPU backend
/// one thread fewer than the cores. If the GPU fails, the CPU workers go on (its ranges in flight
/// are rescanned on the CPU) and the error is returned when they are done.
pub fn run_all(
    cpu: &CpuBackend,
    gpu: &GpuBackend,
    scheduler: &Scheduler,
    stop: &AtomicBool,
    idle: WhenIdle,
    sink: &dyn FoundSink,
) -> Result<(), GpuError> {
    std::thread::scope(|scope| {
        let feeder = std::thread::Builder::new()
            .name("gpu-feeder".into())
            .spawn_scoped(scope, || gpu.run(scheduler, stop, idle, sink))
            .expect("spawning the GPU feeder thread");
        cpu.run(scheduler, stop, idle, sink);
        feeder
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
