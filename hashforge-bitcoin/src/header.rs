//! `Header`: the 80-byte Bitcoin block header, its one encoding, and what derives from it.

use crate::error::{HexError, PowError};
use crate::sha256::sha256d;
use crate::{CompactTarget, Hash256, Target};

/// A block header with its fields decoded. Serialization is little-endian, as on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Block version (with any rolled bits).
    pub version: u32,
    /// Previous block hash, internal byte order.
    pub prev_blockhash: [u8; 32],
    /// Merkle root, internal byte order.
    pub merkle_root: [u8; 32],
    /// Block time, Unix seconds.
    pub time: u32,
    /// The network target, compact.
    pub bits: CompactTarget,
    /// The nonce.
    pub nonce: u32,
}

impl Header {
    /// Serialized size in bytes.
    pub const SIZE: usize = 80;

    /// Parses the 80 serialized bytes.
    pub fn from_bytes(b: &[u8; 80]) -> Self {
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
        Header {
            version: u32_at(0),
            prev_blockhash: b[4..36].try_into().unwrap(),
            merkle_root: b[36..68].try_into().unwrap(),
            time: u32_at(68),
            bits: CompactTarget(u32_at(72)),
            nonce: u32_at(76),
        }
    }

    /// Parses 160 hex digits of a serialized header.
    pub fn from_hex(s: &str) -> Result<Self, HexError> {
        Ok(Self::from_bytes(&crate::hex::decode_array(s, "header")?))
    }

    /// The 80 serialized bytes.
    pub fn to_bytes(&self) -> [u8; 80] {
        let mut b = [0u8; 80];
        b[0..4].copy_from_slice(&self.version.to_le_bytes());
        b[4..36].copy_from_slice(&self.prev_blockhash);
        b[36..68].copy_from_slice(&self.merkle_root);
        b[68..72].copy_from_slice(&self.time.to_le_bytes());
        b[72..76].copy_from_slice(&self.bits.0.to_le_bytes());
        b[76..80].copy_from_slice(&self.nonce.to_le_bytes());
        b
    }

    /// The same header with another nonce.
    pub fn with_nonce(mut self, nonce: u32) -> Self {
        self.nonce = nonce;
        self
    }

    /// The block hash, sha256d of the serialized header.
    pub fn block_hash(&self) -> Hash256 {
        Hash256(sha256d(&self.to_bytes()))
    }

    /// The network target its `bits` encode; an error for a negative or overflowing encoding.
    pub fn target(&self) -> Result<Target, PowError> {
        Target::from_compact(self.bits)
    }

    /// The Bitcoin genesis block header (nonce 2083236893).
    pub fn genesis() -> Self {
        let mut merkle_root = [0u8; 32];
        hex::decode_to_slice(
            "3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a",
            &mut merkle_root,
        )
        .unwrap();
        Header {
            version: 1,
            prev_blockhash: [0; 32],
            merkle_root,
            time: 1231006505,
            bits: CompactTarget(0x1d00ffff),
            nonce: 2083236893,
        }
    }
}
