//! CPU hashing: the kernels (one file each), run-time dispatch, and the multi-threaded backend.

#[cfg(target_arch = "x86_64")]
mod avx2;
mod lanes;
mod scalar;
#[cfg(target_arch = "x86_64")]
mod sha_ni;
mod tail;
mod workers;

use std::fmt;
use std::str::FromStr;

use lanes::Lanes;
pub use workers::{CpuBackend, FoundSink, WhenIdle};

use crate::work::WorkUnit;
use crate::Error;

/// A CPU hashing kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Portable, one nonce at a time.
    Scalar,
    /// AVX2, eight nonces per vector.
    Avx2,
    /// The x86 SHA extensions, several nonces interleaved.
    ShaNi,
}

impl Kernel {
    /// Every kernel, fastest first.
    pub const ALL: [Kernel; 3] = [Kernel::ShaNi, Kernel::Avx2, Kernel::Scalar];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            Kernel::Avx2 => "avx2",
            Kernel::ShaNi => "sha-ni",
        }
    }

    /// Whether this CPU can run the kernel.
    pub fn is_supported(self) -> bool {
        match self {
            Kernel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => std::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Kernel::ShaNi => {
                std::is_x86_feature_detected!("sha")
                    && std::is_x86_feature_detected!("sse4.1")
                    && std::is_x86_feature_detected!("ssse3")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The kernels this CPU supports, fastest first.
    pub fn supported() -> Vec<Kernel> {
        Kernel::ALL
            .into_iter()
            .filter(|k| k.is_supported())
            .collect()
    }

    /// The fastest kernel this CPU supports.
    pub fn best() -> Kernel {
        Kernel::supported()[0]
    }

    /// Checks that this CPU supports the kernel.
    pub fn checked(self) -> Result<Kernel, Error> {
        if self.is_supported() {
            Ok(self)
        } else {
            Err(Error::KernelUnsupported(self.name()))
        }
    }

    /// Scans the `count` nonces from `start` (at most up to 2^32 − 1) and appends every nonce
    /// whose hash meets the work unit's target, in ascending order.
    ///
    /// # Panics
    /// If the kernel is not supported by this CPU (use [`Kernel::checked`] first).
    pub fn scan(self, work: &WorkUnit, start: u32, count: u32, found: &mut Vec<u32>) {
        assert!(
            self.is_supported(),
            "kernel {} not supported by this CPU",
            self.name()
        );
        debug_assert!(start as u64 + count as u64 <= 1 << 32);
        match self {
            Kernel::Scalar => scalar::scan(work, start, count, found),
            // SAFETY: support for the required CPU features was checked above.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { avx2::scan(work, start, count, found) },
            #[cfg(target_arch = "x86_64")]
            Kernel::ShaNi => unsafe { sha_ni::scan(work, start, count, found) },
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!(),
        }
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kernel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "scalar" => Ok(Kernel::Scalar),
            "avx2" => Ok(Kernel::Avx2),
            "sha-ni" | "shani" | "sha_ni" => Ok(Kernel::ShaNi),
            other => Err(Error::UnknownKernel(other.to_string())),
        }
    }
}

/// The scan loop shared by the lane kernels: early test on the last state word, then the full
/// 256-bit compare on the rare candidates.
#[inline(always)]
fn scan_lanes<V: Lanes>(work: &WorkUnit, start: u32, count: u32, found: &mut Vec<u32>) {
    let p = work.precomputed();
    let limit = work.target().top_word();
    let end = start as u64 + count as u64;
    let mut n = start as u64;
    while n < end {
        let h7 = tail::last_word::<V>(p, n as u32);
        let mut mask = h7.bswap_le_mask(limit);
        while mask != 0 {
            let nonce = n + mask.trailing_zeros() as u64;
            if nonce < end && work.meets_target(nonce as u32) {
                found.push(nonce as u32);
            }
            mask &= mask - 1;
        }
        n += V::WIDTH as u64;
    }
}
