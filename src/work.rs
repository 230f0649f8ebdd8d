//! `WorkUnit`: a header prepared for scanning nonces.
//!
//! The first 64 header bytes are compressed once (the midstate). Of the second
//! chunk only the nonce varies: it is message word W3. Everything that does not
//! depend on W3 is computed here once, so the kernels start at round 3 and only
//! add the nonce where it enters.
//!
//! With version rolling (BIP 320) a unit carries several versions of the same header. Their
//! midstates differ, but the second chunk (merkle tail, time, bits, nonce) is the same for all,
//! so a kernel computes that chunk's message schedule once per nonce and shares it between the
//! versions' compressions ([`WorkUnit::rolled`]).

use crate::Hash256;
use crate::Header;
use crate::Target;
use hashforge_bitcoin::sha256::{
    self, big_sigma0, big_sigma1, ch, maj, round, small_sigma0, small_sigma1, K,
};

/// Message word 4 of the header's second chunk: the padding bit.
pub const PAD_W4: u32 = 0x8000_0000;
/// Message word 15 of the header's second chunk: the message length, 640 bits.
pub const LEN_W15: u32 = 640;

/// The nonce-independent values a kernel needs, as plain words (the GPU copies this as is).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Precomputed {
    /// SHA-256 state after the header's first 64 bytes.
    pub midstate: [u32; 8],
    /// W0..W2 of the second chunk: the merkle root's last 4 bytes, time, bits (big-endian words).
    pub tail: [u32; 3],
    /// Working variables a..h after rounds 0, 1 and 2 of the second chunk.
    pub state3: [u32; 8],
    /// Round 3's T1 without W3: `h + Σ1(e) + Ch(e,f,g) + K3`.
    pub t1_3: u32,
    /// Round 3's T2: `Σ0(a) + Maj(a,b,c)`.
    pub t2_3: u32,
    /// W16 and W17 (nonce-independent).
    pub w16: u32,
    pub w17: u32,
    /// `W18 = w18_base + σ0(W3)`.
    pub w18_base: u32,
    /// `W19 = w19_base + W3`.
    pub w19_base: u32,
    /// `W31 = σ1(W29) + W24 + w31_base`.
    pub w31_base: u32,
    /// `W32 = σ1(W30) + W25 + w32_base`.
    pub w32_base: u32,
}

/// Versions hashed per nonce in a rolled unit: the schedule of the second chunk is computed once
/// and shared by this many compressions.
pub const ROLLED_VERSIONS: usize = 4;

/// A nonce whose hash meets the unit's target, and the header version it was found on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Found {
    pub nonce: u32,
    pub version: u32,
}

/// A header and target ready to scan: the midstate and every nonce-independent value precomputed,
/// for one version or, rolled, for several.
#[derive(Clone, Debug)]
pub struct WorkUnit {
    header: Header,
    target: Target,
    /// The versions hashed per nonce; the first is the header's.
    versions: Vec<u32>,
    /// One per version. The version-independent fields (`tail`, `w16`, …) are equal in all.
    pre: Vec<Precomputed>,
}

impl WorkUnit {
    /// A fixed work unit for measuring rates: the genesis header with a target no hash meets,
    /// so a scan does all of its work and reports nothing.
    pub fn benchmark() -> Self {
        WorkUnit::new(Header::genesis(), Target::from_limbs([0; 4]))
    }

    /// The benchmark unit rolled over [`ROLLED_VERSIONS`] versions (BIP 320 bits 13 and 14).
    pub fn benchmark_rolled() -> Self {
        let base = Header::genesis().version;
        let versions: Vec<u32> = (0..ROLLED_VERSIONS as u32)
            .map(|i| base | (i << 13))
            .collect();
        WorkUnit::rolled(Header::genesis(), Target::from_limbs([0; 4]), &versions)
    }

    /// Prepares `header` (its nonce is ignored) for scanning against `target`.
    pub fn new(header: Header, target: Target) -> Self {
        WorkUnit::rolled(header, target, &[header.version])
    }

