//! The SHA-NI kernel: `STREAMS` nonces hashed in lockstep with the x86 SHA extensions.
//!
//! On Zen 3 `sha256rnds2` has a 4-cycle latency but issues every cycle, so one stream leaves
//! the unit mostly idle; interleaving independent nonces fills it, and 4 streams measured best.
//! On Intel cores of the Golden Cove class it issues once every 3 cycles, so 2 streams already
//! saturate it and 4 only add register pressure (the SHA instructions reach xmm0–15 alone).
//! Both widths are kernels of their own (`sha-ni-x2`, `sha-ni-x4`) and `auto` measures. Each nonce costs
//! 31 `sha256rnds2` for the first hash (rounds 0–1 come precomputed) and 31 for the
//! second (the last pair only moves words the early test does not read).
//!
//! A rolled unit runs its versions as the streams instead ([`scan_rolled`]): they share one
//! message schedule, so four of them fit in the registers where four nonces do not. That is all
//! rolling gains here: `sha256rnds2` bounds the kernel (on Zen 1 one issues every 2 cycles, with
//! a 4-cycle latency), the message instructions it saves issue beside it, and no version needs
//! fewer rounds.

use std::arch::x86_64::*;

use seq_macro::seq;

use crate::work::{Found, Precomputed, WorkUnit, LEN_W15, PAD_W4};
use hashforge_bitcoin::sha256::{self, IV, K};

/// A state as the SHA extensions hold it: (ABEF, CDGH).
#[derive(Clone, Copy)]
struct State {
    abef: __m128i,
    cdgh: __m128i,
}

#[inline(always)]
unsafe fn pack(s: &[u32; 8]) -> State {
    let [a, b, c, d, e, f, g, h] = s.map(|x| x as i32);
    State {
        abef: _mm_set_epi32(a, b, e, f),
        cdgh: _mm_set_epi32(c, d, g, h),
    }
}

/// Rounds i and i+1 with `wk` = (W[i] + K[i], W[i+1] + K[i+1]) in the low lanes.
#[inline(always)]
unsafe fn two_rounds(s: &mut State, wk: __m128i) {
    let next = _mm_sha256rnds2_epu32(s.cdgh, s.abef, wk);
    s.cdgh = s.abef;
    s.abef = next;
}

/// Four rounds with `wk` = W[i..i+4] + K[i..i+4].
#[inline(always)]
unsafe fn four_rounds(s: &mut State, wk: __m128i) {
    two_rounds(s, wk);
    two_rounds(s, _mm_shuffle_epi32::<0x0E>(wk));
}

/// W[i..i+4] from W[i-16..i-12], W[i-12..i-8], W[i-8..i-4], W[i-4..i].
#[inline(always)]
unsafe fn schedule(m0: __m128i, m1: __m128i, m2: __m128i, m3: __m128i) -> __m128i {
    let t = _mm_add_epi32(_mm_sha256msg1_epu32(m0, m1), _mm_alignr_epi8::<4>(m3, m2));
    _mm_sha256msg2_epu32(t, m3)
}

#[inline(always)]
unsafe fn k4(i: usize) -> __m128i {
    _mm_set_epi32(
        K[i + 3] as i32,
        K[i + 2] as i32,
        K[i + 1] as i32,
        K[i] as i32,
    )
}

#[inline(always)]
unsafe fn words(w: [u32; 4]) -> __m128i {
    _mm_set_epi32(w[3] as i32, w[2] as i32, w[1] as i32, w[0] as i32)
}

/// The state after the second chunk's rounds 0 and 1, which do not depend on the nonce.
#[inline(always)]
unsafe fn after_round_1(p: &Precomputed) -> State {
    let mut s = p.midstate;
    sha256::round(&mut s, K[0], p.tail[0]);
    sha256::round(&mut s, K[1], p.tail[1]);
    pack(&s)
}

/// Rounds 2 and 3's K + W, with the nonce as W3, in the low 64 bits.
#[inline(always)]
unsafe fn wk23(p: &Precomputed, nonce_be: u32) -> __m128i {
    let wk = ((nonce_be.wrapping_add(K[3]) as u64) << 32) | p.tail[2].wrapping_add(K[2]) as u64;
    _mm_cvtsi64_si128(wk as i64)
}

