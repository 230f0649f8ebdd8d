//! `hashforge scan`: every nonce of a range whose hash meets a target.

use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Result};

use super::cli::{BackendChoice, ScanArgs};
use crate::cpu::WhenIdle;
use crate::gpu::GpuBackend;
use crate::scheduler::{Chunk, Scheduler};
use crate::{Header, Target, WorkUnit};

pub fn run(args: ScanArgs) -> Result<()> {
    let header = Header::from_hex(&args.header)?;
    let target = match (&args.target, args.difficulty) {
        (Some(hex), _) => Target::from_display_hex(hex, "target")?,
        (None, Some(d)) => Target::from_difficulty(d)?,
        (None, None) => bail!("give --target or --difficulty"),
    };
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    if args.start > u32::MAX as u64 {
        bail!("--start {} is past the last nonce (4294967295)", args.start);
    }
    if args.start + args.count > 1 << 32 {
        bail!(
            "range [{}, {}) goes past 2^32 (the last nonce is 4294967295)",
            args.start,
            args.start + args.count
        );
    }
    let scheduler = Scheduler::new();
    scheduler.set_range(WorkUnit::new(header, target), args.start as u32, args.count);
    let found = Mutex::new(Vec::new());
    let sink = |_: &Chunk, n: u32| found.lock().unwrap().push(n);
    let stop = AtomicBool::new(false);
    // Backends are set up (GPU: shader compiled, batch tuned) before the clock starts.
    let (seconds, label) = match args.backend {
        BackendChoice::Cpu => {
            let cpu = super::cpu_backend(&args.cpu)?;
            let started = Instant::now();
            cpu.run(&scheduler, &stop, WhenIdle::Finish, &sink);
            (
                started.elapsed(),
                format!("{} × {}", cpu.kernel, cpu.threads),
            )
        }
        BackendChoice::Gpu => {
            let gpu = super::gpu_backend(&args.gpu)?;
            let started = Instant::now();
            gpu.run(&scheduler, &stop, WhenIdle::Finish, &sink)?;
            let took = started.elapsed();
            warn_hw_errors(&gpu);
            (took, format!("wgsl on {}", gpu.device_name))
        }
        BackendChoice::All => {
            let cpu = super::cpu_backend_beside_gpu(&args.cpu)?;
            let gpu = super::gpu_backend(&args.gpu)?;
            let started = Instant::now();
            crate::gpu::run_all(&cpu, &gpu, &scheduler, &stop, WhenIdle::Finish, &sink)?;
            let took = started.elapsed();
            warn_hw_errors(&gpu);
            (
                took,
                format!(
                    "{} × {} + wgsl on {}",
                    cpu.kernel, cpu.threads, gpu.device_name
                ),
            )
        }
    };
    let seconds = seconds.as_secs_f64();
    let mut nonces = found.into_inner().unwrap();
    nonces.sort_unstable();

    if args.json {
        let out = serde_json::json!({ "nonces": nonces, "hashes": args.count, "seconds": seconds });
        println!("{out}");
    } else {
        for &n in &nonces {
            println!("{n} {}", header.with_nonce(n).block_hash());
        }
        println!(
            "{} found in {} nonces, {:.3} s, {} ({label})",
            nonces.len(),
            args.count,
            seconds,
            crate::units::format_rate(args.count as f64 / seconds),
        );
    }
    Ok(())
}

/// GPU candidates the CPU contradicted were never reported; say so, since it means a faulty
/// device or driver.
fn warn_hw_errors(gpu: &GpuBackend) {
    let errors = gpu.hw_errors.load(std::sync::atomic::Ordering::Relaxed);
    if errors > 0 {
        eprintln!("warning: {errors} GPU hardware errors (candidates the CPU re-hash contradicts; not reported)");
    }
}
