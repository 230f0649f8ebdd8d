//! A submitted share, whatever protocol brought it: the header rebuilt from the template and
//! the miner's fields, hashed and checked against the share and network targets; and what an
//! accepted share changes (worker statistics, events, a found block). Stratum v1's `conn.rs`
//! and Stratum V2's `sv2.rs` both call these, so a share is judged one way.

use std::sync::Arc;

use hashforge_bitcoin::{hash_difficulty, merkle, sha256d, CompactTarget, Hash256, Header, Target};
use tracing::info;

use super::{FoundBlock, ServerEvent, Shared, Template, TemplateEntry};
use crate::job;

/// Most seconds a share's ntime may run ahead of its template's.
pub(crate) const MAX_NTIME_AHEAD: u32 = 7200;

/// What makes a share the same share: the header fields the miner chooses, on one template
/// (jobs of the same template, e.g. after a difficulty change, share one key space, so a share
/// cannot count twice under two job ids). 32 bytes, no allocation: the duplicate set of a
/// connection holds at most [`ServerConfig::max_shares_per_connection`] of them.
///
/// [`ServerConfig::max_shares_per_connection`]: super::ServerConfig::max_shares_per_connection
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ShareKey {
    pub template: u64,
    /// The miner's extranonce (at most 8 bytes, checked before) as a number.
    pub extranonce2: u64,
    pub ntime: u32,
    pub nonce: u32,
    pub version: u32,
}

/// The miner's part of a header.
pub(crate) struct Submission<'a> {
    /// The connection's (or channel's) extranonce prefix.
    pub extranonce1: &'a [u8],
    /// The miner's extranonce, at most 8 bytes.
    pub extranonce2: &'a [u8],
    pub ntime: u32,
    pub nonce: u32,
    /// The full version, rolled bits applied.
    pub version: u32,
}

impl Submission<'_> {
    pub(crate) fn key(&self, template: u64) -> ShareKey {
        let mut en2 = [0u8; 8];
        let n = self.extranonce2.len().min(8);
        en2[..n].copy_from_slice(&self.extranonce2[..n]);
        ShareKey {
            template,
            extranonce2: u64::from_le_bytes(en2),
            ntime: self.ntime,
            nonce: self.nonce,
            version: self.version,
        }
    }
}

/// Whether `ntime` is one a share on `t` may carry.
pub(crate) fn ntime_ok(t: &Template, ntime: u32) -> bool {
    ntime >= t.ntime && ntime <= t.ntime.saturating_add(MAX_NTIME_AHEAD)
}

/// A share that met its target (or the network's).
pub(crate) struct Met {
    pub header: Header,
    pub hash: Hash256,
    pub coinbase: Vec<u8>,
    pub is_block: bool,
}

/// Rebuilds and hashes the header; `None` when it meets neither `target` nor the network
/// target (a block first: one that misses the share target is still a block).
pub(crate) fn check(t: &Template, target: &Target, s: &Submission) -> Option<Met> {
    let coinbase = job::coinbase(&t.coinb1, s.extranonce1, s.extranonce2, &t.coinb2);
    let header = Header {
        version: s.version,
        prev_blockhash: t.prev_hash,
        merkle_root: merkle::fold_branch(sha256d(&coinbase), &t.merkle_branch),
        time: s.ntime,
        bits: CompactTarget(t.nbits),
        nonce: s.nonce,
    };
    let hash = header.block_hash();
    let is_block = t.network_target.is_met_by(&hash);
    (is_block || target.is_met_by(&hash)).then_some(Met {
        header,
        hash,
        coinbase,
        is_block,
    })
}

/// The highest share difficulty for work from `template`: its network difficulty (never below
/// `min_difficulty`) when [`ServerConfig::cap_at_network_difficulty`] is on.
///
/// [`ServerConfig::cap_at_network_difficulty`]: super::ServerConfig::cap_at_network_difficulty
pub(crate) fn difficulty_cap(shared: &Shared, template: &Template, min_difficulty: f64) -> f64 {
    if shared.config.cap_at_network_difficulty {
        template.network_target.difficulty().max(min_difficulty)
    } else {
        f64::INFINITY
    }
}

/// Where an accepted share came from, for its block.
pub(crate) struct Origin<'a> {
    pub entry: &'a Arc<TemplateEntry>,
    pub job_id: String,
    pub worker: &'a str,
    pub extranonce1: &'a [u8],
    pub extranonce2: &'a [u8],
}

impl Shared {
    /// Counts an accepted share of `difficulty` for its worker, tells the event stream, and
    /// hands a block on.
    pub(crate) fn share_accepted(&self, origin: Origin, difficulty: f64, met: Met) {
        let (now, share_difficulty) = (std::time::SystemTime::now(), hash_difficulty(&met.hash));
        self.with_worker(origin.worker, |w| {
            w.accepted += 1;
            w.accepted_difficulty += difficulty;
            if met.is_block {
                w.blocks += 1;
            }
            w.difficulty = difficulty;
            w.last_share = Some(now);
            w.best_share = w.best_share.max(share_difficulty);
        });
        self.event(ServerEvent::ShareAccepted {
            worker: origin.worker.to_string(),
            difficulty,
            hash_difficulty: share_difficulty,
        });
        if met.is_block {
            info!(worker = %crate::text::Escaped(origin.worker), hash = %met.hash, "block found");
            self.block_found(FoundBlock {
                template_id: origin.entry.id,
                template: origin.entry.template.clone(),
                job_id: origin.job_id,
                worker: origin.worker.to_string(),
                header: met.header,
                hash: met.hash,
                extranonce1: origin.extranonce1.to_vec(),
                extranonce2: origin.extranonce2.to_vec(),
                coinbase: met.coinbase,
            });
        }
    }

    /// Counts a rejected share (for a worker the connection knows: `known`) and tells the event
    /// stream. `code` is the Stratum v1 code the rejection maps to (20–25).
    pub(crate) fn share_rejected(&self, worker: &str, known: bool, code: i64, reason: &str) {
        if known {
            let now = std::time::SystemTime::now();
            self.with_worker(worker, |w| {
                w.rejected += 1;
                if code == crate::error::codes::STALE {
                    w.stale += 1;
                }
                w.last_share = Some(now);
            });
        }
        self.event(ServerEvent::ShareRejected {
            worker: worker.to_string(),
            code,
            reason: reason.to_string(),
        });
    }
}