    /// Prepares `header` with each of `versions` in place of its own (the first becomes the
    /// header's): a kernel hashes every version of every nonce.
    ///
    /// # Panics
    /// If `versions` is empty or longer than [`ROLLED_VERSIONS`].
    pub fn rolled(header: Header, target: Target, versions: &[u32]) -> Self {
        assert!(
            (1..=ROLLED_VERSIONS).contains(&versions.len()),
            "a work unit has 1 to {ROLLED_VERSIONS} versions, not {}",
            versions.len()
        );
        let header = Header {
            version: versions[0],
            ..header
        };
        let pre = versions
            .iter()
            .map(|&version| precompute(&Header { version, ..header }))
            .collect();
        WorkUnit {
            header,
            target,
            versions: versions.to_vec(),
            pre,
        }
    }
}

/// The precomputed values of one header.
fn precompute(header: &Header) -> Precomputed {
    let bytes = header.to_bytes();
    let mut midstate = sha256::IV;
    sha256::compress(&mut midstate, bytes[..64].try_into().unwrap());
    let word = |i: usize| u32::from_be_bytes(bytes[64 + 4 * i..68 + 4 * i].try_into().unwrap());
    let tail = [word(0), word(1), word(2)];

    let mut s = midstate;
    for (i, &w) in tail.iter().enumerate() {
        round(&mut s, K[i], w);
    }
    let [a, b, c, _, e, f, g, h] = s;
    let t1_3 = h
        .wrapping_add(big_sigma1(e))
        .wrapping_add(ch(e, f, g))
        .wrapping_add(K[3]);
    let t2_3 = big_sigma0(a).wrapping_add(maj(a, b, c));

    // The rest of the chunk is constant: W4 = padding, W5..W14 = 0, W15 = length.
    let w16 = small_sigma0(tail[1]).wrapping_add(tail[0]);
    let w17 = small_sigma1(LEN_W15)
        .wrapping_add(small_sigma0(tail[2]))
        .wrapping_add(tail[1]);
    let w18_base = small_sigma1(w16).wrapping_add(tail[2]);
    let w19_base = small_sigma1(w17).wrapping_add(small_sigma0(PAD_W4));
    let w31_base = small_sigma0(w16).wrapping_add(LEN_W15);
    let w32_base = small_sigma0(w17).wrapping_add(w16);

    Precomputed {
        midstate,
        tail,
        state3: s,
        t1_3,
        t2_3,
        w16,
        w17,
        w18_base,
        w19_base,
        w31_base,
        w32_base,
    }
}

impl WorkUnit {
    /// The header (its nonce field as given).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The target nonces are checked against.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The precomputed values of the first version.
    pub fn precomputed(&self) -> &Precomputed {
        &self.pre[0]
    }

    /// The precomputed values of every version, in [`WorkUnit::versions`]' order.
    pub fn precomputed_versions(&self) -> &[Precomputed] {
        &self.pre
    }

    /// The versions hashed per nonce (one unless rolled).
    pub fn versions(&self) -> &[u32] {
        &self.versions
    }

    /// Hashes a scan of `count` nonces does: one per version per nonce.
    pub fn hashes(&self, count: u64) -> u64 {
        count * self.versions.len() as u64
    }

    /// The full hash of the header (its first version) with `nonce`, computed from scratch.
    pub fn hash(&self, nonce: u32) -> Hash256 {
        self.hash_version(0, nonce)
    }

    /// Full 256-bit check of a candidate nonce on the first version: re-hashes from scratch and
    /// compares with the target.
    pub fn meets_target(&self, nonce: u32) -> bool {
        self.target.is_met_by(&self.hash(nonce))
    }

    /// The full hash of the header with `nonce` and the version of index `index`.
    pub fn hash_version(&self, index: usize, nonce: u32) -> Hash256 {
        let header = Header {
            version: self.versions[index],
            ..self.header.with_nonce(nonce)
        };
        header.block_hash()
    }

    /// Full 256-bit check of `nonce` on the version of index `index`: the find it is if so.
    pub fn check(&self, index: usize, nonce: u32) -> Option<Found> {
        self.target
            .is_met_by(&self.hash_version(index, nonce))
            .then_some(Found {
                nonce,
                version: self.versions[index],
            })
    }
}
