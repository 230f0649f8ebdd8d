//! `Lanes`: the word operations SHA-256 needs, over one `u32` or a SIMD vector of them.
//!
//! The scalar, AVX2 and AVX-512 kernels run the same algorithm (`tail.rs`) over different lane
//! types. The fused operations (`rotr`, `ch`, `maj`, `xor3`) have default bodies built from the
//! basic ones; a lane type whose instruction set has one-instruction forms (AVX-512's `vprord`
//! and `vpternlogd`) overrides them.

/// `vpternlogd` truth tables (bit `a·4 + b·2 + c` of the immediate is `f(a, b, c)`).
/// Ch(e, f, g) = (e ∧ f) ⊕ (¬e ∧ g).
pub(crate) const TERNLOG_CH: i32 = 0xca;
/// Maj(a, b, c): the majority of three bits.
pub(crate) const TERNLOG_MAJ: i32 = 0xe8;
/// a ⊕ b ⊕ c.
pub(crate) const TERNLOG_XOR3: i32 = 0x96;

/// A vector of 32-bit words supporting the SHA-256 operations lane by lane.
///
/// Every method is `#[inline(always)]` so that it inlines into a kernel compiled
/// with the matching `#[target_feature]`.
pub(crate) trait Lanes: Copy {
    /// Number of nonces processed at once.
    const WIDTH: usize;
    fn splat(x: u32) -> Self;
    fn add(self, o: Self) -> Self;
    fn xor(self, o: Self) -> Self;
    fn and(self, o: Self) -> Self;
    fn or(self, o: Self) -> Self;
    fn shr<const N: i32>(self) -> Self;
    fn shl<const N: i32>(self) -> Self;
    /// The nonces `base, base+1, …` as message words (byte-swapped, since the nonce is
    /// serialized little-endian but SHA-256 reads big-endian words).
    fn nonce_words(base: u32) -> Self;
    /// Bit `i` set where lane `i`'s byte-swapped word is ≤ `limit` (unsigned).
    fn bswap_le_mask(self, limit: u32) -> u32;

    /// Rotate right by `R`; `L` is `32 - R` (stable Rust cannot compute it from `R`).
    #[inline(always)]
    fn rotr<const R: i32, const L: i32>(self) -> Self {
        self.shr::<R>().or(self.shl::<L>())
    }
    /// Ch(e, f, g) with `self` as e, as `g ⊕ (e ∧ (f ⊕ g))`.
    #[inline(always)]
    fn ch(self, f: Self, g: Self) -> Self {
        g.xor(self.and(f.xor(g)))
    }
    /// Maj(a, b, c) with `self` as a, as `b ⊕ ((a ⊕ b) ∧ (b ⊕ c))`.
    #[inline(always)]
    fn maj(self, b: Self, c: Self) -> Self {
        b.xor(self.xor(b).and(b.xor(c)))
    }
    /// `self ⊕ b ⊕ c`.
    #[inline(always)]
    fn xor3(self, b: Self, c: Self) -> Self {
        self.xor(b).xor(c)
    }
}

impl Lanes for u32 {
    const WIDTH: usize = 1;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        x
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        self ^ o
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        self & o
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        self | o
    }
    #[inline(always)]
    fn shr<const N: i32>(self) -> Self {
        self >> N
    }
    #[inline(always)]
    fn shl<const N: i32>(self) -> Self {
        self << N
    }
    #[inline(always)]
    fn nonce_words(base: u32) -> Self {
        base.swap_bytes()
    }
    #[inline(always)]
    fn bswap_le_mask(self, limit: u32) -> u32 {
        (self.swap_bytes() <= limit) as u32
    }
}

/// Two vectors of lanes worked in lockstep: twice the nonces per step, and two independent
/// dependency chains, so that a kernel whose rounds are latency-bound on one vector fills the
/// vector ports. Every operation applies to both halves.
#[derive(Clone, Copy)]
pub(crate) struct Pair<V>([V; 2]);

impl<V: Lanes> Lanes for Pair<V> {
    const WIDTH: usize = 2 * V::WIDTH;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        let v = V::splat(x);
        Pair([v, v])
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Pair([self.0[0].add(o.0[0]), self.0[1].add(o.0[1])])
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        Pair([self.0[0].xor(o.0[0]), self.0[1].xor(o.0[1])])
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        Pair([self.0[0].and(o.0[0]), self.0[1].and(o.0[1])])
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        Pair([self.0[0].or(o.0[0]), self.0[1].or(o.0[1])])
    }
    #[inline(always)]
    fn shr<const N: i32>(self) -> Self {
        Pair([self.0[0].shr::<N>(), self.0[1].shr::<N>()])
    }
    #[inline(always)]
    fn shl<const N: i32>(self) -> Self {
        Pair([self.0[0].shl::<N>(), self.0[1].shl::<N>()])
    }
    #[inline(always)]
    fn nonce_words(base: u32) -> Self {
        Pair([
            V::nonce_words(base),
            V::nonce_words(base.wrapping_add(V::WIDTH as u32)),
        ])
    }
    #[inline(always)]
    fn bswap_le_mask(self, limit: u32) -> u32 {
        self.0[0].bswap_le_mask(limit) | (self.0[1].bswap_le_mask(limit) << V::WIDTH)
    }
    #[inline(always)]
    fn rotr<const R: i32, const L: i32>(self) -> Self {
        Pair([self.0[0].rotr::<R, L>(), self.0[1].rotr::<R, L>()])
    }
    #[inline(always)]
    fn ch(self, f: Self, g: Self) -> Self {
        Pair([self.0[0].ch(f.0[0], g.0[0]), self.0[1].ch(f.0[1], g.0[1])])
    }
    #[inline(always)]
    fn maj(self, b: Self, c: Self) -> Self {
        Pair([self.0[0].maj(b.0[0], c.0[0]), self.0[1].maj(b.0[1], c.0[1])])
    }
    #[inline(always)]
    fn xor3(self, b: Self, c: Self) -> Self {
        Pair([
            self.0[0].xor3(b.0[0], c.0[0]),
            self.0[1].xor3(b.0[1], c.0[1]),
        ])
    }
}

/// What `vpternlogd` computes for the immediate `imm`, bit by bit: the reference against which
/// the tests check the `TERNLOG_*` constants.
#[cfg(test)]
fn ternlog(imm: i32, a: u32, b: u32, c: u32) -> u32 {
    (0..32).fold(0, |r, i| {
        let index = (((a >> i) & 1) << 2) | (((b >> i) & 1) << 1) | ((c >> i) & 1);
        r | ((((imm as u32) >> index) & 1) << i)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ternlog_constants_are_ch_maj_xor3() {
        let words = [
            0u32,
            u32::MAX,
            0xdead_beef,
            0x0123_4567,
            0x89ab_cdef,
            0x5555_aaaa,
        ];
        for a in words {
            for b in words {
                for c in words {
                    assert_eq!(ternlog(TERNLOG_CH, a, b, c), a.ch(b, c));
                    assert_eq!(ternlog(TERNLOG_CH, a, b, c), (a & b) ^ (!a & c));
                    assert_eq!(ternlog(TERNLOG_MAJ, a, b, c), a.maj(b, c));
                    assert_eq!(ternlog(TERNLOG_MAJ, a, b, c), (a & b) ^ (a & c) ^ (b & c));
                    assert_eq!(ternlog(TERNLOG_XOR3, a, b, c), a.xor3(b, c));
                }
            }
        }
        assert_eq!(
            0xdead_beefu32.rotr::<13, 19>(),
            0xdead_beefu32.rotate_right(13)
        );
    }
}