/// Four rounds on each stream with its next four schedule words, W[4·group..4·group+4], made
/// from the last sixteen (`m`, which moves on by four).
#[inline(always)]
unsafe fn scheduled_four_rounds<const STREAMS: usize>(
    st: &mut [State; STREAMS],
    m: &mut [[__m128i; 4]; STREAMS],
    group: usize,
) {
    for j in 0..STREAMS {
        let [a, b, c, d] = m[j];
        let next = schedule(a, b, c, d);
        m[j] = [b, c, d, next];
        four_rounds(&mut st[j], _mm_add_epi32(next, k4(group * 4)));
    }
}

/// Four rounds on each stream with the same next four schedule words (one schedule for all the
/// streams: the versions of one nonce).
#[inline(always)]
unsafe fn shared_four_rounds<const STREAMS: usize>(
    st: &mut [State; STREAMS],
    m: &mut [__m128i; 4],
    group: usize,
) {
    let [a, b, c, d] = *m;
    let next = schedule(a, b, c, d);
    *m = [b, c, d, next];
    let wk = _mm_add_epi32(next, k4(group * 4));
    for s in st.iter_mut() {
        four_rounds(s, wk);
    }
}

/// The second hash of `STREAMS` first-hash states (after round 63; `mid` is each one's
/// midstate): each stream's last state word `H7`.
#[inline(always)]
unsafe fn second_hash<const STREAMS: usize>(
    mut st: [State; STREAMS],
    mid: [State; STREAMS],
) -> [u32; STREAMS] {
    // The message's second half is constant padding.
    let iv = pack(&IV);
    let x2 = words([0x8000_0000, 0, 0, 0]);
    let x3 = words([0, 0, 0, 256]);
    let xk8 = _mm_add_epi32(x2, k4(8));
    let xk12 = _mm_add_epi32(x3, k4(12));
    // Feed the first digest (H0..H7) to the second hash as its message words.
    let mut x = [[x2; 4]; STREAMS];
    for j in 0..STREAMS {
        let abef = _mm_shuffle_epi32::<0x1B>(_mm_add_epi32(st[j].abef, mid[j].abef));
        let cdgh = _mm_shuffle_epi32::<0x1B>(_mm_add_epi32(st[j].cdgh, mid[j].cdgh));
        x[j] = [
            _mm_unpacklo_epi64(abef, cdgh),
            _mm_unpackhi_epi64(abef, cdgh),
            x2,
            x3,
        ];
        st[j] = iv;
        four_rounds(&mut st[j], _mm_add_epi32(x[j][0], k4(0)));
    }
    for j in 0..STREAMS {
        four_rounds(&mut st[j], _mm_add_epi32(x[j][1], k4(4)));
    }
    for s in st.iter_mut() {
        four_rounds(s, xk8);
    }
    for s in st.iter_mut() {
        four_rounds(s, xk12);
    }
    seq!(G in 4..15 {
        scheduled_four_rounds(&mut st, &mut x, G);
    });
    // Rounds 60 and 61 leave F = f62 = the final h before the feed-forward.
    for j in 0..STREAMS {
        let [a, b, c, d] = x[j];
        let next = schedule(a, b, c, d);
        two_rounds(&mut st[j], _mm_add_epi32(next, k4(60)));
    }
    st.map(|s| (_mm_cvtsi128_si32(s.abef) as u32).wrapping_add(IV[7]))
}

/// Scans `count` nonces from `start`, `STREAMS` independent nonces at a time, pushing every
/// nonce (and version) whose hash meets the target. A rolled unit goes to [`scan_rolled`].
///
/// # Safety
/// The CPU must support SHA, SSE4.1 and SSSE3.
#[target_feature(enable = "sha,sse4.1,ssse3")]
pub(crate) unsafe fn scan<const STREAMS: usize>(
    work: &WorkUnit,
    start: u32,
    count: u32,
    found: &mut Vec<Found>,
) {
    let first = found.len();
    match work.versions().len() {
        1 => scan_version::<STREAMS>(work, 0, start, count, found),
        2 => scan_rolled::<2>(work, start, count, found),
        3 => scan_rolled::<3>(work, start, count, found),
        _ => scan_rolled::<4>(work, start, count, found),
    }
    super::in_scan_order(work, &mut found[first..]);
}

