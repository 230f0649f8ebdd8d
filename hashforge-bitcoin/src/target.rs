//! `Target`, `CompactTarget` and pool difficulty.
//!
//! A hash meets a target when the hash, read as a little-endian 256-bit number,
//! is less than or equal to the target. Difficulty 1 is `0xFFFF · 2^208`.

use std::cmp::Ordering;
use std::fmt;

use crate::error::{HexError, PowError};
use crate::hash::Hash256;

/// A 256-bit proof-of-work target, as four little-endian `u64` limbs (limb 3 most significant).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target([u64; 4]);

/// The compact "nBits" encoding of a target found in block headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CompactTarget(pub u32);

impl Target {
    /// The easiest target: every hash meets it.
    pub const MAX: Target = Target([u64::MAX; 4]);
    /// The difficulty-1 target, `0x00000000FFFF0000…0000`.
    pub const DIFF1: Target = Target([0, 0, 0, 0x0000_0000_FFFF_0000]);

    /// Builds a target from little-endian limbs.
    pub const fn from_limbs(limbs: [u64; 4]) -> Self {
        Target(limbs)
    }

    /// The little-endian limbs.
    pub const fn limbs(&self) -> [u64; 4] {
        self.0
    }

    /// The target as 32 little-endian bytes (the layout of a hash).
    pub fn to_le_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, limb) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&limb.to_le_bytes());
        }
        out
    }

    /// The target from 32 little-endian bytes.
    pub fn from_le_bytes(b: &[u8; 32]) -> Self {
        Target(Hash256(*b).to_limbs())
    }

    /// Parses 64 hex digits in display order (most significant first, e.g. `00000000ffff0000…`).
    pub fn from_display_hex(s: &str, what: &'static str) -> Result<Self, HexError> {
        Ok(Target::from_le_bytes(&crate::hex::decode_display(s, what)?))
    }

    /// The most significant 32 bits. A hash whose top 32 bits exceed this cannot meet the target;
    /// kernels use it for their early exit.
    pub fn top_word(&self) -> u32 {
        (self.0[3] >> 32) as u32
    }

    /// Whether `hash` meets this target (hash ≤ target).
    pub fn is_met_by(&self, hash: &Hash256) -> bool {
        cmp_limbs(&hash.to_limbs(), &self.0) != Ordering::Greater
    }

    /// Decodes compact nBits. Negative or overflowing encodings are errors.
    pub fn from_compact(c: CompactTarget) -> Result<Self, PowError> {
        let exp = c.0 >> 24;
        let mantissa = c.0 & 0x007f_ffff;
        if c.0 & 0x0080_0000 != 0 && mantissa != 0 {
            return Err(PowError::Target(format!("nBits {:08x} is negative", c.0)));
        }
        let value = if exp <= 3 {
            Target([(mantissa >> (8 * (3 - exp))) as u64, 0, 0, 0])
        } else {
            let shift = 8 * (exp - 3);
            if mantissa != 0 && bit_length(mantissa as u64) + shift > 256 {
                return Err(PowError::Target(format!(
                    "nBits {:08x} overflows 256 bits",
                    c.0
                )));
            }
            shl(Target([mantissa as u64, 0, 0, 0]), shift)
        };
        Ok(value)
    }

    /// Encodes as compact nBits (rounding down, as Bitcoin Core does).
    pub fn to_compact(&self) -> CompactTarget {
        let bits = self.bit_len();
        let mut size = bits.div_ceil(8);
        let mut mantissa = if size <= 3 {
            (self.0[0] << (8 * (3 - size))) as u32
        } else {
            (shr(*self, 8 * (size - 3)).0[0] & 0xff_ffff) as u32
        };
        if mantissa & 0x0080_0000 != 0 {
            mantissa >>= 8;
            size += 1;
        }
        CompactTarget(mantissa | (size << 24))
    }

    /// The pool difficulty of this target: `DIFF1 / target`.
    pub fn difficulty(&self) -> f64 {
        to_f64(&Target::DIFF1.0) / to_f64(&self.0)
    }

    /// The target for a pool difficulty: `DIFF1 / difficulty`. Fractional difficulties are allowed;
    /// difficulties so small that the target exceeds 256 bits give `Target::MAX`.
    pub fn from_difficulty(difficulty: f64) -> Result<Self, PowError> {
        if !difficulty.is_finite() || difficulty <= 0.0 {
            return Err(PowError::Target(format!(
                "difficulty must be a positive number, got {difficulty}"
            )));
        }
        // DIFF1 = 0xFFFF · 2^208, so target = (0xFFFF / d) · 2^208 with 53 bits of precision,
        // exact for powers of two and for 1/10^k as pools mean them.
        let m = 65535.0 / difficulty;
        let bits = m.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as i32;
        let (mant, e) = if exp == 0 {
            (bits & ((1 << 52) - 1), -1074)
        } else {
            ((bits & ((1 << 52) - 1)) | (1 << 52), exp - 1075)
        };
        let shift = e + 208;
        if shift >= 0 {
            let shift = shift as u32;
            if bit_length(mant) + shift > 256 {
                return Ok(Target::MAX);
            }
            Ok(shl(Target([mant, 0, 0, 0]), shift))
        } else {
            let s = (-shift) as u32;
            Ok(Target([if s >= 64 { 0 } else { mant >> s }, 0, 0, 0]))
        }
    }

    fn bit_len(&self) -> u32 {
        for i in (0..4).rev() {
            if self.0[i] != 0 {
                return 64 * i as u32 + bit_length(self.0[i]);
            }
        }
        0
    }
}

