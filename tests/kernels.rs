//! One suite run over every CPU kernel this machine supports: known answers, the `sha2` crate as
//! an oracle, every kernel against `scalar`, edge nonces, and the early test's false positives.

use hashforge::cpu::Kernel;
use hashforge::{hash_difficulty, Found, Hash256, Header, Target, WorkUnit};
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

const BLOCK_125552: &str =
    "0100000081cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000\
e320b6c2fffc8d750423db8b1eb942ae710e951ed797f7affc8892b0f1fc122bc7f5d74df2b9441a42a14695";

/// Every kernel this CPU supports; each one it lacks is named with the features it lacks, so a
/// run on a machine without AVX-512 says which kernels it skipped.
fn kernels() -> Vec<Kernel> {
    for k in Kernel::ALL {
        let missing = k.missing_features();
        if !missing.is_empty() {
            eprintln!("skipping kernel {k}: this CPU lacks {}", missing.join(", "));
        }
    }
    let k = Kernel::supported();
    // Every x86-64 machine these tests run on has AVX2 and SHA-NI (AMD Zen, Intel Xeon); make
    // sure those kernels are really exercised there, and AVX-512 wherever the CPU has it.
    if std::env::var_os("CI").is_some() && cfg!(target_arch = "x86_64") {
        assert!(k.contains(&Kernel::Avx2), "CI machine lacks AVX2");
        assert!(k.contains(&Kernel::ShaNi2), "CI machine lacks SHA-NI");
    }
    k
}

/// The nonces a kernel finds (in units of one version).
fn scan(kernel: Kernel, work: &WorkUnit, start: u32, count: u32) -> Vec<u32> {
    scan_found(kernel, work, start, count)
        .iter()
        .map(|f| f.nonce)
        .collect()
}

/// Every nonce and version a kernel finds, in its order.
fn scan_found(kernel: Kernel, work: &WorkUnit, start: u32, count: u32) -> Vec<Found> {
    let mut found = Vec::new();
    kernel.scan(work, start, count, &mut found);
    found
}

/// What a scan of a rolled unit must find, hashed from scratch with the `sha2` crate: every
/// nonce of the range on every version, nonce-major.
fn rolled_oracle(
    header: &Header,
    target: &Target,
    versions: &[u32],
    start: u32,
    count: u32,
) -> Vec<Found> {
    let mut out = Vec::new();
    for nonce in (start as u64..start as u64 + count as u64).map(|n| n as u32) {
        for &version in versions {
            let h = Header {
                version,
                nonce,
                ..*header
            };
            if target.is_met_by(&Hash256(oracle(&h.to_bytes()))) {
                out.push(Found { nonce, version });
            }
        }
    }
    out
}

/// Version rolling: every kernel over random headers and random masks finds exactly the nonces
/// and versions the oracle does, over ranges at both ends of the nonce space, with the versions
/// at the edges of the mask (all rolled bits clear, all set) and groups of 1 to 4 versions.
#[test]
fn rolled_units_match_the_oracle() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(320);
    // About one nonce in 64 meets it, so every range has finds on several versions.
    let target = Target::from_limbs([u64::MAX, u64::MAX, u64::MAX, 0x03ff_ffff_ffff_ffff]);
    for round in 0..6 {
        let header = random_header(&mut rng);
        // A random mask of 2 to 16 bits inside BIP 320's 1fffe000, the BIP's own mask first.
        let mask = if round == 0 {
            0x1fff_e000
        } else {
            let m = rng.gen::<u32>() & 0x1fff_e000;
            if m.count_ones() < 2 {
                0x0000_6000
            } else {
                m
            }
        };
        let base = header.version & !mask;
        let mut versions = vec![base, base | mask, base | (mask & mask.wrapping_neg())];
        versions.push(base | (rng.gen::<u32>() & mask));
        versions.truncate(1 + round % 4);
        let work = WorkUnit::rolled(header, target, &versions);
        assert_eq!(work.versions(), versions.as_slice());
        assert_eq!(work.header().version, versions[0]);
        for (start, count) in [(0u32, 700u32), (u32::MAX - 299, 300), (12_345, 1)] {
            let expected = rolled_oracle(&header, &target, &versions, start, count);
            if count > 1 {
                assert!(
                    expected.iter().any(|f| f.version != versions[0]) || versions.len() == 1,
                    "round {round}: nothing found on a rolled version"
                );
            }
            for kernel in kernels() {
                assert_eq!(
                    scan_found(kernel, &work, start, count),
                    expected,
                    "{kernel}, round {round}, versions {versions:08x?}, start {start}, count {count}"
                );
            }
        }
    }
}

fn random_header(rng: &mut impl Rng) -> Header {
    let mut b = [0u8; 80];
    rng.fill(&mut b[..]);
    Header::from_bytes(&b)
}