/// A unit rolled over `VERSIONS` versions, one nonce at a time: the versions are the streams.
/// Their first hashes run in lockstep on one message schedule, made once per nonce (the second
/// chunk is the same in every version), so the `VERSIONS` states are the only per-stream
/// registers and all of them fit in xmm0–15 with the schedule; then the second hashes, one
/// stream per version.
#[inline(always)]
unsafe fn scan_rolled<const VERSIONS: usize>(
    work: &WorkUnit,
    start: u32,
    count: u32,
    found: &mut Vec<Found>,
) {
    let ps = work.precomputed_versions();
    debug_assert_eq!(ps.len(), VERSIONS);
    let limit = work.target().top_word();
    let start2: [State; VERSIONS] = std::array::from_fn(|v| after_round_1(&ps[v]));
    let mid: [State; VERSIONS] = std::array::from_fn(|v| pack(&ps[v].midstate));
    // The second chunk (merkle tail, time, bits, nonce, padding) is the same in every version.
    let p = &ps[0];
    let w0_base = words([p.tail[0], p.tail[1], p.tail[2], 0]);
    let w1 = words([PAD_W4, 0, 0, 0]);
    let w2 = _mm_setzero_si128();
    let w3 = words([0, 0, 0, LEN_W15]);
    let wk4 = _mm_add_epi32(w1, k4(4));
    let wk8 = k4(8);
    let wk12 = _mm_add_epi32(w3, k4(12));

    for nonce in start as u64..start as u64 + count as u64 {
        let nonce_be = (nonce as u32).swap_bytes();
        let mut st = start2;
        let wk23 = wk23(p, nonce_be);
        for s in st.iter_mut() {
            two_rounds(s, wk23);
        }
        for wk in [wk4, wk8, wk12] {
            for s in st.iter_mut() {
                four_rounds(s, wk);
            }
        }
        let mut m = [_mm_insert_epi32::<3>(w0_base, nonce_be as i32), w1, w2, w3];
        seq!(G in 4..16 {
            shared_four_rounds(&mut st, &mut m, G);
        });
        let mut h7 = [0u32; VERSIONS];
        let mut v = 0;
        while v + 2 <= VERSIONS {
            let pair = second_hash::<2>([st[v], st[v + 1]], [mid[v], mid[v + 1]]);
            h7[v..v + 2].copy_from_slice(&pair);
            v += 2;
        }
        if v < VERSIONS {
            h7[v] = second_hash::<1>([st[v]], [mid[v]])[0];
        }
        for (index, h7) in h7.into_iter().enumerate() {
            if h7.swap_bytes() <= limit {
                found.extend(work.check(index, nonce as u32));
            }
        }
    }
}

/// [`scan`] on the version of index `index`.
#[inline(always)]
unsafe fn scan_version<const STREAMS: usize>(
    work: &WorkUnit,
    index: usize,
    start: u32,
    count: u32,
    found: &mut Vec<Found>,
) {
    let p = &work.precomputed_versions()[index];
    let limit = work.target().top_word();
    let start2 = after_round_1(p);
    let mid = pack(&p.midstate);
    let w0_base = words([p.tail[0], p.tail[1], p.tail[2], 0]);
    let w1 = words([PAD_W4, 0, 0, 0]);
    let w2 = _mm_setzero_si128();
    let w3 = words([0, 0, 0, LEN_W15]);
    let wk4 = _mm_add_epi32(w1, k4(4));
    let wk8 = k4(8);
    let wk12 = _mm_add_epi32(w3, k4(12));

    let end = start as u64 + count as u64;
    let mut n = start as u64;
    while n < end {
        let mut st = [start2; STREAMS];
        let mut m0 = [w0_base; STREAMS];
        for j in 0..STREAMS {
            let nonce_be = (n as u32).wrapping_add(j as u32).swap_bytes();
            m0[j] = _mm_insert_epi32::<3>(w0_base, nonce_be as i32);
            two_rounds(&mut st[j], wk23(p, nonce_be));
        }
        for s in st.iter_mut() {
            four_rounds(s, wk4);
        }
        for s in st.iter_mut() {
            four_rounds(s, wk8);
        }
        for s in st.iter_mut() {
            four_rounds(s, wk12);
        }
        let mut m = [[m0[0], w1, w2, w3]; STREAMS];
        for j in 0..STREAMS {
            m[j][0] = m0[j];
        }
        seq!(G in 4..16 {
            scheduled_four_rounds(&mut st, &mut m, G);
        });
        for (j, h7) in second_hash(st, [mid; STREAMS]).into_iter().enumerate() {
            let nonce = n + j as u64;
            if h7.swap_bytes() <= limit && nonce < end {
                found.extend(work.check(index, nonce as u32));
            }
        }
        n += STREAMS as u64;
    }
}
