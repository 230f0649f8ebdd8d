//! The SHA-256d of a header's second chunk, generic over lanes, with every shortcut:
//! rounds 0–2 and the nonce-free schedule words come precomputed (`Precomputed`),
//! constant message words fold into the round constants, and the second hash stops
//! after the round that fixes the last state word, the only one the early test reads.

use seq_macro::seq;

use super::lanes::Lanes;
use crate::work::{Precomputed, LEN_W15, PAD_W4};
use hashforge_bitcoin::sha256::{IV, K};

#[inline(always)]
fn bsig0<V: Lanes>(x: V) -> V {
    x.rotr::<2, 30>()
        .xor3(x.rotr::<13, 19>(), x.rotr::<22, 10>())
}
#[inline(always)]
fn bsig1<V: Lanes>(x: V) -> V {
    x.rotr::<6, 26>()
        .xor3(x.rotr::<11, 21>(), x.rotr::<25, 7>())
}
#[inline(always)]
fn ssig0<V: Lanes>(x: V) -> V {
    x.rotr::<7, 25>().xor3(x.rotr::<18, 14>(), x.shr::<3>())
}
#[inline(always)]
fn ssig1<V: Lanes>(x: V) -> V {
    x.rotr::<17, 15>().xor3(x.rotr::<19, 13>(), x.shr::<10>())
}

/// One round; `kw` is K[i] + W[i].
#[inline(always)]
fn round<V: Lanes>(s: &mut [V; 8], kw: V) {
    let [a, b, c, d, e, f, g, h] = *s;
    let t1 = h.add(bsig1(e)).add(e.ch(f, g)).add(kw);
    let t2 = bsig0(a).add(a.maj(b, c));
    *s = [t1.add(t2), a, b, c, d.add(t1), e, f, g];
}

/// W[i] = σ1(W[i-2]) + W[i-7] + σ0(W[i-15]) + W[i-16], in place in a 16-word ring.
#[inline(always)]
fn expand<V: Lanes>(w: &mut [V; 16], i: usize) {
    w[i & 15] = ssig1(w[(i - 2) & 15])
        .add(w[(i - 7) & 15])
        .add(ssig0(w[(i - 15) & 15]))
        .add(w[i & 15]);
}

/// The second hash's last state word `H7` for the nonces `base..base+WIDTH`.
///
/// The top 32 bits of the final hash (as a little-endian number) are `bswap(H7)`.
#[inline(always)]
pub(crate) fn last_word<V: Lanes>(p: &Precomputed, base: u32) -> V {
    let splat = V::splat;
    let w3 = V::nonce_words(base);

    // ---- First hash, second chunk, from round 3. ----
    let [a, b, c, d, e, f, g, _] = p.state3.map(splat);
    let t1 = splat(p.t1_3).add(w3);
    let mut s = [t1.add(splat(p.t2_3)), a, b, c, d.add(t1), e, f, g];
    // Rounds 4..15: the message words are constants (padding, zeros, length).
    round(&mut s, splat(K[4].wrapping_add(PAD_W4)));
    seq!(I in 5..15 {
        round(&mut s, splat(K[I]));
    });
    round(&mut s, splat(K[15].wrapping_add(LEN_W15)));
    // Rounds 16..32: schedule words with the constant terms folded in.
    let w16 = splat(p.w16);
    let w17 = splat(p.w17);
    round(&mut s, splat(K[16].wrapping_add(p.w16)));
    round(&mut s, splat(K[17].wrapping_add(p.w17)));
    let w18 = splat(p.w18_base).add(ssig0(w3));
    round(&mut s, splat(K[18]).add(w18));
    let w19 = splat(p.w19_base).add(w3);
    round(&mut s, splat(K[19]).add(w19));
    let w20 = ssig1(w18).add(splat(PAD_W4));
    round(&mut s, splat(K[20]).add(w20));
    let w21 = ssig1(w19);
    round(&mut s, splat(K[21]).add(w21));
    let w22 = ssig1(w20).add(splat(LEN_W15));
    round(&mut s, splat(K[22]).add(w22));
    let w23 = ssig1(w21).add(w16);
    round(&mut s, splat(K[23]).add(w23));
    let w24 = ssig1(w22).add(w17);
    round(&mut s, splat(K[24]).add(w24));
    let w25 = ssig1(w23).add(w18);
    round(&mut s, splat(K[25]).add(w25));
    let w26 = ssig1(w24).add(w19);
    round(&mut s, splat(K[26]).add(w26));
    let w27 = ssig1(w25).add(w20);
    round(&mut s, splat(K[27]).add(w27));
    let w28 = ssig1(w26).add(w21);
    round(&mut s, splat(K[28]).add(w28));
    let w29 = ssig1(w27).add(w22);
    round(&mut s, splat(K[29]).add(w29));
    let w30 = ssig1(w28)
        .add(w23)
        .add(splat(hashforge_bitcoin::sha256::small_sigma0(LEN_W15)));
    round(&mut s, splat(K[30]).add(w30));
    let w31 = ssig1(w29).add(w24).add(splat(p.w31_base));
    round(&mut s, splat(K[31]).add(w31));
    // From W32 on, every term varies; W32 still has σ0(W17) + W16 folded.
    let w32 = ssig1(w30).add(w25).add(splat(p.w32_base));
    let mut w = [
        w32, w17, w18, w19, w20, w21, w22, w23, w24, w25, w26, w27, w28, w29, w30, w31,
    ];
    // Ring index i & 15: W32 sits at 0, W17 at 1 (read as W[33-16]), …
    round(&mut s, splat(K[32]).add(w32));
    seq!(I in 33..64 {
        expand(&mut w, I);
        round(&mut s, splat(K[I]).add(w[I & 15]));
    });
    let h1: [V; 8] = std::array::from_fn(|i| splat(p.midstate[i]).add(s[i]));

    // ---- Second hash: one chunk, the 32-byte digest then constant padding. ----
    let mut s = IV.map(splat);
    let mut x = [V::splat(0); 16];
    x[..8].copy_from_slice(&h1);
    x[8] = splat(0x8000_0000);
    x[15] = splat(256);
    seq!(I in 0..16 {
        round(&mut s, splat(K[I]).add(x[I]));
    });
    seq!(I in 16..60 {
        expand(&mut x, I);
        round(&mut s, splat(K[I]).add(x[I & 15]));
    });
    // Round 60 only as far as its new e, which becomes h after rounds 61–63.
    expand(&mut x, 60);
    let [_, _, _, d, e, f, g, h] = s;
    let e61 = d.add(
        h.add(bsig1(e))
            .add(e.ch(f, g))
            .add(splat(K[60]).add(x[60 & 15])),
    );
    e61.add(splat(IV[7]))
}
