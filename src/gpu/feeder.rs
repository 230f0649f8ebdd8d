//! The GPU feeder: takes nonce ranges from the scheduler, keeps the GPU busy with two
//! dispatches in flight, and checks every candidate on the CPU before reporting it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::kernel::{
    Candidates, ParamsIn, Sha256dKernel, Ticket, MAX_FOUND, SLOTS, WORKGROUP_SIZE, WORKGROUP_SIZES,
};
use super::{Batch, Gpu, GpuError, Workgroup, MAX_BATCH};
use crate::backend::{Backend, BackendError, Feed, FoundSink, Part};
use crate::cpu::Kernel;
use crate::scheduler::{Chunk, Tag};
use crate::work::{Found, WorkUnit};
use crate::{Header, Target};

/// One device and its feeder's kernel.
struct Device {
    kernel: Mutex<Sha256dKernel>,
    /// The adapter's name.
    name: String,
    /// Nonces per dispatch (tuned or given).
    batch: u32,
    /// Invocations per workgroup (tuned or given), kept apart from `kernel`, whose lock the
    /// feeder holds while it runs.
    workgroup: u32,
    /// How the kernel's parameters reach the shader.
    params_in: ParamsIn,
    /// Hashes done on this device.
    hashes: Arc<AtomicU64>,
}

/// The GPU backend: one feeder thread per device, all taking ranges from the one scheduler.
pub struct GpuBackend {
    devices: Vec<Device>,
    /// The adapters' names, joined by `, `.
    pub device_name: String,
    /// Hashes done on every device, for rates.
    pub hashes: Arc<AtomicU64>,
    /// GPU candidates that the CPU re-hash contradicts (wrong early test, out of range or
    /// duplicated): a sign of a faulty device or driver. Never reported as found.
    pub hw_errors: Arc<AtomicU64>,
    /// Dispatches whose candidates overflowed the result buffer and were rescanned on the CPU.
    pub rescans: Arc<AtomicU64>,
    /// Dispatches a feeder queued while one of its rescans ran beside it: the GPU was kept fed
    /// during the CPU's work.
    pub dispatches_during_rescans: Arc<AtomicU64>,
}

/// CPU rescans one device runs beside its feeder at most; past that the feeder rescans itself
/// (the GPU then waits), so an overflow storm cannot take every core.
const MAX_CONCURRENT_RESCANS: usize = 2;

impl std::fmt::Debug for GpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuBackend")
            .field("device_name", &self.device_name)
            .field("batches", &self.batches())
            .finish_non_exhaustive()
    }
}

impl GpuBackend {
    /// Builds the kernel on `gpu` and sizes the batch (with [`Batch::Auto`], by running a few
    /// dispatches on a work unit nothing meets: about 0.1–0.5 s).
    pub fn new(gpu: &Gpu, batch: Batch) -> Result<Self, GpuError> {
        Self::on(std::slice::from_ref(gpu), batch)
    }

    /// As [`GpuBackend::new`] on each of `gpus` (at least one), each device sizing its own
    /// batch.
    pub fn on(gpus: &[Gpu], batch: Batch) -> Result<Self, GpuError> {
        Self::tuned(gpus, batch, Workgroup::Auto)
    }

    /// As [`GpuBackend::on`], each device also choosing its workgroup size as `workgroup` says.
    pub fn tuned(gpus: &[Gpu], batch: Batch, workgroup: Workgroup) -> Result<Self, GpuError> {
        assert!(!gpus.is_empty(), "a GPU backend needs a device");
        let devices = gpus
            .iter()
            .map(|gpu| {
                let real = crate::gpu::device::is_real_gpu(gpu.info.device_type);
                let (kernel, batch) = match (batch, workgroup) {
                    (Batch::Fixed(n), _) if !(1..=MAX_BATCH).contains(&n) => {
                        return Err(GpuError::Batch(n as u64))
                    }
                    (Batch::Fixed(n), Workgroup::Fixed(w)) => {
                        (Sha256dKernel::with_workgroup(gpu, w)?, n)
                    }
                    (Batch::Fixed(n), Workgroup::Auto) => (Sha256dKernel::new(gpu), n),
                    (Batch::Auto(target), Workgroup::Fixed(w)) => tune(gpu, target, &[w])?,
                    (Batch::Auto(target), Workgroup::Auto) if real => {
                        tune(gpu, target, &WORKGROUP_SIZES)?
                    }
                    (Batch::Auto(target), Workgroup::Auto) => tune(gpu, target, &[WORKGROUP_SIZE])?,
                };
                Ok(Device {
                    workgroup: kernel.workgroup(),
                    params_in: kernel.params_in(),
                    kernel: Mutex::new(kernel),
                    name: gpu.name().to_string(),
                    batch,
                    hashes: Arc::default(),
                })
            })
            .collect::<Result<Vec<_>, GpuError>>()?;
        Ok(GpuBackend {
            device_name: devices
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            devices,
            hashes: Arc::default(),
            hw_errors: Arc::default(),
            rescans: Arc::default(),
            dispatches_during_rescans: Arc::default(),
        })
    }

