//! The `hashforge` command: a thin binary over the `hashforge` library. It parses the command
//! line (clap), checks it, runs one command, and prints every error as one line (anyhow).

mod api;
mod bench;
mod chart;
mod cli;
mod devices;
mod hash;
mod keys;
mod logging;
mod mine;
mod node;
mod scan;
mod serve;
mod signal;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use cli::{BackendArgs, Cli, Command, GpuArgs};
use hashforge::gpu::{AdapterChoice, Batch};
use hashforge::setup::{BackendOptions, Backends};

/// Runs the command line; every error is printed as one line and gives exit status 2.
fn main() -> ExitCode {
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
    if let Command::Scan(cli::ScanArgs { backends, .. })
    | Command::Bench(cli::BenchArgs { backends, .. })
    | Command::Mine(cli::MineArgs { backends, .. }) = &cli.command
    {
        warn_threads(backends.cpu.threads);
    }
    match cli.command {
        Command::Hash { hex } => hash::run(&hex),
        Command::Scan(args) => scan::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Devices => devices::run(),
        Command::Mine(args) => mine::run(args),
        Command::Serve(args) => serve::run(args),
    }
}

/// The backend options of the command line, checked.
pub(crate) fn backend_options(args: &BackendArgs) -> Result<BackendOptions> {
    Ok(BackendOptions {
        kind: args.backend.into(),
        kernel: args.cpu.kernel.parse()?,
        threads: args.cpu.threads,
        gpu: adapter_choice(&args.gpu),
        gpu_batch: gpu_batch(&args.gpu),
    })
}

/// The GPU adapter of the command line.
pub(crate) fn adapter_choice(args: &GpuArgs) -> AdapterChoice {
    match &args.gpu {
        Some(s) => s.parse().unwrap_or_default(),
        None => AdapterChoice::Preferred,
    }
}

/// The GPU batch of the command line.
pub(crate) fn gpu_batch(args: &GpuArgs) -> Batch {
    args.gpu_batch.map_or_else(Batch::default, Batch::Fixed)
}

/// More threads than cores only share them (`--threads` itself is checked by its parser, 1 to
/// [`cli::MAX_THREADS`]): allowed, with a warning on stderr.
fn warn_threads(threads: Option<usize>) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Some(n) = threads.filter(|&n| n > cores) {
        eprintln!("warning: --threads {n} is more than the {cores} cores of this machine; the threads share them");
    }
}

/// Builds the backends the options ask for. A kernel chosen by measurement is reported on
/// stderr, so that stdout stays clean for `--json`.
pub(crate) fn build_backends(options: &BackendOptions) -> Result<Backends> {
    let backends = Backends::build(options)?;
    if let Some(calibration) = &backends.calibration {
        eprintln!("kernel auto: {calibration}");
    }
    if let Some(auto) = &backends.auto {
        eprintln!("backend auto: {auto}");
    }
    Ok(backends)
}
