//! The AVX2 kernel: eight nonces per 256-bit vector.

use std::arch::x86_64::*;

use super::lanes::Lanes;
use super::scan_lanes;
use crate::work::{Found, WorkUnit};

/// Eight 32-bit lanes in one AVX2 register.
#[derive(Clone, Copy)]
pub(crate) struct U32x8(pub(crate) __m256i);

// SAFETY (all methods): only reached from `scan`, which is compiled with AVX2 enabled and is
// called only after the dispatcher has checked that the CPU supports AVX2.
impl Lanes for U32x8 {
    const WIDTH: usize = 8;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        unsafe { U32x8(_mm256_set1_epi32(x as i32)) }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        unsafe { U32x8(_mm256_add_epi32(self.0, o.0)) }
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        unsafe { U32x8(_mm256_xor_si256(self.0, o.0)) }
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        unsafe { U32x8(_mm256_and_si256(self.0, o.0)) }
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        unsafe { U32x8(_mm256_or_si256(self.0, o.0)) }
    }
    #[inline(always)]
    fn shr<const N: i32>(self) -> Self {
        unsafe { U32x8(_mm256_srli_epi32::<N>(self.0)) }
    }
    #[inline(always)]
    fn shl<const N: i32>(self) -> Self {
        unsafe { U32x8(_mm256_slli_epi32::<N>(self.0)) }
    }
    #[inline(always)]
    fn nonce_words(base: u32) -> Self {
        unsafe {
            let n = _mm256_add_epi32(
                _mm256_set1_epi32(base as i32),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            );
            U32x8(_mm256_shuffle_epi8(n, bswap_mask()))
        }
    }
    #[inline(always)]
    fn bswap_le_mask(self, limit: u32) -> u32 {
        unsafe {
            let x = _mm256_shuffle_epi8(self.0, bswap_mask());
            let le = _mm256_cmpeq_epi32(_mm256_min_epu32(x, _mm256_set1_epi32(limit as i32)), x);
            _mm256_movemask_ps(_mm256_castsi256_ps(le)) as u32
        }
    }
}

/// Reverses the bytes of each 32-bit word.
#[inline(always)]
pub(crate) unsafe fn bswap_mask() -> __m256i {
    _mm256_setr_epi8(
        3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8,
        15, 14, 13, 12,
    )
}

/// Scans `count` nonces from `start`, pushing every nonce whose hash meets the target.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn scan(work: &WorkUnit, start: u32, count: u32, found: &mut Vec<Found>) {
    scan_lanes::<U32x8>(work, start, count, found);
}
