//! Hex decoding at the edge, with errors that name the field and the problem.

use crate::Error;

/// Decodes hex of any even length.
pub fn decode(s: &str, what: &'static str) -> Result<Vec<u8>, Error> {
    let s = s.trim();
    if s.len() % 2 != 0 {
        return Err(Error::Hex {
            what,
            reason: format!("odd number of hex digits ({})", s.len()),
        });
    }
    hex::decode(s).map_err(|e| Error::Hex {
        what,
        reason: e.to_string(),
    })
}

/// Decodes hex that must be exactly `N` bytes long.
pub fn decode_array<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N], Error> {
    let bytes = decode(s, what)?;
    let len = bytes.len();
    bytes.try_into().map_err(|_| Error::Hex {
        what,
        reason: format!("expected {N} bytes ({} hex digits), got {len} bytes", 2 * N),
    })
}