fn oracle(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(Sha256::digest(bytes)).into()
}

#[test]
fn known_answers() {
    let genesis = Header::genesis();
    assert_eq!(
        genesis.block_hash().to_string(),
        "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
    );
    let h = Header::from_hex(BLOCK_125552).unwrap();
    assert_eq!(
        h.block_hash().to_string(),
        "00000000000000001e8d6829a8a21adc5d38d0a473b144b6765798e61f98bd1d"
    );
    assert_eq!(Header::from_bytes(&h.to_bytes()), h);
}

#[test]
fn every_kernel_finds_known_nonces() {
    for (header, nonce) in [
        (Header::genesis(), 2083236893u32),
        (Header::from_hex(BLOCK_125552).unwrap(), 2504433986),
    ] {
        let target = Target::from_compact(header.bits).unwrap();
        let work = WorkUnit::new(header.with_nonce(0), target);
        for k in kernels() {
            assert_eq!(scan(k, &work, nonce - 1000, 2001), vec![nonce], "{k}");
        }
    }
}

#[test]
fn portable_sha256d_matches_sha2() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    for len in [0usize, 1, 55, 56, 63, 64, 80, 119, 120, 200] {
        let mut data = vec![0u8; len];
        rng.fill(&mut data[..]);
        assert_eq!(
            hashforge_bitcoin::sha256d(&data),
            oracle(&data),
            "len {len}"
        );
    }
    for _ in 0..200 {
        let h = random_header(&mut rng);
        assert_eq!(h.block_hash().0, oracle(&h.to_bytes()));
    }
}

/// Target::MAX accepts every hash, so each kernel must report every nonce: this checks the
/// kernels' early-exit word against the oracle for each nonce individually.
#[test]
fn every_nonce_reported_with_max_target() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    for k in kernels() {
        let work = WorkUnit::new(random_header(&mut rng), Target::MAX);
        assert_eq!(
            scan(k, &work, 1000, 777),
            (1000..1777).collect::<Vec<_>>(),
            "{k}"
        );
    }
}

/// Every kernel agrees with scalar, and scalar with the sha2 oracle, over 2^16 nonces of random
/// headers at an easy target (about 1 in 256 nonces found).
#[test]
fn kernels_agree_with_scalar_and_oracle() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let target = Target::from_display_hex(&format!("00ff{}", "f".repeat(60)), "target").unwrap();
    for _ in 0..4 {
        let header = random_header(&mut rng);
        let work = WorkUnit::new(header, target);
        let start: u32 = rng.gen_range(0..u32::MAX - (1 << 16));
        let expected: Vec<u32> = (start..start + (1 << 14))
            .filter(|&n| target.is_met_by(&Hash256(oracle(&header.with_nonce(n).to_bytes()))))
            .collect();
        assert_eq!(scan(Kernel::Scalar, &work, start, 1 << 14), expected);
        let reference = scan(Kernel::Scalar, &work, start, 1 << 16);
        assert!(reference.len() > 100);
        for k in kernels() {
            assert_eq!(scan(k, &work, start, 1 << 16), reference, "{k}");
        }
    }
}

#[test]
fn edge_nonces_and_ragged_ranges() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let work = WorkUnit::new(random_header(&mut rng), Target::MAX);
    for k in kernels() {
        assert_eq!(scan(k, &work, 0, 1), vec![0], "{k}");
        assert_eq!(scan(k, &work, u32::MAX, 1), vec![u32::MAX], "{k}");
        assert_eq!(
            scan(k, &work, u32::MAX - 12, 13),
            (u32::MAX - 12..=u32::MAX).collect::<Vec<_>>(),
            "{k}"
        );
        assert_eq!(scan(k, &work, 5, 0), Vec::<u32>::new(), "{k}");
        for count in [1u32, 3, 7, 9, 15, 17, 33] {
            assert_eq!(
                scan(k, &work, 100, count),
                (100..100 + count).collect::<Vec<_>>(),
                "{k} {count}"
            );
        }
    }
}

/// A target whose top word equals a hash's top word but is smaller below it: the early test
/// passes, the full compare must reject. And just above it: accepted.
#[test]
fn early_test_pass_full_compare_fail() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let header = random_header(&mut rng);
    let nonce = 4242u32;
    let hash = header.with_nonce(nonce).block_hash();
    let limbs = hash.to_limbs();
    let below = Target::from_limbs([limbs[0].wrapping_sub(1), limbs[1], limbs[2], limbs[3]]);
    let exact = Target::from_limbs(limbs);
    assert_eq!(below.top_word(), exact.top_word());
    for k in kernels() {
        // Any other nonce in the range has a different top word with overwhelming probability.
        let other: Vec<u32> = scan(k, &WorkUnit::new(header, below), nonce - 8, 17);
        assert!(
            !other.contains(&nonce),
            "{k} reported a nonce above the target"
        );
        assert!(
            scan(k, &WorkUnit::new(header, exact), nonce - 8, 17).contains(&nonce),
            "{k}"
        );
    }
}

