//! From backend options to running backends: the one place that checks a kernel against this
//! CPU (or measures which is fastest), picks thread counts, opens the GPU and tunes its batch.
//! `scan`, `bench` and `mine` all build their backends here.

use std::sync::Arc;
use std::time::Duration;

use crate::backend::Backend;
use crate::cpu::{Calibration, CpuBackend, Kernel};
use crate::gpu::{AdapterChoice, Batch, Gpu, GpuBackend, GpuError};
use crate::scheduler::Tag;
use crate::Error;

/// How long `auto` may spend timing the kernels at start-up.
pub const CALIBRATION_BUDGET: Duration = Duration::from_millis(300);

/// Which hashing backends to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BackendKind {
    /// CPU worker threads.
    #[default]
    Cpu,
    /// The WGSL compute shader on one GPU adapter.
    Gpu,
    /// CPU workers and the GPU at once, from one scheduler (CPU threads default to cores - 1).
    All,
}

/// The CPU kernel asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KernelChoice {
    /// The fastest kernel this CPU supports, measured for [`CALIBRATION_BUDGET`].
    #[default]
    Auto,
    /// This kernel (refused if the CPU lacks its features).
    Named(Kernel),
}

impl std::str::FromStr for KernelChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "auto" => Ok(KernelChoice::Auto),
            name => Ok(KernelChoice::Named(name.parse()?)),
        }
    }
}

/// Everything that decides the backends.
#[derive(Clone, Debug, Default)]
pub struct BackendOptions {
    /// Which backends.
    pub kind: BackendKind,
    /// The CPU kernel.
    pub kernel: KernelChoice,
    /// CPU worker threads (`None`: every core, one fewer beside the GPU).
    pub threads: Option<usize>,
    /// The GPU adapter.
    pub gpu: AdapterChoice,
    /// Nonces per GPU dispatch.
    pub gpu_batch: Batch,
}

/// The backends built from [`BackendOptions`].
#[derive(Debug)]
pub struct Backends {
    /// The CPU workers, unless only the GPU runs.
    pub cpu: Option<Arc<CpuBackend>>,
    /// The GPU feeder, unless only the CPU runs.
    pub gpu: Option<Arc<GpuBackend>>,
    /// With [`KernelChoice::Auto`], the measurement that chose the kernel.
    pub calibration: Option<Calibration>,
}

impl Backends {
    /// What hashes, for people and the API: the CPU kernel's name, `wgsl` for the GPU, both
    /// joined by `+` (e.g. `sha-ni-x4+wgsl`).
    pub fn kernel_name(&self) -> String {
        let cpu = self.cpu.as_ref().map(|c| c.kernel.name());
        let gpu = self.gpu.as_ref().map(|_| "wgsl");
        cpu.into_iter().chain(gpu).collect::<Vec<_>>().join("+")
    }

    /// CPU worker threads (0 when only the GPU runs).
    pub fn cpu_threads(&self) -> usize {
        self.cpu.as_ref().map_or(0, |c| c.threads)
    }

    /// Checks the options and builds the backends (GPU: adapter opened, shader compiled, batch
    /// tuned), so that nothing is left to fail once hashing starts.
    pub fn build(options: &BackendOptions) -> Result<Self, Error> {
        let (cpu, calibration) = match options.kind {
            BackendKind::Gpu => (None, None),
            kind => {
                let threads = threads(options.threads, kind == BackendKind::All)?;
                let (kernel, calibration) = kernel(options.kernel)?;
                (
                    Some(Arc::new(CpuBackend::new(kernel, threads))),
                    calibration,
                )
            }
        };
        let gpu = match options.kind {
            BackendKind::Cpu => None,
            _ => Some(Arc::new(gpu(&options.gpu, options.gpu_batch)?)),
        };
        Ok(Backends {
            cpu,
            gpu,
            calibration,
        })
    }

    /// Every backend built, CPU first, for a [`Runner`](crate::runner::Runner).
    pub fn list<T: Tag>(&self) -> Vec<Arc<dyn Backend<T>>> {
        let mut v: Vec<Arc<dyn Backend<T>>> = Vec::new();
        if let Some(cpu) = &self.cpu {
            v.push(cpu.clone());
        }
        if let Some(gpu) = &self.gpu {
            v.push(gpu.clone());
        }
        v
    }
}

/// The kernel asked for (checked against this CPU), or with `auto` the fastest one, measured.
pub fn kernel(choice: KernelChoice) -> Result<(Kernel, Option<Calibration>), Error> {
    match choice {
        KernelChoice::Named(kernel) => Ok((kernel.checked()?, None)),
        KernelChoice::Auto => {
            let calibration = Calibration::run(CALIBRATION_BUDGET);
            Ok((calibration.kernel, Some(calibration)))
        }
    }
}

/// The thread count asked for, or every core (beside the GPU: every core but the one its feeder
/// keeps busy).
pub fn threads(threads: Option<usize>, beside_gpu: bool) -> Result<usize, Error> {
    let cores = || std::thread::available_parallelism().map_or(1, |n| n.get());
    match threads {
        Some(0) => Err(Error::Threads),
        Some(n) => Ok(n),
        None if beside_gpu => Ok(cores().saturating_sub(1).max(1)),
        None => Ok(cores()),
    }
}

/// Opens the chosen adapter and builds the GPU backend (tuning the batch unless given).
pub fn gpu(choice: &AdapterChoice, batch: Batch) -> Result<GpuBackend, GpuError> {
    GpuBackend::new(&Gpu::open(choice)?, batch)
}
