//! From a found nonce to a share worth submitting: the job must still be valid, the header is
//! rebuilt from the job and re-hashed on the CPU, and a share is never submitted twice.

use hashforge_stratum::{Job, Share};
use std::collections::{HashSet, VecDeque};

use super::source::ShareTag;
use crate::scheduler::Assignment;
use crate::{hash_difficulty, Found, Hash256, Header};

/// Jobs remembered as valid between clean notifies (pools keep about this many too).
const MAX_VALID_JOBS: usize = 32;
/// Shares remembered for duplicate detection before the oldest are forgotten.
const MAX_SEEN: usize = 65_536;

/// What to do with a found nonce.
#[derive(Debug)]
pub enum Verdict {
    Submit {
        share: Share,
        hash: Hash256,
        difficulty: f64,
    },
    /// Its job was cleaned (or replaced by a new connection's jobs).
    Stale { job_id: String },
    /// The same share was found before.
    Duplicate,
    /// The nonce does not meet the share target when re-hashed from the job.
    HardwareError { reason: String },
}

#[derive(Default)]
pub struct ShareChecker {
    valid: VecDeque<String>,
    seen: HashSet<(String, Vec<u8>, u32, u32, u32)>,
    seen_order: VecDeque<(String, Vec<u8>, u32, u32, u32)>,
}

impl ShareChecker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a new job; a clean one invalidates every earlier job.
    pub fn new_job(&mut self, job: &Job) {
        if job.notify.clean_jobs {
            self.valid.clear();
        }
        self.valid.push_back(job.id().to_string());
        while self.valid.len() > MAX_VALID_JOBS {
            self.valid.pop_front();
        }
    }

    /// Invalidates every job (the connection they belong to is gone for good).
    pub fn forget_jobs(&mut self) {
        self.valid.clear();
    }

    pub fn is_valid(&self, job: &Job) -> bool {
        self.valid.iter().any(|id| id == job.id())
    }

    /// Checks a found nonce and version of `unit`.
    pub fn check(&mut self, unit: &Assignment<ShareTag>, found: Found) -> Verdict {
        let Found { nonce, version } = found;
        let tag = &unit.tag;
        let job = &tag.job;
        if !self.is_valid(job) {
            return Verdict::Stale {
                job_id: job.id().to_string(),
            };
        }
        if !unit.work.versions().contains(&version) {
            return Verdict::HardwareError {
                reason: format!("version {version:08x} is not one the unit was given"),
            };
        }
        let ntime = job.notify.ntime;
        let rebuilt = match job.header(&tag.extranonce2, ntime, nonce, version) {
            Ok(h) => h,
            Err(e) => {
                return Verdict::HardwareError {
                    reason: format!("cannot rebuild header: {e}"),
                }
            }
        };
        let hashed = Header {
            version,
            ..unit.work.header().with_nonce(nonce)
        };
        if rebuilt != hashed {
            return Verdict::HardwareError {
                reason: "hashed header differs from the job's".into(),
            };
        }
        let hash = rebuilt.block_hash();
        if !job.share_target().is_met_by(&hash) {
            return Verdict::HardwareError {
                reason: format!("nonce {nonce:08x} gives {hash}, above the share target"),
            };
        }
        let key = (
            job.id().to_string(),
            tag.extranonce2.clone(),
            ntime,
            nonce,
            version,
        );
        if !self.seen.insert(key.clone()) {
            return Verdict::Duplicate;
        }
        self.seen_order.push_back(key);
        if self.seen_order.len() > MAX_SEEN {
            if let Some(old) = self.seen_order.pop_front() {
                self.seen.remove(&old);
            }
        }
        Verdict::Submit {
            share: Share {
                job_id: job.id().to_string(),
                extranonce2: tag.extranonce2.clone(),
                ntime,
                nonce,
                version,
            },
            hash,
            difficulty: hash_difficulty(&hash),
        }
    }
}