/// The difficulty a hash meets ("share difficulty"): `DIFF1 / hash`.
pub fn hash_difficulty(hash: &Hash256) -> f64 {
    let v = to_f64(&hash.to_limbs());
    if v == 0.0 {
        f64::INFINITY
    } else {
        to_f64(&Target::DIFF1.0) / v
    }
}

impl Ord for Target {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_limbs(&self.0, &other.0)
    }
}

impl PartialOrd for Target {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Target {
    /// 64 hex digits, most significant first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::hex::fmt_display(&self.to_le_bytes(), f)
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({self})")
    }
}

impl fmt::Display for CompactTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

fn cmp_limbs(a: &[u64; 4], b: &[u64; 4]) -> Ordering {
    a.iter().rev().cmp(b.iter().rev())
}

fn bit_length(x: u64) -> u32 {
    64 - x.leading_zeros()
}

fn to_f64(limbs: &[u64; 4]) -> f64 {
    limbs
        .iter()
        .rev()
        .fold(0.0, |acc, &l| acc * 18446744073709551616.0 + l as f64)
}

fn shl(t: Target, shift: u32) -> Target {
    let (words, bits) = ((shift / 64) as usize, shift % 64);
    let mut out = [0u64; 4];
    for i in (words..4).rev() {
        let src = i - words;
        out[i] = t.0[src] << bits;
        if bits != 0 && src > 0 {
            out[i] |= t.0[src - 1] >> (64 - bits);
        }
    }
    Target(out)
}

fn shr(t: Target, shift: u32) -> Target {
    let (words, bits) = ((shift / 64) as usize, shift % 64);
    let mut out = [0u64; 4];
    for (i, o) in out
        .iter_mut()
        .enumerate()
        .take(4usize.saturating_sub(words))
    {
        let src = i + words;
        *o = t.0[src] >> bits;
        if bits != 0 && src + 1 < 4 {
            *o |= t.0[src + 1] << (64 - bits);
        }
    }
    Target(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_compare_as_little_endian_numbers() {
        let mut t = [0u8; 32];
        t[31] = 0x10;
        let target = Target::from_le_bytes(&t);
        let mut hash = [0xffu8; 32];
        hash[31] = 0x0f;
        assert!(target.is_met_by(&Hash256(hash)));
        hash[31] = 0x10;
        assert!(!target.is_met_by(&Hash256(hash)));
        assert!(target.is_met_by(&Hash256(t)));
        assert_eq!(target.to_le_bytes(), t);
    }

    #[test]
    fn pool_difficulties_and_regtest_bits() {
        assert_eq!(Target::from_difficulty(1.0).unwrap(), Target::DIFF1);
        let milli = Target::from_difficulty(0.001).unwrap();
        assert!((milli.difficulty() - 0.001).abs() < 1e-12);
        let nano = Target::from_difficulty(1e-9).unwrap();
        assert!((nano.difficulty() - 1e-9).abs() < 1e-18);
        assert_eq!(Target::from_difficulty(1e-30).unwrap(), Target::MAX);
        assert!(Target::from_difficulty(-1.0).is_err());
        let regtest = Target::from_compact(CompactTarget(0x207f_ffff)).unwrap();
        assert_eq!(regtest.limbs(), [0, 0, 0, 0x7fff_ff00_0000_0000]);
        assert!((hash_difficulty(&Hash256(Target::DIFF1.to_le_bytes())) - 1.0).abs() < 1e-12);
    }
}
