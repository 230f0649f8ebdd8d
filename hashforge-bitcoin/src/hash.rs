//! `Hash256`: a 32-byte SHA-256d digest.

use std::fmt;

use crate::error::HexError;

/// A SHA-256d digest in internal byte order (as the hash function outputs it).
///
/// Bitcoin reads these bytes as a little-endian 256-bit number; block explorers
/// show them reversed ("display order"), which is what `Display` prints.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Hash256(pub [u8; 32]);

impl Hash256 {
    /// Parses 64 hex digits in display order (as block explorers and RPC show hashes).
    pub fn from_display_hex(s: &str, what: &'static str) -> Result<Self, HexError> {
        Ok(Hash256(crate::hex::decode_display(s, what)?))
    }

    /// The digest as a 256-bit number in four little-endian `u64` limbs (limb 3 is most significant).
    pub fn to_limbs(&self) -> [u64; 4] {
        std::array::from_fn(|i| u64::from_le_bytes(self.0[8 * i..8 * i + 8].try_into().unwrap()))
    }
}

impl fmt::Display for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::hex::fmt_display(&self.0, f)
    }
}

impl fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash256({self})")
    }
}
