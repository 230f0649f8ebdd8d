//! `hashforge scan`: every nonce of a range whose hash meets a target.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{bail, Result};

use super::cli::ScanArgs;
use hashforge::backend::WhenIdle;
use hashforge::runner::Runner;
use hashforge::scheduler::{Chunk, Scheduler};
use hashforge::setup::Backends;
use hashforge::{Header, Target, WorkUnit};

pub fn run(args: ScanArgs) -> Result<()> {
    let header = Header::from_hex(&args.header)?;
    let target = match (&args.target, args.difficulty) {
        (Some(hex), _) => Target::from_display_hex(hex, "target")?,
        (None, Some(d)) => Target::from_difficulty(d)?,
        (None, None) => bail!("give --target or --difficulty"),
    };
    // The parsers took --start in 0..=2^32-1 and --count in 1..=2^32; their sum may still pass
    // the last nonce (checked arithmetic, whatever they allow).
    let start = u32::try_from(args.start).map_err(|_| {
        anyhow::anyhow!("--start {} is past the last nonce (4294967295)", args.start)
    })?;
    match args.start.checked_add(args.count) {
        Some(end) if end <= 1 << 32 => {}
        end => bail!(
            "range [{}, {}) goes past 2^32 (the last nonce is 4294967295): --start + --count must be at most 4294967296",
            args.start,
            end.map_or_else(|| "overflow".to_string(), |e| e.to_string())
        ),
    }
    // Backends are set up (GPU: shader compiled, batch tuned) before the clock starts.
    let backends = super::build_backends(&super::backend_options(&args.backends)?)?;
    let list = backends.list::<()>();
    let label = list
        .iter()
        .map(|b| b.describe())
        .collect::<Vec<_>>()
        .join(" + ");
    let scheduler = Arc::new(Scheduler::new());
    scheduler.set_range(WorkUnit::new(header, target), (), start, args.count);
    let found = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let found = found.clone();
        move |_: &Chunk<()>, f: hashforge::Found| found.lock().unwrap().push(f.nonce)
    };
    let started = Instant::now();
    let result = Runner::start(list, scheduler, WhenIdle::Finish, Arc::new(sink)).join();
    let seconds = started.elapsed().as_secs_f64();
    warn_hw_errors(&backends);
    result?;
    let mut nonces = std::mem::take(&mut *found.lock().unwrap());
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
            hashforge::units::format_rate(args.count as f64 / seconds),
        );
    }
    Ok(())
}

/// GPU candidates the CPU contradicted were never reported; say so, since it means a faulty
/// device or driver.
fn warn_hw_errors(backends: &Backends) {
    let errors = backends.gpu_hw_errors();
    if errors > 0 {
        eprintln!("warning: {errors} GPU hardware errors (candidates the CPU re-hash contradicts; not reported)");
    }
}
