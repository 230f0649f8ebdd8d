//! Work units from a Stratum job: extranonce2 is the first axis (a new unit every 2^32 nonces),
//! version bits inside the granted mask the second. With a mask of two bits or more, each unit
//! carries [`ROLLED_VERSIONS`] versions (kernels share the second chunk's schedule between them).

use std::sync::Arc;

use hashforge_stratum::Job;

use crate::scheduler::WorkSource;
use crate::{WorkUnit, ROLLED_VERSIONS};

/// What a unit was built from; attached to each unit so a found nonce becomes a share (with the
/// version it was found on, one of the unit's).
#[derive(Clone, Debug)]
pub struct ShareTag {
    pub job: Arc<Job>,
    pub extranonce2: Vec<u8>,
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

/// Versions per unit for a granted `mask`: [`ROLLED_VERSIONS`] when it has room for them, else 1.
pub fn versions_per_unit(mask: u32) -> usize {
    if 1u64 << mask.count_ones() >= ROLLED_VERSIONS as u64 {
        ROLLED_VERSIONS
    } else {
        1
    }
}

/// Builds unit `k` of a job: extranonce2 = k modulo its space (little-endian counter); version
/// group = k divided by that space, its versions the next [`versions_per_unit`] indexes spread
/// over the granted mask. `None` past the last one.
pub fn unit(job: &Arc<Job>, k: u64) -> Option<(WorkUnit, ShareTag)> {
    let size = job.extranonce2_size.min(8);
    let en2_space: u128 = 1u128 << (8 * size);
    let mask = job.version_mask.unwrap_or(0);
    let per_unit = versions_per_unit(mask) as u128;
    let en2_index = (k as u128 % en2_space) as u64;
    let first = k as u128 / en2_space * per_unit;
    if first >> mask.count_ones() != 0 {
        return None;
    }
    let mut extranonce2 = vec![0u8; job.extranonce2_size];
    extranonce2[..size].copy_from_slice(&en2_index.to_le_bytes()[..size]);
    let versions: Vec<u32> = (first..first + per_unit)
        .map(|i| job.roll_version(spread_bits(i as u64, mask)))
        .collect();
    let header = job
        .header(&extranonce2, job.notify.ntime, 0, versions[0])
        .ok()?;
    let work = WorkUnit::rolled(header, job.share_target(), &versions);
    Some((
        work,
        ShareTag {
            job: job.clone(),
            extranonce2,
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
