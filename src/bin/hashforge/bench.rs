//! `hashforge bench`: hash rates on a fixed work unit whose target nothing meets.

use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use super::cli::{BackendChoice, BenchArgs};
use hashforge::backend::{Backend, WhenIdle};
use hashforge::cpu::{CpuBackend, Kernel};
#[cfg(feature = "gpu")]
use hashforge::gpu::GpuBackend;
use hashforge::runner::Runner;
use hashforge::scheduler::{Chunk, Scheduler};
use hashforge::setup::{self, BackendKind, KernelChoice};
use hashforge::units::format_rate;
use hashforge::WorkUnit;
use std::sync::Arc;

/// One measured rate, as printed by `--json`.
#[derive(Serialize, Debug)]
pub struct Measurement {
    pub backend: &'static str,
    pub kernel: String,
    pub threads: usize,
    pub hashes: u64,
    pub seconds: f64,
    /// Hashes per second.
    pub hashrate: f64,
    /// Rate per thread ÷ the reference rate, when the reference was measured (CPU only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// The GPU adapter's name (GPU and `all` measurements).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Versions hashed per nonce: more than 1 on the rolled unit of `--version-rolling`.
    #[serde(skip_serializing_if = "is_one")]
    pub versions: usize,
    /// With `--version-rolling`, on the rolled row: its rate ÷ the plain row's, same run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vs_plain: Option<f64>,
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

/// With `--version-rolling`, how many times the plain and the rolled unit are each measured,
/// in turns of `--seconds` ÷ [`ROLLING_TURNS_PER_SECOND`], so that a change of load or clock
/// during the run hits both alike; the ratio is the median of the rounds' ratios, so that a
/// burst of load from another process during one turn does not decide it.
const ROLLING_ROUNDS: u32 = 8;

/// Each form gets `--seconds` × [`ROLLING_ROUNDS`] ÷ this in all (twice `--seconds`).
const ROLLING_TURNS_PER_SECOND: u32 = 4;

pub fn run(args: BenchArgs) -> Result<()> {
    let requested = args.backends.backend;
    if args.sweep && !matches!(requested, BackendChoice::Cpu | BackendChoice::Auto) {
        bail!("--sweep measures the CPU kernels: use it with --backend cpu");
    }
    if args.version_rolling && (args.sweep || requested == BackendChoice::All) {
        bail!("--version-rolling compares one backend with itself: use it with --backend cpu or gpu, without --sweep");
    }
    // The kernel first, so that a bad name is the only line.
    let kernels = match (requested, args.backends.cpu.kernel.as_str()) {
        (BackendChoice::Gpu, _) => Vec::new(),
        (_, "all") => Kernel::supported(),
        (_, "auto") if args.sweep => Kernel::supported(),
        (_, name) => {
            let mut options = super::backend_options(&args.backends)?;
            options.kind = BackendKind::Cpu;
            options.kernel = name.parse::<KernelChoice>()?;
            let built = super::build_backends(&options)?;
            vec![built.cpu.expect("a CPU backend was asked for").kernel]
        }
    };
    // `auto` is `all` when a real GPU opens, else `cpu` (and always `cpu` for a sweep).
    #[cfg(not(feature = "gpu"))]
    let choice = match requested {
        BackendChoice::Auto if args.sweep => BackendChoice::Cpu,
        BackendChoice::Auto => {
            eprintln!(
                "backend auto: the CPU alone: {}",
                hashforge::Error::NoGpuSupport
            );
            BackendChoice::Cpu
        }
        BackendChoice::Cpu => BackendChoice::Cpu,
        BackendChoice::Gpu | BackendChoice::All => bail!(hashforge::Error::NoGpuSupport),
    };
    #[cfg(feature = "gpu")]
    let (choice, auto_gpu) = match requested {
        BackendChoice::Auto if args.sweep => (BackendChoice::Cpu, None),
        BackendChoice::Auto => match setup::auto_gpu(
            &super::adapter_choice(&args.backends.gpu),
            super::gpu_batch(&args.backends.gpu),
            super::gpu_workgroup(&args.backends.gpu),
        ) {
            Ok((gpu, text)) => {
                eprintln!("backend auto: {text}");
                (BackendChoice::All, Some(Arc::new(gpu)))
            }
            Err(why) => {
                eprintln!("backend auto: the CPU alone: {why}");
                (BackendChoice::Cpu, None)
            }
        },
        choice => (choice, None),
    };
    // With `all`, the GPU feeder keeps one core busy.
    let threads = setup::threads(args.backends.cpu.threads, choice == BackendChoice::All)?;
    let thread_counts: Vec<usize> = if args.sweep {
        (1..=threads).collect()
    } else {
        vec![threads]
    };
    // Set the GPU up (adapter, shader, batch tuning) before measuring anything.
    #[cfg(feature = "gpu")]
    let gpu = match choice {
        BackendChoice::Cpu | BackendChoice::Auto => None,
        _ if auto_gpu.is_some() => auto_gpu,
        BackendChoice::Gpu | BackendChoice::All => {
            let mut options = super::backend_options(&args.backends)?;
            options.kind = BackendKind::Gpu;
            super::build_backends(&options)?.gpu
        }
    };
    let seconds = args.seconds;

    // The reference before and after the kernels, so that a change of load or clock during the
    // run shows, and the ratio uses the mean.
    let reference_before = args.reference.then(reference_rate).transpose()?;
    let mut measurements = match choice {
        BackendChoice::Cpu | BackendChoice::Auto => {
            let mut v = Vec::new();
            for &kernel in &kernels {
                for &n in &thread_counts {
                    let cpu = Arc::new(CpuBackend::new(kernel, n));
                    if args.version_rolling {
                        v.extend(measure_rolling(&cpu, seconds, cpu_measurement)?);
                    } else {
                        v.push(measure(&cpu, seconds, cpu_measurement)?);
                    }
                }
            }
            v
        }
        #[cfg(feature = "gpu")]
        BackendChoice::Gpu if args.version_rolling => measure_rolling(
            gpu.as_ref().expect("set up above"),
            seconds,
            gpu_measurement,
        )?,
        #[cfg(feature = "gpu")]
        BackendChoice::Gpu => {
            let gpu = gpu.as_ref().expect("set up above");
            let devices = DeviceCounts::before(gpu);
            let total = measure(gpu, seconds, gpu_measurement)?;
            let mut v = devices.rows(total.seconds);
            v.push(total);
            v
        }
        #[cfg(feature = "gpu")]
        BackendChoice::All => {
            let cpu = Arc::new(CpuBackend::new(kernels[0], threads));
            measure_all(&cpu, gpu.as_ref().expect("set up above"), seconds)?
        }
        #[cfg(not(feature = "gpu"))]
        BackendChoice::Gpu | BackendChoice::All => unreachable!("refused above"),
    };
    let reference = match reference_before {
        Some(before) => {
            let after = reference_rate()?;
            Some(Reference { before, after })
        }
        None => None,
    };
    if let Some(r) = &reference {
        for m in measurements.iter_mut().filter(|m| m.backend == "cpu") {
            m.ratio = Some(m.hashrate / m.threads as f64 / r.mean());
        }
    }
    if let Some(path) = &args.plot {
        super::chart::draw(path, &measurements, reference.as_ref().map(Reference::mean))?;
    }
    if args.json || args.sweep {
        print_json(&measurements, reference.as_ref())
    } else {
        print_table(&measurements, reference.as_ref());
        Ok(())
    }
}

/// The openssl reference rate, measured before and after the kernels.
struct Reference {
    before: f64,
    after: f64,
}

impl Reference {
    fn mean(&self) -> f64 {
        (self.before + self.after) / 2.0
    }
}

fn print_json(measurements: &[Measurement], reference: Option<&Reference>) -> Result<()> {
    if let Some(r) = reference {
        let line = Measurement {
            backend: "reference",
            kernel: "openssl-sha256".into(),
            threads: 1,
            hashes: 0,
            seconds: 6.0,
            hashrate: r.mean(),
            ratio: Some(1.0),
            device: None,
            versions: 1,
            vs_plain: None,
        };
        println!("{}", serde_json::to_string(&line)?);
    }
    for m in measurements {
        println!("{}", serde_json::to_string(m)?);
    }
    Ok(())
}

fn print_table(measurements: &[Measurement], reference: Option<&Reference>) {
    if let Some(r) = reference {
        println!(
            "reference: openssl sha256, 1 core: {} nonce-equivalents (compressions/s ÷ 2; {} before, {} after)",
            format_rate(r.mean()),
            format_rate(r.before),
            format_rate(r.after)
        );
    }
    println!(
        "{:<8} {:<12} {:>7} {:>14} {:>16}",
        "backend", "kernel", "threads", "rate", "per thread"
    );
    for m in measurements {
        let ratio = m
            .ratio
            .map(|r| format!("  {r:.2}× reference"))
            .unwrap_or_default();
        let device = m
            .device
            .as_ref()
            .map(|d| format!("  on {d}"))
            .unwrap_or_default();
        let rolled = m
            .vs_plain
            .map(|r| format!("  {} versions per nonce: {r:.3}× plain", m.versions))
            .unwrap_or_default();
        println!(
            "{:<8} {:<12} {:>7} {:>14} {:>16}{ratio}{rolled}{device}",
            m.backend,
            m.kernel,
            m.threads,
            format_rate(m.hashrate),
            format_rate(m.hashrate / m.threads as f64)
        );
    }
}

/// Runs `backends` together on the benchmark work (a fresh scheduler; `rolled`: the unit rolled
/// over several versions) until `duration` has passed; returns the seconds it took.
fn timed(backends: Vec<Arc<dyn Backend<()>>>, duration: Duration, rolled: bool) -> Result<f64> {
    let scheduler = Arc::new(Scheduler::new());
    let work = if rolled {
        WorkUnit::benchmark_rolled()
    } else {
        WorkUnit::benchmark()
    };
    scheduler.set_source(Box::new(move || Some((work.clone(), ()))));
    let started = Instant::now();
    let runner = Runner::start(
        backends,
        scheduler,
        WhenIdle::Finish,
        Arc::new(|_: &Chunk<()>, _| {}),
    );
    std::thread::sleep(duration);
    runner.stop();
    runner.join()?;
    Ok(started.elapsed().as_secs_f64())
}

/// Runs one backend on the benchmark work for `duration`; `measurement` describes the hashes
/// it did in the seconds it took.
fn measure<B: Backend<()> + 'static>(
    backend: &Arc<B>,
    duration: Duration,
    measurement: fn(&B, u64, f64) -> Measurement,
) -> Result<Measurement> {
    let (hashes, seconds) = count(backend, duration, false)?;
    Ok(measurement(backend, hashes, seconds))
}

