//! Block templates pushed into the pool server.

use crate::job::swap_words;
use crate::messages::Notify;
use hashforge_bitcoin::{CompactTarget, Target};

/// Work for the pool to hand out: header fields plus a coinbase split around an extranonce
/// area of `extranonce1_size + extranonce2_size` bytes, and the merkle branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Previous block hash in header (internal) byte order.
    pub prev_hash: [u8; 32],
    /// Block version (before any rolling).
    pub version: u32,
    /// Compact network target.
    pub nbits: u32,
    /// Block time.
    pub ntime: u32,
    /// Coinbase bytes before the extranonce area.
    pub coinb1: Vec<u8>,
    /// Coinbase bytes after the extranonce area.
    pub coinb2: Vec<u8>,
    /// Merkle branch for the coinbase (internal byte order).
    pub merkle_branch: Vec<[u8; 32]>,
    /// Network target: a share at or below it is a block.
    pub network_target: Target,
}

impl Template {
    /// A valid-looking synthetic template for an embedded pool: regtest bits `207fffff` (about
    /// every second hash is a "block"), a random previous hash, a version-1 coinbase whose
    /// scriptSig pushes height 1, a tag and the `extranonce_size`-byte extranonce area, one
    /// 50 BTC output to `OP_TRUE`, and no other transactions.
    pub fn synthetic(extranonce_size: usize) -> Template {
        let en = extranonce_size.clamp(1, 75) as u8;
        let tag = b"/hashforge/";
        let mut coinb1 = Vec::new();
        coinb1.extend_from_slice(&1u32.to_le_bytes()); // tx version
        coinb1.push(1); // input count
        coinb1.extend_from_slice(&[0u8; 32]); // null prevout hash
        coinb1.extend_from_slice(&[0xff; 4]); // prevout index
        let script_len = 4 + 1 + tag.len() + 1 + usize::from(en);
        coinb1.push(script_len as u8);
        coinb1.extend_from_slice(&[0x03, 0x01, 0x00, 0x00]); // BIP 34 height 1
        coinb1.push(tag.len() as u8);
        coinb1.extend_from_slice(tag);
        coinb1.push(en); // push of the extranonce area
        let mut coinb2 = Vec::new();
        coinb2.extend_from_slice(&[0xff; 4]); // sequence
        coinb2.push(1); // output count
        coinb2.extend_from_slice(&5_000_000_000u64.to_le_bytes());
        coinb2.extend_from_slice(&[0x01, 0x51]); // OP_TRUE
        coinb2.extend_from_slice(&[0u8; 4]); // locktime
        let ntime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(0);
        Template {
            prev_hash: rand::random(),
            version: 0x2000_0000,
            nbits: 0x207f_ffff,
            ntime,
            coinb1,
            coinb2,
            merkle_branch: Vec::new(),
            network_target: Target::from_compact(CompactTarget(0x207f_ffff))
                .expect("regtest bits are a valid target"),
        }
    }

    /// The `mining.notify` for this template.
    pub fn notify(&self, job_id: String, clean_jobs: bool) -> Notify {
        Notify {
            job_id,
            prevhash: swap_words(&self.prev_hash),
            coinb1: self.coinb1.clone(),
            coinb2: self.coinb2.clone(),
            merkle_branch: self.merkle_branch.clone(),
            version: self.version,
            nbits: self.nbits,
            ntime: self.ntime,
            clean_jobs,
        }
    }
}
