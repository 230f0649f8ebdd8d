//! Work from a Stratum job: coinbase, merkle root, 80-byte header, targets and difficulty.

use sha2::{Digest, Sha256};

use crate::error::JobError;
use crate::messages::Notify;

/// Double SHA-256.
pub fn sha256d(data: &[u8]) -> [u8; 32] {
    let first = Sha256::digest(data);
    Sha256::digest(first).into()
}

/// Difficulty 1 as a float: `0xFFFF · 2^208`.
pub const DIFF1: f64 = 65535.0 * TWO_POW_208;

/// `2^208`, exactly representable.
const TWO_POW_208: f64 =
    411_376_139_330_301_510_538_742_295_639_337_626_245_683_966_408_394_965_837_152_256.0;

/// A 256-bit target as 32 bytes, little-endian (byte 31 is the most significant), the same
/// byte order as a block hash read as a little-endian number.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target(pub [u8; 32]);

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut be = self.0;
        be.reverse();
        write!(f, "Target({})", hex::encode(be))
    }
}

impl Target {
    /// The largest possible target (`2^256 - 1`).
    pub const MAX: Target = Target([0xff; 32]);

    /// The target of difficulty 1: `0xFFFF · 2^208`.
    pub fn diff1() -> Target {
        let mut t = [0u8; 32];
        t[26] = 0xff;
        t[27] = 0xff;
        Target(t)
    }

    /// Target for a (possibly fractional) pool difficulty: `diff1 / difficulty`, saturating at
    /// [`Target::MAX`]. Non-positive or non-finite difficulties give [`Target::MAX`].
    pub fn from_difficulty(difficulty: f64) -> Target {
        if !(difficulty.is_finite() && difficulty > 0.0) {
            return Target::MAX;
        }
        let q = 65535.0 / difficulty; // target = q · 2^208
        if !q.is_finite() || q >= 2.0f64.powi(48) {
            return Target::MAX;
        }
        let bits = q.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as i32;
        let frac = bits & ((1u64 << 52) - 1);
        let mant = if exp == 0 {
            frac << 1
        } else {
            frac | (1u64 << 52)
        };
        // q = mant · 2^(exp - 1075); target = mant · 2^(exp - 1075 + 208).
        let shift = exp - 1075 + 208;
        let mut limbs = [0u64; 4];
        if shift >= 0 {
            let s = shift as usize;
            let (limb, off) = (s / 64, s % 64);
            if limb < 4 {
                limbs[limb] |= mant << off;
                if off > 0 && limb + 1 < 4 {
                    limbs[limb + 1] |= mant >> (64 - off);
                }
            }
        } else if shift > -64 {
            limbs[0] = mant >> (-shift);
        }
        let mut out = [0u8; 32];
        for (i, l) in limbs.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&l.to_le_bytes());
        }
        Target(out)
    }

    /// Expands a compact `nbits` value. Negative or zero mantissas give a zero target; overflows
    /// saturate at [`Target::MAX`].
    pub fn from_nbits(nbits: u32) -> Target {
        let exp = (nbits >> 24) as usize;
        let mant = nbits & 0x007f_ffff;
        if nbits & 0x0080_0000 != 0 || mant == 0 {
            return Target([0; 32]);
        }
        let mut out = [0u8; 32];
        let mb = mant.to_le_bytes(); // 3 significant bytes, LE
        for (i, b) in mb.iter().take(3).enumerate() {
            let pos = i as isize + exp as isize - 3;
            if pos < 0 {
                continue;
            }
            if pos >= 32 {
                if *b != 0 {
                    return Target::MAX;
                }
                continue;
            }
            out[pos as usize] = *b;
        }
        Target(out)
    }

    /// The target as a float.
    pub fn to_f64(&self) -> f64 {
        le256_to_f64(&self.0)
    }

    /// Difficulty corresponding to this target (`diff1 / target`).
    pub fn to_difficulty(&self) -> f64 {
        DIFF1 / self.to_f64()
    }

    /// Whether a hash (read as a little-endian number) is at or below this target.
    pub fn is_met_by(&self, hash: &[u8; 32]) -> bool {
        for i in (0..32).rev() {
            if hash[i] != self.0[i] {
                return hash[i] < self.0[i];
            }
        }
        true
    }
}

fn le256_to_f64(v: &[u8; 32]) -> f64 {
    v.iter()
        .rev()
        .fold(0.0f64, |acc, &b| acc * 256.0 + f64::from(b))
}

/// Difficulty of a hash (`pdiff = diff1 / hash`, hash read as a little-endian number).
pub fn hash_difficulty(hash: &[u8; 32]) -> f64 {
    let h = le256_to_f64(hash);
    if h == 0.0 {
        f64::INFINITY
    } else {
        DIFF1 / h
    }
}

/// Byte-swaps every 4-byte word: converts the notify's prevhash to header order and back.
pub fn swap_words(h: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (o, i) in out.chunks_exact_mut(4).zip(h.chunks_exact(4)) {
        o.copy_from_slice(&[i[3], i[2], i[1], i[0]]);
    }
    out
}

/// `coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2`.
pub fn coinbase(coinb1: &[u8], extranonce1: &[u8], extranonce2: &[u8], coinb2: &[u8]) -> Vec<u8> {
    let mut v =
        Vec::with_capacity(coinb1.len() + extranonce1.len() + extranonce2.len() + coinb2.len());
    v.extend_from_slice(coinb1);
    v.extend_from_slice(extranonce1);
    v.extend_from_slice(extranonce2);
    v.extend_from_slice(coinb2);
    v
}

