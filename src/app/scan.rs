//! `hashforge scan`: every nonce of a range whose hash meets a target.

use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Result};

use super::cli::ScanArgs;
use crate::cpu::WhenIdle;
use crate::scheduler::{Chunk, Scheduler};
use crate::{Header, Target, WorkUnit};

pub fn run(args: ScanArgs) -> Result<()> {
    let header = Header::from_hex(&args.header)?;
    let target = match (&args.target, args.difficulty) {
        (Some(hex), _) => Target::from_display_hex(hex)?,
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
    let backend = super::cpu_backend(&args.cpu)?;

    let scheduler = Scheduler::new();
    scheduler.set_range(WorkUnit::new(header, target), args.start as u32, args.count);
    let found = Mutex::new(Vec::new());
    let started = Instant::now();
    backend.run(
        &scheduler,
        &AtomicBool::new(false),
        WhenIdle::Finish,
        &|_: &Chunk, n: u32| found.lock().unwrap().push(n),
    );
    let seconds = started.elapsed().as_secs_f64();
    let mut nonces = found.into_inner().unwrap();
    nonces.sort_unstable();

    if args.json {
        let out = serde_json::json!({ "nonces": nonces, "hashes": args.count, "seconds": seconds });
        println!("{out}");
    } else {
        for &n in &nonces {
            println!("{n} {}", header.with_nonce(n).hash());
        }
        println!(
            "{} found in {} nonces, {:.3} s, {} ({} × {})",
            nonces.len(),
            args.count,
            seconds,
            crate::units::format_rate(args.count as f64 / seconds),
            backend.kernel,
            backend.threads
        );
    }
    Ok(())
}
