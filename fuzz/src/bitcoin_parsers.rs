//! `bitcoin_parsers`: hex, display-order hex, headers, compact targets, difficulty and sha256d
//! from `hashforge-bitcoin`, on arbitrary bytes.
//!
//! Invariants: nothing panics; every successful decode re-encodes to its (trimmed, lowercased)
//! input; a compact target that decodes re-encodes to a compact target decoding to the same
//! value; `to_compact` never produces an encoding `from_compact` refuses; `from_difficulty`
//! accepts exactly the finite positive numbers, is monotonic, and inverts `difficulty`;
//! `sha256d` matches the `sha2` crate.

use hashforge_bitcoin::{hash_difficulty, hex, merkle, sha256d, CompactTarget, Hash256, Header};
use hashforge_bitcoin::{PowError, Target};
use sha2::{Digest, Sha256};

/// One fuzz input.
pub fn run(data: &[u8]) {
    text(&String::from_utf8_lossy(data));
    binary(data);
}

fn text(s: &str) {
    let canon = s.trim().to_ascii_lowercase();
    if let Ok(v) = hex::decode(s, "fuzz") {
        assert_eq!(::hex::encode(&v), canon, "hex::decode round trip");
    }
    if let Ok(b) = hex::decode_array::<4>(s, "fuzz") {
        assert_eq!(::hex::encode(b), canon);
    }
    if let Ok(b) = hex::decode_display(s, "fuzz") {
        let mut rev = b;
        rev.reverse();
        assert_eq!(::hex::encode(rev), canon, "decode_display round trip");
        assert_eq!(Hash256::from_display_hex(s, "fuzz"), Ok(Hash256(b)));
        assert_eq!(Hash256(b).to_string(), canon);
        let t = Target::from_display_hex(s, "fuzz").expect("same hex as decode_display");
        assert_eq!(t.to_string(), canon, "Target display round trip");
        target(t);
    } else {
        assert!(Target::from_display_hex(s, "fuzz").is_err());
        assert!(Hash256::from_display_hex(s, "fuzz").is_err());
    }
    if let Ok(h) = Header::from_hex(s) {
        assert_eq!(::hex::encode(h.to_bytes()), canon, "header hex round trip");
        header(&h.to_bytes());
    }
    if let Ok(d) = s.trim().parse::<f64>() {
        difficulty(d);
    }
    // `bits` as RPC and Stratum write them: eight hex digits, big-endian.
    if let Ok(b) = hex::decode_array::<4>(s, "bits") {
        compact(u32::from_be_bytes(b));
    }
}

fn binary(data: &[u8]) {
    let ours = sha256d(data);
    let reference: [u8; 32] = Sha256::digest(Sha256::digest(data)).into();
    assert_eq!(ours, reference, "sha256d differs from sha2");

    if let Some(b) = data.get(..4) {
        compact(u32::from_le_bytes(b.try_into().unwrap()));
    }
    if let Some(b) = data.get(..8) {
        difficulty(f64::from_le_bytes(b.try_into().unwrap()));
    }
    if let Some(b) = data.get(..32) {
        let b: [u8; 32] = b.try_into().unwrap();
        let t = Target::from_le_bytes(&b);
        assert_eq!(t.to_le_bytes(), b);
        assert!(
            t.is_met_by(&Hash256(b)),
            "a hash equal to the target meets it"
        );
        target(t);
        let d = hash_difficulty(&Hash256(b));
        assert!(d > 0.0 && !d.is_nan(), "hash difficulty {d}");
        assert_eq!(d.is_infinite(), b == [0u8; 32]);
    }
    if let Some(b) = data.get(..80) {
        header(b.try_into().unwrap());
    }
    // Merkle: the coinbase branch folds to the root, whatever the leaves.
    let leaves: Vec<[u8; 32]> = data
        .chunks_exact(32)
        .take(64)
        .map(|c| c.try_into().unwrap())
        .collect();
    if let Some((first, rest)) = leaves.split_first() {
        let branch = merkle::branch(rest);
        assert_eq!(merkle::fold_branch(*first, &branch), merkle::root(&leaves));
        assert_eq!(
            branch.len(),
            (usize::BITS - rest.len().leading_zeros()) as usize
        );
    }
}

fn header(b: &[u8; 80]) {
    let h = Header::from_bytes(b);
    assert_eq!(&h.to_bytes(), b, "header bytes round trip");
    assert_eq!(h.block_hash(), Hash256(sha256d(b)));
    assert_eq!(h.with_nonce(h.nonce), h);
    match h.target() {
        Ok(t) => assert_eq!(Target::from_compact(h.bits), Ok(t)),
        Err(e) => assert_eq!(Target::from_compact(h.bits), Err(e)),
    }
}

fn compact(bits: u32) {
    let Ok(t) = Target::from_compact(CompactTarget(bits)) else {
        return;
    };
    // A decodable target is exactly representable: its canonical encoding gives it back.
    let c = t.to_compact();
    assert_eq!(
        Target::from_compact(c),
        Ok(t),
        "nBits {bits:08x} -> {t} -> {c} does not round trip"
    );
    target(t);
}

fn target(t: Target) {
    let c = t.to_compact();
    let back = match Target::from_compact(c) {
        Ok(back) => back,
        Err(PowError::Target(e)) => panic!("to_compact({t}) = {c} does not decode: {e}"),
    };
    // Compact encoding rounds down, keeping the top 23 or 24 significant bits.
    assert!(back <= t, "{t} -> {c} -> {back} rounds up");
    assert_eq!(back.to_compact(), c, "to_compact is not canonical for {t}");
    let d = t.difficulty();
    assert!(!d.is_nan() && d > 0.0, "difficulty of {t} is {d}");
}

fn difficulty(d: f64) {
    let r = Target::from_difficulty(d);
    assert_eq!(
        r.is_ok(),
        d.is_finite() && d > 0.0,
        "from_difficulty({d}) = {r:?}"
    );
    let Ok(t) = r else { return };
    if (1e-9..=1e30).contains(&d) {
        let back = t.difficulty();
        assert!(
            ((back - d) / d).abs() < 1e-12,
            "difficulty {d} -> {t} -> {back}"
        );
    }
    // Harder means a smaller (or equal) target.
    let harder = d * 2.0;
    if harder.is_finite() {
        let th = Target::from_difficulty(harder).expect("positive finite difficulty");
        assert!(
            th <= t,
            "difficulty {harder} gives a larger target than {d}"
        );
    }
    if d <= 1.0 {
        assert!(
            t >= Target::DIFF1,
            "difficulty {d} <= 1 gives {t} below DIFF1"
        );
    } else {
        assert!(
            t <= Target::DIFF1,
            "difficulty {d} > 1 gives {t} above DIFF1"
        );
    }
}
