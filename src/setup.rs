//! From backend options to running backends: the one place that checks a kernel against this
//! CPU (or measures which is fastest), picks thread counts, opens the GPU and tunes its batch.
//! `scan`, `bench` and `mine` all build their backends here.

use std::sync::Arc;
use std::time::Duration;

use crate::backend::Backend;
use crate::cpu::{Calibration, CpuBackend, Kernel};
use crate::gpu::{AdapterChoice, Batch, Workgroup};
#[cfg(feature = "gpu")]
use crate::gpu::{Gpu, GpuBackend, GpuError};
use crate::scheduler::Tag;
use crate::Error;

/// How long `auto` may spend timing the kernels at start-up.
pub const CALIBRATION_BUDGET: Duration = Duration::from_millis(300);

/// Which hashing backends to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BackendKind {
    /// The CPU workers, plus the GPU when this machine has a real one (not a CPU rasteriser
    /// such as lavapipe), as [`All`](BackendKind::All) does; else the CPU alone.
    Auto,
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
    /// Invocations per GPU workgroup.
    pub gpu_workgroup: Workgroup,
}

/// The backends built from [`BackendOptions`].
#[derive(Debug)]
pub struct Backends {
    /// The CPU workers, unless only the GPU runs.
    pub cpu: Option<Arc<CpuBackend>>,
    /// The GPU feeder, unless only the CPU runs.
    #[cfg(feature = "gpu")]
    pub gpu: Option<Arc<GpuBackend>>,
    /// With [`KernelChoice::Auto`], the measurement that chose the kernel.
    pub calibration: Option<Calibration>,
    /// With [`BackendKind::Auto`], what it chose and why, e.g. `the CPU alone: the only
    /// adapter, llvmpipe, is a CPU rasteriser`.
    pub auto: Option<String>,
}

impl Backends {
    /// What hashes, for people and the API: the CPU kernel's name, `wgsl` for the GPU, both
    /// joined by `+` (e.g. `sha-ni-x4+wgsl`).
    pub fn kernel_name(&self) -> String {
        let cpu = self.cpu.as_ref().map(|c| c.kernel.name());
        #[cfg(feature = "gpu")]
        let gpu = self.gpu.as_ref().map(|_| "wgsl");
        #[cfg(not(feature = "gpu"))]
        let gpu = None;
        cpu.into_iter().chain(gpu).collect::<Vec<_>>().join("+")
    }

    /// GPU candidates the CPU re-hash contradicted (0 without a GPU).
    pub fn gpu_hw_errors(&self) -> u64 {
        #[cfg(feature = "gpu")]
        if let Some(gpu) = &self.gpu {
            return gpu.hw_errors.load(std::sync::atomic::Ordering::Relaxed);
        }
        0
    }

    /// CPU worker threads (0 when only the GPU runs).
    pub fn cpu_threads(&self) -> usize {
        self.cpu.as_ref().map_or(0, |c| c.threads)
    }

    /// Checks the options and builds the backends (GPU: adapter opened, shader compiled, batch
    /// tuned), so that nothing is left to fail once hashing starts.
    pub fn build(options: &BackendOptions) -> Result<Self, Error> {
        if options.kind == BackendKind::Auto {
            return Self::build_auto(options);
        }
        if !cfg!(feature = "gpu") && options.kind != BackendKind::Cpu {
            return Err(Error::NoGpuSupport);
        }
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
        Ok(Backends {
            cpu,
            #[cfg(feature = "gpu")]
            gpu: match options.kind {
                BackendKind::Cpu => None,
                _ => Some(Arc::new(gpu(
                    &options.gpu,
                    options.gpu_batch,
                    options.gpu_workgroup,
                )?)),
            },
            calibration,
            auto: None,
        })
    }

