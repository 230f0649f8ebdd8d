//! The `hashforge` command: parses arguments and runs one command. `main.rs` only calls [`main`].

mod bench;
pub mod cli;
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
use cli::{Cli, Command, CpuArgs};

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
        Command::Mine(args) => mine::run(args),
        Command::Serve(args) => serve::run(args),
    }
}

/// The kernel asked for (checked against this CPU), or the best one.
pub(crate) fn choose_kernel(name: Option<&str>) -> Result<Kernel> {
    Ok(match name {
        Some(name) => name.parse::<Kernel>()?.checked()?,
        None => Kernel::best(),
    })
}

/// The thread count asked for, or every core.
pub(crate) fn choose_threads(threads: Option<usize>) -> Result<usize> {
    match threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

pub(crate) fn cpu_backend(args: &CpuArgs) -> Result<crate::cpu::CpuBackend> {
    Ok(crate::cpu::CpuBackend::new(
        choose_kernel(args.kernel.as_deref())?,
        choose_threads(args.threads)?,
    ))
}
