//! The AVX-512 kernel: sixteen nonces per 512-bit vector, with one-instruction rotates
//! (`vprord`) and three-input logic (`vpternlogd`) for Ch, Maj and the Σ/σ xors.

use std::arch::x86_64::*;

use super::lanes::{Lanes, TERNLOG_CH, TERNLOG_MAJ, TERNLOG_XOR3};
use super::scan_lanes;
use crate::work::{Found, WorkUnit};

/// Sixteen 32-bit lanes in one AVX-512 register.
#[derive(Clone, Copy)]
pub(crate) struct U32x16(__m512i);

// SAFETY (all methods): only reached from `scan`, which is compiled with AVX-512F and BW enabled
// and is called only after the dispatcher has checked that the CPU supports both.
impl Lanes for U32x16 {
    const WIDTH: usize = 16;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        unsafe { U32x16(_mm512_set1_epi32(x as i32)) }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        unsafe { U32x16(_mm512_add_epi32(self.0, o.0)) }
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        unsafe { U32x16(_mm512_xor_si512(self.0, o.0)) }
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        unsafe { U32x16(_mm512_and_si512(self.0, o.0)) }
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        unsafe { U32x16(_mm512_or_si512(self.0, o.0)) }
    }
    // `_mm512_srli_epi32` takes its count as a `u32` const, which `N` cannot become on stable
    // Rust; with a constant count LLVM emits the immediate form all the same.
    #[inline(always)]
    fn shr<const N: i32>(self) -> Self {
        unsafe { U32x16(_mm512_srl_epi32(self.0, _mm_cvtsi32_si128(N))) }
    }
    #[inline(always)]
    fn shl<const N: i32>(self) -> Self {
        unsafe { U32x16(_mm512_sll_epi32(self.0, _mm_cvtsi32_si128(N))) }
    }
    #[inline(always)]
    fn nonce_words(base: u32) -> Self {
        unsafe {
            let n = _mm512_add_epi32(
                _mm512_set1_epi32(base as i32),
                _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            );
            U32x16(_mm512_shuffle_epi8(n, bswap_mask()))
        }
    }
    #[inline(always)]
    fn bswap_le_mask(self, limit: u32) -> u32 {
        unsafe {
            let x = _mm512_shuffle_epi8(self.0, bswap_mask());
            _mm512_cmple_epu32_mask(x, _mm512_set1_epi32(limit as i32)) as u32
        }
    }
    #[inline(always)]
    fn rotr<const R: i32, const L: i32>(self) -> Self {
        unsafe { U32x16(_mm512_ror_epi32::<R>(self.0)) }
    }
    #[inline(always)]
    fn ch(self, f: Self, g: Self) -> Self {
        self.ternlog::<TERNLOG_CH>(f, g)
    }
    #[inline(always)]
    fn maj(self, b: Self, c: Self) -> Self {
        self.ternlog::<TERNLOG_MAJ>(b, c)
    }
    #[inline(always)]
    fn xor3(self, b: Self, c: Self) -> Self {
        self.ternlog::<TERNLOG_XOR3>(b, c)
    }
}

impl U32x16 {
    #[inline(always)]
    fn ternlog<const IMM: i32>(self, b: Self, c: Self) -> Self {
        unsafe { U32x16(_mm512_ternarylogic_epi32::<IMM>(self.0, b.0, c.0)) }
    }
}

/// Reverses the bytes of each 32-bit word (`vpshufb` within each 128-bit lane).
#[inline(always)]
unsafe fn bswap_mask() -> __m512i {
    _mm512_broadcast_i32x4(_mm_setr_epi8(
        3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
    ))
}

/// Scans `count` nonces from `start`, pushing every nonce whose hash meets the target.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512BW.
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) unsafe fn scan(work: &WorkUnit, start: u32, count: u32, found: &mut Vec<Found>) {
    scan_lanes::<U32x16>(work, start, count, found);
}

/// Scans like [`scan`], two vectors in lockstep.
///
/// # Safety
/// As for [`scan`].
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) unsafe fn scan_x2(work: &WorkUnit, start: u32, count: u32, found: &mut Vec<Found>) {
    scan_lanes::<super::lanes::Pair<U32x16>>(work, start, count, found);
}
