//! Work from a Stratum job: coinbase, merkle root, 80-byte header, targets and difficulty.

use hashforge_bitcoin::{merkle, sha256d, CompactTarget, Hash256, Header, PowError, Target};

use crate::error::JobError;
use crate::messages::Notify;

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

/// Rolls the version bits inside `mask`: `job_version ^ (rolled & mask)`. Rolled 0 is the job's
/// own version, distinct `rolled` values inside the mask give distinct versions, and no bit
/// outside the mask changes; a bit the template sets inside the mask (e.g. bit 28 of
/// `30000000`) is kept unless the roll flips it.
pub fn roll_version(job_version: u32, mask: u32, rolled: u32) -> u32 {
    job_version ^ (rolled & mask)
}

/// BIP 310 on the pool's side: the version a miner hashed, from the job's version and the
/// `version_bits` it submitted (its version's bits inside `mask`):
/// `(job_version & !mask) | (version_bits & mask)`.
pub fn apply_version_bits(job_version: u32, mask: u32, version_bits: u32) -> u32 {
    (job_version & !mask) | (version_bits & mask)
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
    /// Pool difficulty in force when the job arrived (read with [`Job::difficulty`]; fixed at
    /// [`Job::new`], so that the share target derived from it stays true).
    difficulty: f64,
    /// Granted version-rolling mask (`None`: no rolling).
    pub version_mask: Option<u32>,
    /// The share target of `difficulty`, computed once by [`Job::new`].
    share_target: Target,
    /// A header-only job (a Stratum V2 standard channel): the pool gave the merkle root, there
    /// is no coinbase to build and no extranonce2 (its size is 0).
    fixed_merkle_root: Option<[u8; 32]>,
}

impl Job {
    /// A job from a notify and the session state in force when it arrived. A difficulty that is
    /// not a positive number (a broken pool) gives [`Target::MAX`]: every hash is then a share,
    /// and the pool judges.
    pub fn new(
        notify: Notify,
        extranonce1: Vec<u8>,
        extranonce2_size: usize,
        difficulty: f64,
        version_mask: Option<u32>,
    ) -> Self {
        Job {
            notify,
            extranonce1,
            extranonce2_size,
            difficulty,
            version_mask,
            share_target: Target::from_difficulty(difficulty).unwrap_or(Target::MAX),
            fixed_merkle_root: None,
        }
    }

    /// A header-only job: `merkle_root` as the pool gave it (internal byte order), no
    /// extranonce2. `notify`'s coinbase parts and branch are not used.
    pub fn header_only(
        notify: Notify,
        merkle_root: [u8; 32],
        difficulty: f64,
        version_mask: Option<u32>,
    ) -> Self {
        Job {
            fixed_merkle_root: Some(merkle_root),
            ..Job::new(notify, Vec::new(), 0, difficulty, version_mask)
        }
    }

    /// Whether the job is header-only ([`Job::header_only`]).
    pub fn is_header_only(&self) -> bool {
        self.fixed_merkle_root.is_some()
    }

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

    /// Merkle root for an extranonce2 (a header-only job's own, for an empty one).
    pub fn merkle_root(&self, extranonce2: &[u8]) -> Result<[u8; 32], JobError> {
        if let Some(root) = self.fixed_merkle_root {
            if !extranonce2.is_empty() {
                return Err(JobError::Extranonce2Size {
                    expected: 0,
                    got: extranonce2.len(),
                });
            }
            return Ok(root);
        }
        Ok(merkle::fold_branch(
            sha256d(&self.coinbase(extranonce2)?),
            &self.notify.merkle_branch,
        ))
    }

    /// The block header for the given extranonce2, ntime, nonce and (full) version.
    pub fn header(
        &self,
        extranonce2: &[u8],
        ntime: u32,
        nonce: u32,
        version: u32,
    ) -> Result<Header, JobError> {
        Ok(Header {
            version,
            prev_blockhash: self.prev_hash(),
            merkle_root: self.merkle_root(extranonce2)?,
            time: ntime,
            bits: CompactTarget(self.notify.nbits),
            nonce,
        })
    }

    /// Pool difficulty in force when the job arrived.
    pub fn difficulty(&self) -> f64 {
        self.difficulty
    }

    /// Share target for this job's difficulty (see [`Job::new`]).
    pub fn share_target(&self) -> Target {
        self.share_target
    }

    /// Network target from `nbits`; an error for a negative or overflowing encoding.
    pub fn network_target(&self) -> Result<Target, PowError> {
        Target::from_compact(CompactTarget(self.notify.nbits))
    }

    /// Applies the granted mask to a rolled version (no-op without rolling).
    pub fn roll_version(&self, rolled: u32) -> u32 {
        match self.version_mask {
            Some(m) => roll_version(self.notify.version, m, rolled),
            None => self.notify.version,
        }
    }

    /// Whether a header meets this job's share target; returns `(hash, meets)`.
    pub fn check_share(&self, header: &Header) -> (Hash256, bool) {
        let h = header.block_hash();
        (h, self.share_target().is_met_by(&h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // The template's bit 28 stays unless rolled; nothing outside the mask moves.
        assert_eq!(roll_version(0x3000_0000, 0x1fffe000, 0), 0x3000_0000);
        assert_eq!(roll_version(0x3000_0000, 0x1fffe000, 0x2000), 0x3000_2000);
        assert_eq!(
            roll_version(0x3000_0000, 0x1fffe000, 0xffff_ffff) & !0x1fffe000,
            0x2000_0000
        );
        // The pool recovers the rolled version from the submitted bits.
        let v = roll_version(0x3000_0000, 0x1fffe000, 0x4000);
        assert_eq!(
            apply_version_bits(0x3000_0000, 0x1fffe000, v & 0x1fffe000),
            v
        );
    }
}