    /// [`BackendKind::Auto`]: CPU and GPU when a real GPU opens, else the CPU alone, saying why.
    fn build_auto(options: &BackendOptions) -> Result<Self, Error> {
        #[cfg(feature = "gpu")]
        let gpu = auto_gpu(&options.gpu, options.gpu_batch, options.gpu_workgroup);
        #[cfg(not(feature = "gpu"))]
        let gpu: Result<(std::convert::Infallible, String), String> =
            Err(Error::NoGpuSupport.to_string());
        let mut built = Self::build(&BackendOptions {
            kind: BackendKind::Cpu,
            threads: Some(threads(options.threads, gpu.is_ok())?),
            ..options.clone()
        })?;
        match gpu {
            #[cfg(feature = "gpu")]
            Ok((gpu, text)) => {
                built.auto = Some(text);
                built.gpu = Some(Arc::new(gpu));
            }
            #[cfg(not(feature = "gpu"))]
            Ok((never, _)) => match never {},
            Err(why) => built.auto = Some(format!("the CPU alone: {why}")),
        }
        Ok(built)
    }

    /// Every backend built, CPU first, for a [`Runner`](crate::runner::Runner).
    pub fn list<T: Tag>(&self) -> Vec<Arc<dyn Backend<T>>> {
        let mut v: Vec<Arc<dyn Backend<T>>> = Vec::new();
        if let Some(cpu) = &self.cpu {
            v.push(cpu.clone());
        }
        #[cfg(feature = "gpu")]
        if let Some(gpu) = &self.gpu {
            v.push(gpu.clone());
        }
        v
    }
}

#[cfg(feature = "gpu")]
/// The GPUs [`BackendKind::Auto`] adds to the CPU: those `--gpu` names, whatever their kind, or
/// else every real GPU (one feeder each). A device that does not open is left out, and said
/// so in the `Ok` text; `Err` says why there is no GPU at all.
pub fn auto_gpu(
    choice: &AdapterChoice,
    batch: Batch,
    workgroup: Workgroup,
) -> Result<(GpuBackend, String), String> {
    use crate::gpu::device;
    let adapters = device::list();
    let chosen = match choice {
        AdapterChoice::Preferred => match device::real_gpus(&adapters) {
            real if real.is_empty() => {
                return Err(match adapters.as_slice() {
                    [] => "no GPU adapter".to_string(),
                    [only] if only.device_type == wgpu::DeviceType::Cpu => {
                        format!("the only adapter, {}, is a CPU rasteriser", only.name)
                    }
                    all => format!(
                        "no adapter is a GPU ({})",
                        all.iter()
                            .map(|a| format!("{}: {:?}", a.name, a.device_type))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
            }
            real => real,
        },
        choice => device::select(choice, &adapters).map_err(|e| e.to_string())?,
    };
    let mut failed = Vec::new();
    let gpus: Vec<Gpu> = chosen
        .iter()
        .zip(Gpu::open_each(&chosen))
        .filter_map(|(&i, opened)| match opened {
            Ok(gpu) => Some(gpu),
            Err(e) => {
                failed.push(format!("{} did not open ({e})", adapters[i].name));
                None
            }
        })
        .collect();
    if gpus.is_empty() {
        return Err(format!("the GPU {}", failed.join("; ")));
    }
    let backend = GpuBackend::tuned(&gpus, batch, workgroup)
        .map_err(|e| format!("the GPU failed to start ({e})"))?;
    let mut text = match gpus.len() {
        1 => format!("the CPU and the GPU {}", backend.device_name),
        n => format!("the CPU and {n} GPUs: {}", backend.device_name),
    };
    if !failed.is_empty() {
        text.push_str(&format!(" (left out: {})", failed.join("; ")));
    }
    Ok((backend, text))
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

#[cfg(feature = "gpu")]
/// Opens the chosen adapters and builds the GPU backend, one feeder per device (tuning each
/// batch unless given).
pub fn gpu(
    choice: &AdapterChoice,
    batch: Batch,
    workgroup: Workgroup,
) -> Result<GpuBackend, GpuError> {
    GpuBackend::tuned(&Gpu::open_all(choice)?, batch, workgroup)
}
