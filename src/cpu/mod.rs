//! CPU hashing: the kernels (one file each), run-time dispatch, and the multi-threaded backend.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod avx512vl;
mod calibrate;
mod lanes;
mod scalar;
#[cfg(target_arch = "x86_64")]
mod sha_ni;
mod tail;
mod workers;

use std::fmt;
use std::str::FromStr;

pub use calibrate::Calibration;
use lanes::Lanes;
pub use workers::CpuBackend;

use crate::work::{Found, WorkUnit};
use crate::Error;

/// A CPU hashing kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Portable, one nonce at a time.
    Scalar,
    /// AVX2, eight nonces per 256-bit vector.
    Avx2,
    /// AVX-512VL: eight nonces per 256-bit vector, with one-instruction rotates and ternary logic.
    Avx512Vl,
    /// AVX-512VL, two vectors in lockstep (sixteen nonces).
    Avx512VlX2,
    /// AVX-512 (F + BW): sixteen nonces per 512-bit vector.
    Avx512,
    /// AVX-512, two vectors in lockstep (thirty-two nonces).
    Avx512X2,
    /// The x86 SHA extensions, two nonces interleaved.
    ShaNi2,
    /// The x86 SHA extensions, four nonces interleaved.
    ShaNi4,
}

impl Kernel {
    /// Every kernel, in the order of preference used when nothing is measured ([`Kernel::best`]).
    pub const ALL: [Kernel; 8] = [
        Kernel::Avx512X2,
        Kernel::Avx512,
        Kernel::Avx512VlX2,
        Kernel::Avx512Vl,
        Kernel::ShaNi4,
        Kernel::ShaNi2,
        Kernel::Avx2,
        Kernel::Scalar,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512Vl => "avx512vl",
            Kernel::Avx512VlX2 => "avx512vl-x2",
            Kernel::Avx512 => "avx512",
            Kernel::Avx512X2 => "avx512-x2",
            Kernel::ShaNi2 => "sha-ni-x2",
            Kernel::ShaNi4 => "sha-ni-x4",
        }
    }

    /// The CPU features the kernel needs, as `is_x86_feature_detected!` names them.
    pub fn features(self) -> &'static [&'static str] {
        match self {
            Kernel::Scalar => &[],
            Kernel::Avx2 => &["avx2"],
            Kernel::Avx512Vl | Kernel::Avx512VlX2 => &["avx2", "avx512f", "avx512vl"],
            Kernel::Avx512 | Kernel::Avx512X2 => &["avx512f", "avx512bw"],
            Kernel::ShaNi2 | Kernel::ShaNi4 => &["sha", "sse4.1", "ssse3"],
        }
    }

    /// The features of [`Kernel::features`] that this CPU lacks (all of them off x86-64).
    pub fn missing_features(self) -> Vec<&'static str> {
        self.features()
            .iter()
            .copied()
            .filter(|&f| !has_feature(f))
            .collect()
    }

    /// Whether this CPU can run the kernel.
    pub fn is_supported(self) -> bool {
        self.missing_features().is_empty()
    }

    /// The kernels this CPU supports, in [`Kernel::ALL`]'s order.
    pub fn supported() -> Vec<Kernel> {
        Kernel::ALL
            .into_iter()
            .filter(|k| k.is_supported())
            .collect()
    }

    /// The first supported kernel in [`Kernel::ALL`]'s order, without measuring. What `auto`
    /// picks is measured instead: [`Calibration::run`].
    pub fn best() -> Kernel {
        Kernel::supported()[0]
    }

    /// Checks that this CPU supports the kernel.
    pub fn checked(self) -> Result<Kernel, Error> {
        let missing = self.missing_features();
        if missing.is_empty() {
            Ok(self)
        } else {
            Err(Error::KernelUnsupported {
                kernel: self.name(),
                missing: missing.join(", "),
            })
        }
    }

    /// Scans the `count` nonces from `start` (at most up to 2^32 − 1), each on every version of
    /// the unit, and appends every nonce and version whose hash meets the work unit's target, in
    /// ascending order of nonce, then in the unit's order of versions.
    ///
    /// # Panics
    /// If the kernel is not supported by this CPU (use [`Kernel::checked`] first).
    pub fn scan(self, work: &WorkUnit, start: u32, count: u32, found: &mut Vec<Found>) {
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
            Kernel::Avx512Vl => unsafe { avx512vl::scan(work, start, count, found) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512VlX2 => unsafe { avx512vl::scan_x2(work, start, count, found) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { avx512::scan(work, start, count, found) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512X2 => unsafe { avx512::scan_x2(work, start, count, found) },
            #[cfg(target_arch = "x86_64")]
            Kernel::ShaNi2 => unsafe { sha_ni::scan::<2>(work, start, count, found) },
            #[cfg(target_arch = "x86_64")]
            Kernel::ShaNi4 => unsafe { sha_ni::scan::<4>(work, start, count, found) },
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!(),
        }
    }
}

/// Whether this CPU has the feature named as `is_x86_feature_detected!` names it.
fn has_feature(name: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        match name {
            "avx2" => std::is_x86_feature_detected!("avx2"),
            "avx512f" => std::is_x86_feature_detected!("avx512f"),
            "avx512bw" => std::is_x86_feature_detected!("avx512bw"),
            "avx512vl" => std::is_x86_feature_detected!("avx512vl"),
            "sha" => std::is_x86_feature_detected!("sha"),
            "sse4.1" => std::is_x86_feature_detected!("sse4.1"),
            "ssse3" => std::is_x86_feature_detected!("ssse3"),
            _ => false,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = name;
        false
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kernel {
    type Err = Error;
    /// A kernel's [`name`](Kernel::name); `sha-ni` still means the four-stream kernel it always was.
    fn from_str(s: &str) -> Result<Self, Error> {
        if let Some(k) = Kernel::ALL.into_iter().find(|k| k.name() == s) {
            return Ok(k);
        }
        match s {
            "sha-ni" | "shani" | "sha_ni" => Ok(Kernel::ShaNi4),
            other => Err(Error::UnknownKernel(other.to_string())),
        }
    }
}

/// The scan loop shared by the lane kernels: early test on the last state word, then the full
/// 256-bit compare on the rare candidates. A rolled unit shares each nonce's schedule between
/// its versions ([`tail::Schedule`]).
#[inline(always)]
fn scan_lanes<V: Lanes>(work: &WorkUnit, start: u32, count: u32, found: &mut Vec<Found>) {
    let versions = work.precomputed_versions();
    let limit = work.target().top_word();
    let end = start as u64 + count as u64;
    let bases = (start as u64..end).step_by(V::WIDTH);
    if let [p] = versions {
        for n in bases {
            let h7 = tail::last_word::<V>(p, n as u32);
            push_candidates(work, 0, n, end, h7.bswap_le_mask(limit), found);
        }
    } else {
        let first = found.len();
        for n in bases {
            let schedule = tail::Schedule::<V>::new(&versions[0], n as u32);
            for (index, p) in versions.iter().enumerate() {
                let h7 = schedule.last_word(p);
                push_candidates(work, index, n, end, h7.bswap_le_mask(limit), found);
            }
        }
        in_scan_order(work, &mut found[first..]);
    }
}

/// Sorts a rolled scan's finds in the order [`Kernel::scan`] promises: by nonce, then in the
/// unit's order of versions (a kernel that goes version by version finds them out of order).
fn in_scan_order(work: &WorkUnit, found: &mut [Found]) {
    let position = |f: &Found| work.versions().iter().position(|&v| v == f.version);
    found.sort_by_key(|f| (f.nonce, position(f)));
}

/// Checks the candidates of one early test in full: bit `i` of `mask` is nonce `base + i` on
/// the version of index `index`; nonces from `end` on are outside the scan.
#[inline(always)]
fn push_candidates(
    work: &WorkUnit,
    index: usize,
    base: u64,
    end: u64,
    mut mask: u32,
    found: &mut Vec<Found>,
) {
    while mask != 0 {
        let nonce = base + mask.trailing_zeros() as u64;
        if nonce < end {
            found.extend(work.check(index, nonce as u32));
        }
        mask &= mask - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::lanes::Pair;
    use super::*;
    use crate::{Header, Target};

    fn scan_with<V: Lanes>(work: &WorkUnit, start: u32, count: u32) -> Vec<Found> {
        let mut found = Vec::new();
        scan_lanes::<V>(work, start, count, &mut found);
        found
    }

    /// `Pair` (the two-vector lockstep of the `-x2` kernels) over plain words, so that its nonce
    /// order and mask packing are checked on every machine, AVX-512 or not.
    #[test]
    fn pair_lanes_match_scalar() {
        let mut header = Header::genesis();
        for seed in 0..4u32 {
            header.time = header.time.wrapping_add(seed * 7919);
            let all = WorkUnit::new(header, Target::MAX);
            let easy = WorkUnit::new(header, Target::from_difficulty(1.0 / 256.0).unwrap());
            for (start, count) in [
                (0u32, 1u32),
                (5, 3),
                (100, 37),
                (u32::MAX - 6, 7),
                (1000, 4096),
            ] {
                for work in [&all, &easy] {
                    let expected = scan_with::<u32>(work, start, count);
                    assert_eq!(scan_with::<Pair<u32>>(work, start, count), expected);
                    assert_eq!(scan_with::<Pair<Pair<u32>>>(work, start, count), expected);
                }
            }
        }
    }
}
