//! `--kernel auto`: time every kernel this CPU supports on one thread, briefly, and pick the
//! fastest. The kernels' order of merit differs between CPU families (SHA-NI wins on AMD Zen,
//! AVX-512 on Intel Xeon), so it is measured rather than assumed.

use std::fmt;
use std::time::{Duration, Instant};

use super::Kernel;
use crate::work::{Found, WorkUnit};

/// Nonces per timed scan: small enough that a slice of a few milliseconds holds many.
const STEP: u32 = 4096;
/// Each kernel is timed this many times, interleaved with the others; its best rate counts.
const ROUNDS: u32 = 2;

/// The outcome of a calibration: the chosen kernel and the rates that decided it.
#[derive(Clone, Debug)]
pub struct Calibration {
    /// The fastest kernel measured.
    pub kernel: Kernel,
    /// Every supported kernel with its best single-thread rate (nonces/s), fastest first. Empty
    /// when only one kernel is supported (nothing to decide).
    pub rates: Vec<(Kernel, f64)>,
    /// How long the calibration took.
    pub took: Duration,
}

impl Calibration {
    /// Times each supported kernel on the calling thread, `ROUNDS` times interleaved, within
    /// about `budget` in all, and picks the fastest.
    pub fn run(budget: Duration) -> Calibration {
        let started = Instant::now();
        let kernels = Kernel::supported();
        if kernels.len() == 1 {
            return Calibration {
                kernel: kernels[0],
                rates: Vec::new(),
                took: started.elapsed(),
            };
        }
        let slice = budget / (ROUNDS * kernels.len() as u32);
        let work = WorkUnit::benchmark();
        let mut best = vec![0.0f64; kernels.len()];
        let mut found = Vec::new();
        for round in 0..ROUNDS {
            for (i, &kernel) in kernels.iter().enumerate() {
                let rate = time(kernel, &work, round * (1 << 24), slice, &mut found);
                best[i] = best[i].max(rate);
            }
        }
        let mut rates: Vec<(Kernel, f64)> = kernels.into_iter().zip(best).collect();
        rates.sort_by(|a, b| b.1.total_cmp(&a.1));
        Calibration {
            kernel: rates[0].0,
            rates,
            took: started.elapsed(),
        }
    }
}

/// Scans steps of `STEP` nonces from `start` until `slice` has passed; nonces per second.
fn time(
    kernel: Kernel,
    work: &WorkUnit,
    start: u32,
    slice: Duration,
    found: &mut Vec<Found>,
) -> f64 {
    let began = Instant::now();
    let mut nonces = 0u64;
    loop {
        kernel.scan(
            work,
            start.wrapping_add(nonces as u32) & !(STEP - 1),
            STEP,
            found,
        );
        nonces += STEP as u64;
        let elapsed = began.elapsed();
        if elapsed >= slice {
            return nonces as f64 / elapsed.as_secs_f64();
        }
    }
}

impl fmt::Display for Calibration {
    /// `sha-ni-x4 (measured on 1 thread in 0.30 s: sha-ni-x4 30.1 MH/s, avx2 16.0 MH/s, …)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kernel)?;
        if self.rates.is_empty() {
            return write!(f, " (the only kernel this CPU supports)");
        }
        write!(
            f,
            " (measured on 1 thread in {:.2} s:",
            self.took.as_secs_f64()
        )?;
        for (i, (kernel, rate)) in self.rates.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{kernel} {}", crate::units::format_rate(*rate))?;
        }
        write!(f, ")")
    }
}
