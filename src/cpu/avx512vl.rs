//! The AVX-512VL kernel: the eight-lane (256-bit) vectors of the AVX2 kernel, with AVX-512VL's
//! one-instruction rotates and three-input logic. On some cores 256-bit rotates issue on more
//! ports than 512-bit ones, so this kernel can beat the sixteen-lane one; `auto` measures.

use std::arch::x86_64::*;

use super::avx2::U32x8;
use super::lanes::{Lanes, TERNLOG_CH, TERNLOG_MAJ, TERNLOG_XOR3};
use super::scan_lanes;
use crate::work::{Found, WorkUnit};

/// Eight 32-bit lanes in one 256-bit register, with the AVX-512VL forms of the fused operations.
#[derive(Clone, Copy)]
pub(crate) struct U32x8Vl(U32x8);

// SAFETY (all methods): only reached from `scan`, which is compiled with AVX2, AVX-512F and
// AVX-512VL enabled and is called only after the dispatcher has checked that the CPU supports them.
impl Lanes for U32x8Vl {
    const WIDTH: usize = 8;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        U32x8Vl(U32x8::splat(x))
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        U32x8Vl(self.0.add(o.0))
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        U32x8Vl(self.0.xor(o.0))
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        U32x8Vl(self.0.and(o.0))
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        U32x8Vl(self.0.or(o.0))
    }
    #[inline(always)]
    fn shr<const N: i32>(self) -> Self {
        U32x8Vl(self.0.shr::<N>())
    }
    #[inline(always)]
    fn shl<const N: i32>(self) -> Self {
        U32x8Vl(self.0.shl::<N>())
    }
    #[inline(always)]
    fn nonce_words(base: u32) -> Self {
        U32x8Vl(U32x8::nonce_words(base))
    }
    #[inline(always)]
    fn bswap_le_mask(self, limit: u32) -> u32 {
        unsafe {
            let x = _mm256_shuffle_epi8(self.0 .0, super::avx2::bswap_mask());
            _mm256_cmple_epu32_mask(x, _mm256_set1_epi32(limit as i32)) as u32
        }
    }
    #[inline(always)]
    fn rotr<const R: i32, const L: i32>(self) -> Self {
        unsafe { U32x8Vl(U32x8(_mm256_ror_epi32::<R>(self.0 .0))) }
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

impl U32x8Vl {
    #[inline(always)]
    fn ternlog<const IMM: i32>(self, b: Self, c: Self) -> Self {
        unsafe {
            U32x8Vl(U32x8(_mm256_ternarylogic_epi32::<IMM>(
                self.0 .0, b.0 .0, c.0 .0,
            )))
        }
    }
}

/// Scans `count` nonces from `start`, pushing every nonce whose hash meets the target.
///
/// # Safety
/// The CPU must support AVX2, AVX-512F and AVX-512VL.
#[target_feature(enable = "avx2,avx512f,avx512vl")]
pub(crate) unsafe fn scan(work: &WorkUnit, start: u32, count: u32, found: &mut Vec<Found>) {
    scan_lanes::<U32x8Vl>(work, start, count, found);
}

/// Scans like [`scan`], two vectors in lockstep.
///
/// # Safety
/// As for [`scan`].
#[target_feature(enable = "avx2,avx512f,avx512vl")]
pub(crate) unsafe fn scan_x2(work: &WorkUnit, start: u32, count: u32, found: &mut Vec<Found>) {
    scan_lanes::<super::lanes::Pair<U32x8Vl>>(work, start, count, found);
}
