//! `Lanes`: the word operations SHA-256 needs, over one `u32` or a SIMD vector of them.
//!
//! The scalar and AVX2 kernels run the same algorithm (`tail.rs`) over different lane types.

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
