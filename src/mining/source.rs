//! Work units from a Stratum job: extranonce2 is the first axis (a new unit every 2^32 nonces),
//! version bits inside the granted mask the second.

use std::sync::Arc;

use hashforge_stratum::Job;

use crate::scheduler::WorkSource;
use crate::WorkUnit;

/// What a unit was built from; attached to each unit so a found nonce becomes a share.
#[derive(Clone, Debug)]
pub struct ShareTag {
    pub job: Arc<Job>,
    pub extranonce2: Vec<u8>,
    /// The full header version (job version with rolled bits inside the mask).
    pub version: u32,
}

/// Deposits the low bits of `index` into the set bits of `mask` (like x86 `pdep`).
pub fn spread_bits(mut index: u64, mask: u32) -> u32 {
    let mut out = 0u32;
    for bit in 0..32 {
        if mask & (1 << bit) != 0 {
            out |= ((index & 1) as u32) << bit;
            index >>= 1;
        }
    }
    out
}

/// Builds unit `k` of a job: extranonce2 = k modulo its space (little-endian counter), version
/// bits = k divided by that space, spread over the granted mask. `None` past the last one.
pub fn unit(job: &Arc<Job>, k: u64) -> Option<(WorkUnit, ShareTag)> {
    let size = job.extranonce2_size.min(8);
    let en2_space: u128 = 1u128 << (8 * size);
    let mask = job.version_mask.unwrap_or(0);
    let (en2_index, v_index) = (
        (k as u128 % en2_space) as u64,
        (k as u128 / en2_space) as u64,
    );
    if v_index >> mask.count_ones() != 0 {
        return None;
    }
    let mut extranonce2 = vec![0u8; job.extranonce2_size];
    extranonce2[..size].copy_from_slice(&en2_index.to_le_bytes()[..size]);
    let version = job.roll_version(spread_bits(v_index, mask));
    let header = job
        .header(&extranonce2, job.notify.ntime, 0, version)
        .ok()?;
    let work = WorkUnit::new(header, job.share_target());
    Some((
        work,
        ShareTag {
            job: job.clone(),
            extranonce2,
            version,
        },
    ))
}

/// The scheduler's source for a job: its units in order.
pub fn job_source(job: Arc<Job>) -> WorkSource<ShareTag> {
    let mut k = 0u64;
    Box::new(move || {
        let next = unit(&job, k);
        k += 1;
        next
    })
}