#[test]
fn target_and_difficulty_conversions() {
    let d1 = Target::from_difficulty(1.0).unwrap();
    assert_eq!(d1, Target::DIFF1);
    assert_eq!(d1.to_string(), format!("00000000ffff{}", "0".repeat(52)));
    assert_eq!(
        Target::from_compact(hashforge::CompactTarget(0x1d00ffff)).unwrap(),
        d1
    );
    assert_eq!(d1.to_compact().0, 0x1d00ffff);
    assert_eq!(d1.difficulty(), 1.0);

    let d1024 = Target::from_difficulty(1024.0).unwrap();
    assert_eq!(
        d1024.to_string(),
        format!("00000000003fffc{}", "0".repeat(49))
    );
    assert_eq!(d1024.difficulty(), 1024.0);

    let milli = Target::from_difficulty(0.001).unwrap();
    assert_eq!(milli.to_string(), format!("000003e7fc18{}", "0".repeat(52)));
    assert!((milli.difficulty() - 0.001).abs() < 1e-12);

    let t = Target::from_compact(hashforge::CompactTarget(0x1703a30c)).unwrap();
    assert_eq!(
        t.to_string(),
        format!("00000000000000000003a30c{}", "0".repeat(40))
    );
    assert_eq!(t.to_compact().0, 0x1703a30c);
    // 0xFFFF / 0x03A30C · 2^48
    assert!(
        (t.difficulty() - 77_392_982_524_430.0).abs() < 1.0,
        "{}",
        t.difficulty()
    );

    let regtest = Target::from_compact(hashforge::CompactTarget(0x207fffff)).unwrap();
    assert_eq!(regtest.to_string(), format!("7fffff{}", "0".repeat(58)));
    assert!(
        Target::from_compact(hashforge::CompactTarget(0x04923456)).is_err(),
        "negative"
    );
    assert!(
        Target::from_compact(hashforge::CompactTarget(0x23000001)).is_err(),
        "overflow"
    );
    assert!(Target::from_difficulty(0.0).is_err());
    assert!(Target::from_difficulty(f64::NAN).is_err());
    assert_eq!(Target::from_difficulty(1e-30).unwrap(), Target::MAX);

    // The genesis hash meets difficulty ≈ 2536.
    let d = hash_difficulty(&Header::genesis().block_hash());
    assert!((d - 2536.426).abs() < 0.001, "{d}");
}

/// `--kernel auto`: the calibration times every supported kernel and picks the fastest of them.
#[test]
fn auto_picks_a_supported_kernel() {
    let c = hashforge::cpu::Calibration::run(std::time::Duration::from_millis(100));
    assert!(c.kernel.is_supported(), "{c}");
    let supported = Kernel::supported();
    if supported.len() > 1 {
        let mut measured: Vec<Kernel> = c.rates.iter().map(|&(k, _)| k).collect();
        assert_eq!(c.rates[0].0, c.kernel, "{c}");
        assert!(c.rates.windows(2).all(|w| w[0].1 >= w[1].1), "{c}");
        assert!(c.rates.iter().all(|&(_, r)| r > 0.0), "{c}");
        measured.sort_by_key(|k| k.name());
        let mut expected = supported.clone();
        expected.sort_by_key(|k| k.name());
        assert_eq!(measured, expected, "{c}");
    }
    // A bound on start-up, not a speed claim: 100 ms asked, well under 2 s taken.
    assert!(c.took < std::time::Duration::from_secs(2), "{c}");
    let line = c.to_string();
    assert!(line.starts_with(c.kernel.name()), "{line}");
}

/// A kernel this CPU lacks is an error that names the missing features, never a crash.
#[test]
fn unsupported_kernel_is_an_error() {
    let unsupported: Vec<Kernel> = Kernel::ALL
        .into_iter()
        .filter(|k| !k.is_supported())
        .collect();
    if unsupported.is_empty() {
        eprintln!("skipping: this CPU supports every kernel");
    }
    for k in unsupported {
        let err = k.checked().unwrap_err().to_string();
        assert!(err.contains(k.name()), "{err}");
        assert!(err.contains(k.missing_features()[0]), "{err}");
    }
    for k in Kernel::supported() {
        assert_eq!(k.checked().unwrap(), k);
        assert_eq!(k.name().parse::<Kernel>().unwrap(), k);
    }
    assert_eq!("sha-ni".parse::<Kernel>().unwrap(), Kernel::ShaNi4);
    assert!("avx513".parse::<Kernel>().is_err());
}
