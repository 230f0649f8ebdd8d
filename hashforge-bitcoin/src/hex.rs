//! Hex decoding at the edge, with errors that name the field and the problem; and the display
//! form of 256-bit numbers.

use std::fmt;

use crate::error::HexError;

/// Decodes hex of any even length.
pub fn decode(s: &str, what: &'static str) -> Result<Vec<u8>, HexError> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return Err(HexError {
            what,
            reason: format!("odd number of hex digits ({})", s.len()),
        });
    }
    hex::decode(s).map_err(|e| HexError {
        what,
        reason: e.to_string(),
    })
}

/// Decodes hex that must be exactly `N` bytes long.
pub fn decode_array<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N], HexError> {
    let bytes = decode(s, what)?;
    let len = bytes.len();
    bytes.try_into().map_err(|_| HexError {
        what,
        reason: format!("expected {N} bytes ({} hex digits), got {len} bytes", 2 * N),
    })
}

/// Decodes a 256-bit number written in display order (most significant byte first, as block
/// explorers show hashes and targets) into its little-endian bytes.
pub fn decode_display(s: &str, what: &'static str) -> Result<[u8; 32], HexError> {
    let mut bytes: [u8; 32] = decode_array(s, what)?;
    bytes.reverse();
    Ok(bytes)
}

/// Writes a 256-bit number given as its little-endian bytes in display order (64 hex digits, most
/// significant first): the inverse of [`decode_display`].
pub fn fmt_display(bytes: &[u8; 32], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for b in bytes.iter().rev() {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}