/// Runs one backend on the benchmark work (or its rolled form) for `duration`: the hashes it did
/// and the seconds it took.
fn count<B: Backend<()> + 'static>(
    backend: &Arc<B>,
    duration: Duration,
    rolled: bool,
) -> Result<(u64, f64)> {
    let counter = backend.hash_counter();
    let before = counter.load(Ordering::Relaxed);
    let seconds = timed(vec![backend.clone()], duration, rolled)?;
    Ok((counter.load(Ordering::Relaxed) - before, seconds))
}

/// Measures one backend on the plain benchmark unit and on the rolled one, in turns
/// ([`ROLLING_ROUNDS`] each): the plain row, then the rolled row with its ratio to the plain
/// one, the median of each round's ratio.
fn measure_rolling<B: Backend<()> + 'static>(
    backend: &Arc<B>,
    duration: Duration,
    measurement: fn(&B, u64, f64) -> Measurement,
) -> Result<Vec<Measurement>> {
    let turn = duration / ROLLING_TURNS_PER_SECOND;
    let mut totals = [(0u64, 0f64); 2];
    let mut ratios = Vec::new();
    for _ in 0..ROLLING_ROUNDS {
        let mut rates = [0f64; 2];
        for (rolled, total) in totals.iter_mut().enumerate() {
            let (hashes, seconds) = count(backend, turn, rolled == 1)?;
            total.0 += hashes;
            total.1 += seconds;
            rates[rolled] = hashes as f64 / seconds;
        }
        ratios.push(rates[1] / rates[0]);
    }
    let [plain, rolled] = totals.map(|(hashes, seconds)| measurement(backend, hashes, seconds));
    let rolled = Measurement {
        versions: WorkUnit::benchmark_rolled().versions().len(),
        vs_plain: Some(median(&mut ratios)),
        ..rolled
    };
    Ok(vec![plain, rolled])
}

