//! The portable kernel: one nonce at a time, the reference for the SIMD kernels.

use super::scan_lanes;
use crate::work::{Found, WorkUnit};

/// Scans `count` nonces from `start`, pushing every nonce whose hash meets the target.
pub(crate) fn scan(work: &WorkUnit, start: u32, count: u32, found: &mut Vec<Found>) {
    scan_lanes::<u32>(work, start, count, found);
}
