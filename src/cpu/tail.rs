//! The SHA-256d of a header's second chunk, generic over lanes, with every shortcut:
//! rounds 0–2 and the nonce-free schedule words come precomputed (`Precomputed`),
//! constant message words fold into the round constants, and the second hash stops
//! after the round that fixes the last state word, the only one the early test reads.
//! [`Schedule`] is the rolled form: the schedule words of one nonce, shared by its versions.

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

/// Rounds 3..17 of the first hash's second chunk, from the precomputed state after round 2:
/// W3 is the nonce, the rest constants.
#[inline(always)]
fn rounds_3_to_17<V: Lanes>(p: &Precomputed, w3: V) -> [V; 8] {
    let splat = V::splat;
    let [a, b, c, d, e, f, g, _] = p.state3.map(splat);
    let t1 = splat(p.t1_3).add(w3);
    let mut s = [t1.add(splat(p.t2_3)), a, b, c, d.add(t1), e, f, g];
    // Rounds 4..15: the message words are constants (padding, zeros, length).
    round(&mut s, splat(K[4].wrapping_add(PAD_W4)));
    seq!(I in 5..15 {
        round(&mut s, splat(K[I]));
    });
    round(&mut s, splat(K[15].wrapping_add(LEN_W15)));
    // Rounds 16 and 17: nonce-free schedule words.
    round(&mut s, splat(K[16].wrapping_add(p.w16)));
    round(&mut s, splat(K[17].wrapping_add(p.w17)));
    s
}

/// What takes the schedule words: the rounds themselves, or a store for several versions.
/// (A trait rather than a closure, since only a method can be marked `#[inline(always)]`, and a
/// call left out of line would lose the kernel's target features.)
trait Words<V> {
    fn word(&mut self, kw: V);
}

/// The words go straight into the rounds of one state.
struct Rounds<V>([V; 8]);

impl<V: Lanes> Words<V> for Rounds<V> {
    #[inline(always)]
    fn word(&mut self, kw: V) {
        round(&mut self.0, kw);
    }
}

/// The words are kept for several versions' rounds.
struct Store<V> {
    kw: [V; 46],
    len: usize,
}

impl<V: Lanes> Words<V> for Store<V> {
    #[inline(always)]
    fn word(&mut self, kw: V) {
        self.kw[self.len] = kw;
        self.len += 1;
    }
}

/// The second chunk's schedule words 18..63 in order, each passed to `out` as K[i] + W[i].
/// They depend on the nonce (`w3`) and the version-independent values of `p` only.
#[inline(always)]
fn schedule_words<V: Lanes>(p: &Precomputed, w3: V, out: &mut impl Words<V>) {
    let splat = V::splat;
    let w16 = splat(p.w16);
    let w17 = splat(p.w17);
    let w18 = splat(p.w18_base).add(ssig0(w3));
    out.word(splat(K[18]).add(w18));
    let w19 = splat(p.w19_base).add(w3);
    out.word(splat(K[19]).add(w19));
    let w20 = ssig1(w18).add(splat(PAD_W4));
    out.word(splat(K[20]).add(w20));
    let w21 = ssig1(w19);
    out.word(splat(K[21]).add(w21));
    let w22 = ssig1(w20).add(splat(LEN_W15));
    out.word(splat(K[22]).add(w22));
    let w23 = ssig1(w21).add(w16);
    out.word(splat(K[23]).add(w23));
    let w24 = ssig1(w22).add(w17);
    out.word(splat(K[24]).add(w24));
    let w25 = ssig1(w23).add(w18);
    out.word(splat(K[25]).add(w25));
    let w26 = ssig1(w24).add(w19);
    out.word(splat(K[26]).add(w26));
    let w27 = ssig1(w25).add(w20);
    out.word(splat(K[27]).add(w27));
    let w28 = ssig1(w26).add(w21);
    out.word(splat(K[28]).add(w28));
    let w29 = ssig1(w27).add(w22);
    out.word(splat(K[29]).add(w29));
    let w30 = ssig1(w28)
        .add(w23)
        .add(splat(hashforge_bitcoin::sha256::small_sigma0(LEN_W15)));
    out.word(splat(K[30]).add(w30));
    let w31 = ssig1(w29).add(w24).add(splat(p.w31_base));
    out.word(splat(K[31]).add(w31));
    // From W32 on, every term varies; W32 still has σ0(W17) + W16 folded.
    let w32 = ssig1(w30).add(w25).add(splat(p.w32_base));
    let mut w = [
        w32, w17, w18, w19, w20, w21, w22, w23, w24, w25, w26, w27, w28, w29, w30, w31,
    ];
    // Ring index i & 15: W32 sits at 0, W17 at 1 (read as W[33-16]), …
    out.word(splat(K[32]).add(w32));
    seq!(I in 33..64 {
        expand(&mut w, I);
        out.word(splat(K[I]).add(w[I & 15]));
    });
}

/// The second hash's last state word `H7`, from the first hash's state after round 63.
#[inline(always)]
fn second_hash_last_word<V: Lanes>(p: &Precomputed, s: [V; 8]) -> V {
    let splat = V::splat;
    let h1: [V; 8] = std::array::from_fn(|i| splat(p.midstate[i]).add(s[i]));

    // One chunk: the 32-byte digest then constant padding.
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

/// The second hash's last state word `H7` for the nonces `base..base+WIDTH`.
///
/// The top 32 bits of the final hash (as a little-endian number) are `bswap(H7)`.
#[inline(always)]
pub(crate) fn last_word<V: Lanes>(p: &Precomputed, base: u32) -> V {
    let w3 = V::nonce_words(base);
    // Each schedule word goes straight into its round.
    let mut rounds = Rounds(rounds_3_to_17(p, w3));
    schedule_words(p, w3, &mut rounds);
    second_hash_last_word(p, rounds.0)
}

/// Rounds 18..63 of the second chunk share their message words (K[i] + W[i]) between every
/// version of a nonce: what a rolled unit computes once per nonce.
pub(crate) struct Schedule<V> {
    w3: V,
    kw: [V; 46],
}

impl<V: Lanes> Schedule<V> {
    /// The schedule for the nonces `base..base+WIDTH`; `p` may be any version's values.
    #[inline(always)]
    pub(crate) fn new(p: &Precomputed, base: u32) -> Self {
        let w3 = V::nonce_words(base);
        let mut store = Store {
            kw: [w3; 46],
            len: 0,
        };
        schedule_words(p, w3, &mut store);
        Schedule { w3, kw: store.kw }
    }

    /// [`last_word`] for the version whose values are `p`, from this shared schedule.
    #[inline(always)]
    pub(crate) fn last_word(&self, p: &Precomputed) -> V {
        let mut s = rounds_3_to_17(p, self.w3);
        seq!(I in 0..46 {
            round(&mut s, self.kw[I]);
        });
        second_hash_last_word(p, s)
    }
}