/// The median of `values` (the mean of the middle two when their number is even).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

/// Runs the CPU workers and the GPU together on the benchmark work (one scheduler) for
/// `duration`: one measurement per backend, then the total as backend `all`.
#[cfg(feature = "gpu")]
fn measure_all(
    cpu: &Arc<CpuBackend>,
    gpu: &Arc<GpuBackend>,
    duration: Duration,
) -> Result<Vec<Measurement>> {
    let (cpu_before, gpu_before) = (
        cpu.hashes.load(Ordering::Relaxed),
        gpu.hashes.load(Ordering::Relaxed),
    );
    let devices = DeviceCounts::before(gpu);
    let seconds = timed(vec![cpu.clone(), gpu.clone()], duration, false)?;
    let cpu_hashes = cpu.hashes.load(Ordering::Relaxed) - cpu_before;
    let gpu_hashes = gpu.hashes.load(Ordering::Relaxed) - gpu_before;
    let total = cpu_hashes + gpu_hashes;
    let all = Measurement {
        backend: "all",
        kernel: format!("{}+wgsl", cpu.kernel.name()),
        threads: cpu.threads + gpu.batches().len(),
        hashes: total,
        seconds,
        hashrate: total as f64 / seconds,
        ratio: None,
        device: Some(gpu.device_name.clone()),
        versions: 1,
        vs_plain: None,
    };
    let mut v = vec![cpu_measurement(cpu, cpu_hashes, seconds)];
    v.extend(devices.rows(seconds));
    v.extend([gpu_measurement(gpu, gpu_hashes, seconds), all]);
    Ok(v)
}