    /// Caps every device's candidate slots per dispatch at `limit` (see
    /// [`Sha256dKernel::limit_found`]): for tests of the overflow path. Waits for a running
    /// feeder, which holds the kernel.
    pub fn limit_found(&self, limit: u32) {
        for d in &self.devices {
            d.kernel
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .limit_found(limit);
        }
    }

    /// Nonces per dispatch of each device.
    pub fn batches(&self) -> Vec<u32> {
        self.devices.iter().map(|d| d.batch).collect()
    }

    /// Feeds the GPUs from the feed's scheduler until its `stop` is set (or, with
    /// `WhenIdle::Finish`, until the scheduler runs dry), reporting verified nonces to `sink`.
    /// One device runs on the calling thread; several run on one scoped thread each.
    ///
    /// Dispatches already queued when the work changes or `stop` is set are finished and
    /// reported. On a GPU error the ranges still in flight on that device are rescanned on the
    /// CPU, so nothing taken from the scheduler goes unscanned; the other devices go on, and
    /// the first error is returned once they are done.
    ///
    /// One device runs one feeder: a second `run` on the same backend waits for the first.
    pub fn run<T: Tag>(&self, feed: Feed<'_, T>, sink: &dyn FoundSink<T>) -> Result<(), GpuError> {
        if let [device] = self.devices.as_slice() {
            return self.feed(device, feed, sink);
        }
        let results: Vec<Result<(), GpuError>> = std::thread::scope(|scope| {
            let feeders: Vec<_> = self
                .devices
                .iter()
                .map(|device| {
                    scope.spawn(move || {
                        let result = self.feed(device, feed, sink);
                        if let Err(e) = &result {
                            tracing::warn!(
                                device = %device.name,
                                "GPU stopped: {}; the other devices go on",
                                crate::gpu::error_chain(e)
                            );
                        }
                        result
                    })
                })
                .collect();
            feeders
                .into_iter()
                .map(|f| f.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        results.into_iter().collect()
    }

    /// One device's feeder (see [`GpuBackend::run`]). A dispatch whose candidates overflowed is
    /// rescanned on the CPU beside the feeder (up to [`MAX_CONCURRENT_RESCANS`] at once), so the
    /// GPU keeps hashing meanwhile.
    fn feed<T: Tag>(
        &self,
        device: &Device,
        feed: Feed<'_, T>,
        sink: &dyn FoundSink<T>,
    ) -> Result<(), GpuError> {
        let scheduler = feed.scheduler;
        let mut kernel = device.kernel.lock().unwrap_or_else(|e| e.into_inner());
        let mut cache = None;
        // Ranges taken from the scheduler but not yet dispatched (a chunk split for an easy target).
        let mut pending: VecDeque<Chunk<T>> = VecDeque::new();
        let mut in_flight: VecDeque<(Chunk<T>, Ticket)> = VecDeque::with_capacity(SLOTS);
        std::thread::scope(|scope| {
            let mut rescans: Vec<std::thread::ScopedJoinHandle<()>> = Vec::new();
            loop {
                while in_flight.len() < SLOTS && !feed.stopped() {
                    pending.retain(|c| scheduler.is_current(&c.assignment));
                    let chunk = match pending.pop_front() {
                        Some(chunk) => chunk,
                        None => match scheduler.next_chunk(&mut cache, device.batch) {
                            Some(chunk) => {
                                pending.extend(split(chunk));
                                continue;
                            }
                            None => break,
                        },
                    };
                    let ticket = kernel.submit(chunk.work(), chunk.start, chunk.count);
                    in_flight.push_back((chunk, ticket));
                    if rescans.iter().any(|r| !r.is_finished()) {
                        self.dispatches_during_rescans
                            .fetch_add(1, Ordering::Relaxed);
                    }
                }
                if let Some((chunk, ticket)) = in_flight.pop_front() {
                    match kernel.wait(ticket) {
                        Ok(candidates) if candidates.overflowed() => {
                            self.rescans.fetch_add(1, Ordering::Relaxed);
                            rescans.retain(|r| !r.is_finished());
                            if rescans.len() < MAX_CONCURRENT_RESCANS {
                                rescans
                                    .push(scope.spawn(move || self.rescan(device, &chunk, sink)));
                            } else {
                                self.rescan(device, &chunk, sink);
                            }
                        }
                        Ok(candidates) => self.report(device, &chunk, candidates, sink),
                        Err(e) => {
                            self.rescan(device, &chunk, sink);
                            for (chunk, ticket) in in_flight.drain(..) {
                                let _ = kernel.wait(ticket);
                                self.rescan(device, &chunk, sink);
                            }
                            for chunk in pending.drain(..) {
                                self.rescan(device, &chunk, sink);
                            }
                            return Err(e);
                        }
                    }
                    continue;
                }
                if feed.stopped() || !feed.wait_for_work() {
                    return Ok(());
                }
            }
        })
    }

    /// Verifies one dispatch's candidates on the CPU and reports those that meet the target.
    fn report<T>(
        &self,
        device: &Device,
        chunk: &Chunk<T>,
        candidates: Candidates,
        sink: &dyn FoundSink<T>,
    ) {
        debug_assert!(!candidates.overflowed(), "the feeder rescans an overflow");
        let work = chunk.work();
        let mut nonces = candidates.nonces;
        nonces.sort_unstable();
        let listed = nonces.len();
        nonces.dedup();
        let mut errors = (listed - nonces.len()) as u64;
        let mut finds = Vec::new();
        for nonce in nonces {
            if !check(work, chunk, nonce, &mut finds) {
                errors += 1;
            }
        }
        for f in finds {
            sink.found(chunk, f);
        }
        if errors > 0 {
            self.hw_errors.fetch_add(errors, Ordering::Relaxed);
            tracing::warn!(
                errors,
                start = chunk.start,
                count = chunk.count,
                device = %device.name,
                "GPU candidates contradicted by the CPU re-hash (hardware errors, not reported)"
            );
        }
        self.count(device, chunk.work().hashes(chunk.count as u64));
    }

    /// Scans a chunk on the CPU with the fastest kernel this CPU has (result overflow, or the
    /// GPU failed).
    fn rescan<T>(&self, device: &Device, chunk: &Chunk<T>, sink: &dyn FoundSink<T>) {
        let mut found = Vec::new();
        Kernel::best().scan(chunk.work(), chunk.start, chunk.count, &mut found);
        for f in found {
            sink.found(chunk, f);
        }
        self.count(device, chunk.work().hashes(chunk.count as u64));
    }

    /// Counts `n` hashes done by `device`.
    fn count(&self, device: &Device, n: u64) {
        device.hashes.fetch_add(n, Ordering::Relaxed);
        self.hashes.fetch_add(n, Ordering::Relaxed);
    }
}

impl<T: Tag> Backend<T> for GpuBackend {
    fn name(&self) -> &'static str {
        "gpu"
    }
    fn describe(&self) -> String {
        let each: Vec<String> = self
            .devices
            .iter()
            .map(|d| {
                format!(
                    "{}, {} nonces per dispatch, workgroups of {}, {} parameters",
                    d.name,
                    d.batch,
                    d.workgroup,
                    d.params_in.name()
                )
            })
            .collect();
        format!("wgsl on {}", each.join("; "))
    }
    fn hash_counter(&self) -> Arc<AtomicU64> {
        self.hashes.clone()
    }
    fn hw_errors(&self) -> u64 {
        self.hw_errors.load(Ordering::Relaxed)
    }
    /// One part per device, by its adapter name.
    fn parts(&self) -> Vec<Part> {
        self.devices
            .iter()
            .map(|d| Part {
                name: d.name.clone(),
                hashes: d.hashes.clone(),
            })
            .collect()
    }
    /// As [`GpuBackend::run`]; a GPU error ends that device's feeder (its ranges in flight
    /// were rescanned on the CPU), leaving the work to the other devices and backends.
    fn run(&self, feed: Feed<'_, T>, sink: &dyn FoundSink<T>) -> Result<(), BackendError> {
        GpuBackend::run(self, feed, sink).map_err(|e| BackendError {
            backend: "gpu",
            reason: format!("{}: {}", self.device_name, crate::gpu::error_chain(&e)),
        })
    }
}

/// Checks a GPU candidate on the CPU over every version of the unit: appends what meets the full
/// 256-bit target to `finds`. False when the GPU computed it wrong: out of the dispatch's range,
/// or no version passes the early test (top 32 bits); a candidate that passes it but not the
/// full compare is legitimate.
fn check<T>(work: &WorkUnit, chunk: &Chunk<T>, nonce: u32, finds: &mut Vec<Found>) -> bool {
    if nonce.wrapping_sub(chunk.start) >= chunk.count {
        return false;
    }
    let mut candidate = false;
    for index in 0..work.versions().len() {
        let hash = work.hash_version(index, nonce);
        candidate |= (hash.to_limbs()[3] >> 32) as u32 <= work.target().top_word();
        if work.target().is_met_by(&hash) {
            finds.push(Found {
                nonce,
                version: work.versions()[index],
            });
        }
    }
    candidate
}

/// Expected early-test candidates per dispatch that [`split`] allows: a quarter of the largest
/// result buffer. The kernel sizes each dispatch's buffer from its target and count, so only a
/// target where over one nonce in 4,096 is a candidate splits a full batch (2^30 nonces).
const EXPECTED_CANDIDATES: u64 = MAX_FOUND as u64 / 4;
/// The smallest dispatch [`split`] makes, however easy the target.
const MIN_SPLIT: u64 = 4096;

/// Splits a chunk so each piece expects at most [`EXPECTED_CANDIDATES`] early-test candidates
/// (pieces of at least [`MIN_SPLIT`] nonces). Hard targets leave the chunk whole.
fn split<T>(chunk: Chunk<T>) -> Vec<Chunk<T>> {
    // A nonce passes the early test with probability (top + 1) / 2^32 per version.
    let top = chunk.work().target().top_word() as u64;
    let versions = chunk.work().versions().len() as u64;
    let size = (EXPECTED_CANDIDATES * (1u64 << 32) / ((top + 1) * versions)).max(MIN_SPLIT);
    let end = chunk.start as u64 + chunk.count as u64;
    (chunk.start as u64..end)
        .step_by(size as usize)
        .map(|start| Chunk {
            assignment: chunk.assignment.clone(),
            start: start as u32,
            count: (end - start).min(size) as u32,
        })
        .collect()
}

/// For each workgroup size of `sizes`, a kernel with its batch tuned to `target`
/// ([`autotune`]); with several, their rates at that batch are measured (two dispatches each)
/// and the fastest kernel is kept. Returns it with its batch.
pub fn tune(gpu: &Gpu, target: Duration, sizes: &[u32]) -> Result<(Sha256dKernel, u32), GpuError> {
    let mut best: Option<(Sha256dKernel, u32, f64)> = None;
    for &size in sizes {
        let mut kernel = Sha256dKernel::with_workgroup(gpu, size)?;
        let batch = autotune(&mut kernel, target)?;
        let rate = if sizes.len() > 1 {
            let work = WorkUnit::new(Header::genesis(), Target::from_limbs([0; 4]));
            let started = Instant::now();
            kernel.scan(&work, 0, batch)?;
            kernel.scan(&work, 0, batch)?;
            2.0 * batch as f64 / started.elapsed().as_secs_f64().max(1e-9)
        } else {
            0.0
        };
        tracing::debug!(device = %gpu.name(), size, batch, rate, "workgroup size measured");
        if best.as_ref().is_none_or(|b| rate > b.2) {
            best = Some((kernel, batch, rate));
        }
    }
    let (kernel, batch, _) = best.ok_or(GpuError::Workgroup(0))?;
    Ok((kernel, batch))
}

/// Doubles the batch from 2^14 nonces until a dispatch takes at least half of `target`, then
/// scales it to `target` (a multiple of the workgroup size). Uses a work unit whose target
/// nothing meets.
fn autotune(kernel: &mut Sha256dKernel, target: Duration) -> Result<u32, GpuError> {
    let work = WorkUnit::new(Header::genesis(), Target::from_limbs([0; 4]));
    let wg = kernel.workgroup();
    // The first dispatch includes the driver's shader compilation on some drivers.
    kernel.scan(&work, 0, wg * 256)?;
    let mut batch: u32 = 1 << 14;
    loop {
        let started = Instant::now();
        kernel.scan(&work, 0, batch)?;
        let took = started.elapsed();
        if took * 2 >= target || batch >= MAX_BATCH / 2 {
            let scaled = batch as f64 * target.as_secs_f64() / took.as_secs_f64().max(1e-6);
            let rounded = (scaled as u64).div_ceil(wg as u64) * wg as u64;
            return Ok(rounded.clamp(wg as u64, MAX_BATCH as u64) as u32);
        }
        batch *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::Scheduler;

    fn chunk(work: WorkUnit, start: u32, count: u32) -> Chunk<()> {
        let scheduler = Scheduler::new();
        scheduler.set_range(work, (), start, count as u64);
        scheduler.next_chunk(&mut None, count).unwrap()
    }

    /// [`check`]'s verdict and what it reported.
    fn checked(work: &WorkUnit, c: &Chunk<()>, nonce: u32) -> (bool, Vec<Found>) {
        let mut finds = Vec::new();
        let ok = check(work, c, nonce, &mut finds);
        (ok, finds)
    }

    #[test]
    fn candidates_are_checked_on_the_cpu() {
        // Genesis: nonce 2083236893 meets its own target; its neighbours fail the early test.
        let header = Header::genesis();
        let target = Target::from_compact(header.bits).unwrap();
        let work = WorkUnit::new(header, target);
        let c = chunk(work.clone(), 2_083_236_000, 1000);
        let genesis = Found {
            nonce: 2_083_236_893,
            version: 1,
        };
        assert_eq!(checked(&work, &c, 2_083_236_893), (true, vec![genesis]));
        assert_eq!(checked(&work, &c, 2_083_236_894), (false, vec![]));
        assert!(!checked(&work, &c, 2_083_235_999).0, "out of range");
        assert!(!checked(&work, &c, 2_083_237_000).0, "out of range");
        // A target whose top word the genesis hash meets but whose lower bits it does not: a
        // legitimate candidate, nothing to report.
        let near = WorkUnit::new(header, Target::from_limbs([0, 0, 0, 0]));
        let c = chunk(near.clone(), 2_083_236_000, 1000);
        assert_eq!(checked(&near, &c, 2_083_236_893), (true, vec![]));
        // Rolled: every version is checked, and the one that meets is reported with its version.
        let rolled = WorkUnit::rolled(header, target, &[0x2000_0000, 1, 0x2000_4000]);
        let c = chunk(rolled.clone(), 2_083_236_000, 1000);
        assert_eq!(checked(&rolled, &c, 2_083_236_893), (true, vec![genesis]));
        assert_eq!(checked(&rolled, &c, 2_083_236_894), (false, vec![]));
    }

    #[test]
    fn split_keeps_expected_candidates_low() {
        // Every nonce a candidate: pieces of a quarter of the largest result buffer.
        let pieces = split(chunk(
            WorkUnit::new(Header::genesis(), Target::MAX),
            10,
            1_000_000,
        ));
        assert_eq!(pieces.first().map(|c| c.start), Some(10));
        assert!(pieces.iter().all(|c| c.count as u64 <= EXPECTED_CANDIDATES));
        assert!(pieces
            .windows(2)
            .all(|w| w[0].start + w[0].count == w[1].start));
        assert_eq!(
            pieces.iter().map(|c| c.count as u64).sum::<u64>(),
            1_000_000
        );
        // An easy share target (one nonce in 256) leaves a whole batch whole.
        let easy = Target::from_limbs([u64::MAX, u64::MAX, u64::MAX, 0x00ff_ffff_ffff_ffff]);
        let pieces = split(chunk(WorkUnit::new(Header::genesis(), easy), 0, 1 << 26));
        assert_eq!(pieces.len(), 1);
        // A real target leaves the chunk whole, also at the top of the nonce space.
        let hard = WorkUnit::new(Header::genesis(), Target::DIFF1);
        let pieces = split(chunk(hard, u32::MAX - 999, 1000));
        assert_eq!(
            pieces
                .iter()
                .map(|c| (c.start, c.count))
                .collect::<Vec<_>>(),
            [(u32::MAX - 999, 1000)]
        );
    }
}
