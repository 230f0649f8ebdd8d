//! The `hashforge` command: parses arguments and runs one command. `main.rs` only calls [`main`].

mod bench;
mod chart;
pub mod cli;
mod devices;
mod hash;
mod logging;
mod mine;
mod node;
mod scan;
mod serve;

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Parser;

use crate::cpu::Kernel;
use cli::{Cli, Command, CpuArgs, GpuArgs};

/// Runs the command line; every error is printed as one line and gives exit status 2.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: bad arguments"));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Hash { hex } => hash::run(&hex),
        Command::Scan(args) => scan::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Devices => devices::run(),
        Command::Mine(args) => mine::run(args),
        Command::Serve(args) => serve::run(args),
    }
}

/// How long `--kernel auto` may spend timing the kernels at start-up.
const CALIBRATION_BUDGET: std::time::Duration = std::time::Duration::from_millis(300);

/// The kernel asked for (checked against this CPU), or with `auto` the fastest one, measured;
/// the measurement is reported on stderr, so that stdout stays clean for `--json`.
pub(crate) fn choose_kernel(name: &str) -> Result<Kernel> {
    if name != "auto" {
        return Ok(name.parse::<Kernel>()?.checked()?);
    }
    let calibration = crate::cpu::Calibration::run(CALIBRATION_BUDGET);
    eprintln!("kernel auto: {calibration}");
    Ok(calibration.kernel)
}

/// The thread count asked for, or every core.
pub(crate) fn choose_threads(threads: Option<usize>) -> Result<usize> {
    match threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// The thread count asked for, or every core but the one the GPU feeder keeps busy.
pub(crate) fn choose_threads_beside_gpu(threads: Option<usize>) -> Result<usize> {
    match threads {
        Some(_) => choose_threads(threads),
        None => Ok(choose_threads(None)?.saturating_sub(1).max(1)),
    }
}

pub(crate) fn cpu_backend(args: &CpuArgs) -> Result<crate::cpu::CpuBackend> {
    let threads = choose_threads(args.threads)?;
    Ok(crate::cpu::CpuBackend::new(
        choose_kernel(&args.kernel)?,
        threads,
    ))
}

/// The CPU workers that run beside the GPU feeder (`--backend all`): one thread fewer by default.
pub(crate) fn cpu_backend_beside_gpu(args: &CpuArgs) -> Result<crate::cpu::CpuBackend> {
    let threads = choose_threads_beside_gpu(args.threads)?;
    Ok(crate::cpu::CpuBackend::new(
        choose_kernel(&args.kernel)?,
        threads,
    ))
}

/// Opens the chosen adapter and builds the GPU backend (tuning the batch unless given).
pub(crate) fn gpu_backend(args: &GpuArgs) -> Result<crate::gpu::GpuBackend> {
    let choice = match &args.gpu {
        Some(s) => s.parse().unwrap_or_default(),
        None => crate::gpu::AdapterChoice::Preferred,
    };
    let gpu = crate::gpu::Gpu::open(&choice)?;
    let batch = match args.gpu_batch {
        Some(n) => crate::gpu::Batch::Fixed(n),
        None => crate::gpu::Batch::default(),
    };
    Ok(crate::gpu::GpuBackend::new(&gpu, batch)?)
}