/// Each GPU device's hash counter before a run, for one row per device after it.
#[cfg(feature = "gpu")]
struct DeviceCounts(Vec<(hashforge::backend::Part, u64)>);

#[cfg(feature = "gpu")]
impl DeviceCounts {
    fn before(gpu: &GpuBackend) -> Self {
        let parts = Backend::<()>::parts(gpu);
        DeviceCounts(
            parts
                .into_iter()
                .map(|p| {
                    let n = p.hashes.load(Ordering::Relaxed);
                    (p, n)
                })
                .collect(),
        )
    }

    /// One `gpu` measurement per device, when there are several (one device is the total).
    fn rows(&self, seconds: f64) -> Vec<Measurement> {
        if self.0.len() < 2 {
            return Vec::new();
        }
        self.0
            .iter()
            .map(|(part, before)| {
                let hashes = part.hashes.load(Ordering::Relaxed) - before;
                gpu_row(&part.name, 1, hashes, seconds)
            })
            .collect()
    }
}

/// A CPU measurement: the kernel and thread count.
fn cpu_measurement(backend: &CpuBackend, hashes: u64, seconds: f64) -> Measurement {
    Measurement {
        backend: "cpu",
        kernel: backend.kernel.name().to_string(),
        threads: backend.threads,
        hashes,
        seconds,
        hashrate: hashes as f64 / seconds,
        ratio: None,
        device: None,
        versions: 1,
        vs_plain: None,
    }
}

/// A GPU measurement: kernel `wgsl`, one feeder thread per device, the adapters' names.
#[cfg(feature = "gpu")]
fn gpu_measurement(backend: &GpuBackend, hashes: u64, seconds: f64) -> Measurement {
    gpu_row(
        &backend.device_name,
        backend.batches().len(),
        hashes,
        seconds,
    )
}

/// A `gpu` row: kernel `wgsl` on `device` with `threads` feeder threads.
#[cfg(feature = "gpu")]
fn gpu_row(device: &str, threads: usize, hashes: u64, seconds: f64) -> Measurement {
    Measurement {
        backend: "gpu",
        kernel: "wgsl".into(),
        threads,
        hashes,
        seconds,
        hashrate: hashes as f64 / seconds,
        ratio: None,
        device: Some(device.to_string()),
        versions: 1,
        vs_plain: None,
    }
}

/// The in-run reference of `shared/REFERENCE.md`: `openssl speed -evp sha256 -bytes 16384
/// -seconds 3` on one core, as sha256d nonces per second (compressions/s ÷ 2).
pub fn reference_rate() -> Result<f64> {
    let out = Command::new("openssl")
        .args([
            "speed", "-evp", "sha256", "-bytes", "16384", "-seconds", "3",
        ])
        .output()
        .context("running openssl for the reference rate (is openssl installed?)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    // The result line: "sha256  <rate>k" (kB/s, 1000 bytes) for the one block size asked.
    let kbps: f64 = text
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("sha256"))
        .filter_map(|l| l.split_whitespace().last()?.strip_suffix('k')?.parse().ok())
        .next()
        .with_context(|| format!("no sha256 rate in openssl's output: {}", text.trim()))?;
    Ok(kbps * 1000.0 / 64.0 / 2.0)
}