/// Folds the coinbase hash with each branch on the right: `h = sha256d(h ‖ branch)`.
pub fn merkle_root(coinbase_hash: [u8; 32], branch: &[[u8; 32]]) -> [u8; 32] {
    branch.iter().fold(coinbase_hash, |h, b| {
        let mut buf = [0u8; 64];
        buf[..32].copy_from_slice(&h);
        buf[32..].copy_from_slice(b);
        sha256d(&buf)
    })
}

/// The 80-byte block header; `prev_hash` and `merkle_root` in header (internal) byte order.
pub fn build_header(
    version: u32,
    prev_hash: &[u8; 32],
    merkle_root: &[u8; 32],
    ntime: u32,
    nbits: u32,
    nonce: u32,
) -> [u8; 80] {
    let mut h = [0u8; 80];
    h[0..4].copy_from_slice(&version.to_le_bytes());
    h[4..36].copy_from_slice(prev_hash);
    h[36..68].copy_from_slice(merkle_root);
    h[68..72].copy_from_slice(&ntime.to_le_bytes());
    h[72..76].copy_from_slice(&nbits.to_le_bytes());
    h[76..80].copy_from_slice(&nonce.to_le_bytes());
    h
}

/// BIP 310 version rolling: `(job_version & !mask) | (rolled & mask)`.
pub fn roll_version(job_version: u32, mask: u32, rolled: u32) -> u32 {
    (job_version & !mask) | (rolled & mask)
}

/// The block hash of a header (`sha256d`, internal byte order).
pub fn header_hash(header: &[u8; 80]) -> [u8; 32] {
    sha256d(header)
}

/// Display form of a hash (byte-reversed hex, as block explorers show it).
pub fn hash_to_display_hex(hash: &[u8; 32]) -> String {
    let mut r = *hash;
    r.reverse();
    hex::encode(r)
}

/// A job as the miner receives it: the notify plus the session state in force when it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The `mining.notify` fields.
    pub notify: Notify,
    /// Extranonce1 of the session.
    pub extranonce1: Vec<u8>,
    /// Extranonce2 size in bytes.
    pub extranonce2_size: usize,
    /// Pool difficulty in force when the job arrived.
    pub difficulty: f64,
    /// Granted version-rolling mask (`None`: no rolling).
    pub version_mask: Option<u32>,
}

impl Job {
    /// Job id.
    pub fn id(&self) -> &str {
        &self.notify.job_id
    }

    /// Previous hash in header byte order.
    pub fn prev_hash(&self) -> [u8; 32] {
        swap_words(&self.notify.prevhash)
    }

    /// Full coinbase transaction for an extranonce2.
    pub fn coinbase(&self, extranonce2: &[u8]) -> Result<Vec<u8>, JobError> {
        if extranonce2.len() != self.extranonce2_size {
            return Err(JobError::Extranonce2Size {
                expected: self.extranonce2_size,
                got: extranonce2.len(),
            });
        }
        Ok(coinbase(
            &self.notify.coinb1,
            &self.extranonce1,
            extranonce2,
            &self.notify.coinb2,
        ))
    }

    /// Merkle root for an extranonce2.
    pub fn merkle_root(&self, extranonce2: &[u8]) -> Result<[u8; 32], JobError> {
        Ok(merkle_root(
            sha256d(&self.coinbase(extranonce2)?),
            &self.notify.merkle_branch,
        ))
    }

    /// The 80-byte header for the given extranonce2, ntime, nonce and (full) version.
    pub fn header(
        &self,
        extranonce2: &[u8],
        ntime: u32,
        nonce: u32,
        version: u32,
    ) -> Result<[u8; 80], JobError> {
        Ok(build_header(
            version,
            &self.prev_hash(),
            &self.merkle_root(extranonce2)?,
            ntime,
            self.notify.nbits,
            nonce,
        ))
    }

    /// Share target for this job's difficulty.
    pub fn share_target(&self) -> Target {
        Target::from_difficulty(self.difficulty)
    }

    /// Network target from `nbits`.
    pub fn network_target(&self) -> Target {
        Target::from_nbits(self.notify.nbits)
    }

    /// Applies the granted mask to a rolled version (no-op without rolling).
    pub fn roll_version(&self, rolled: u32) -> u32 {
        match self.version_mask {
            Some(m) => roll_version(self.notify.version, m, rolled),
            None => self.notify.version,
        }
    }

    /// Whether a header meets this job's share target; returns `(hash, meets)`.
    pub fn check_share(&self, header: &[u8; 80]) -> ([u8; 32], bool) {
        let h = header_hash(header);
        (h, self.share_target().is_met_by(&h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(Target::from_difficulty(1.0), Target::diff1());
        assert_eq!(Target::from_nbits(0x1d00ffff), Target::diff1());
        let t = Target::from_difficulty(0.001);
        assert!((t.to_difficulty() - 0.001).abs() < 1e-12);
        let t = Target::from_difficulty(1e-9);
        assert!((t.to_difficulty() - 1e-9).abs() < 1e-18);
        assert_eq!(Target::from_difficulty(1e-30), Target::MAX);
        let t = Target::from_nbits(0x207fffff);
        assert_eq!(t.0[31], 0x7f);
        assert_eq!(t.0[29], 0xff);
        assert_eq!(t.0[28], 0);
        assert!(Target::diff1().is_met_by(&Target::diff1().0));
        let mut above = Target::diff1().0;
        above[0] = 1;
        assert!(!Target::diff1().is_met_by(&above));
        assert!((hash_difficulty(&Target::diff1().0) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn version_rolling() {
        assert_eq!(
            roll_version(0x2000_0004, 0x1fffe000, 0xffff_ffff),
            0x3fff_e004
        );
        assert_eq!(
            roll_version(0x2000_0000, 0x1fffe000, 0x0000_2000),
            0x2000_2000
        );
    }
}
