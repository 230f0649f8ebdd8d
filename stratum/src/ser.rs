//! Serde helpers for the JSON views of the library's types (the API of `hashforge serve`
//! serializes [`WorkerStats`](crate::WorkerStats) as they are).

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

use crate::text::escaped_prefix;

/// The longest worker name (or other untrusted text) written, in characters of the original
/// (control characters escaped, see [`escaped_prefix`]).
pub const MAX_TEXT_CHARS: usize = 128;

/// A moment as Unix seconds (0 before the epoch).
pub fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Serializes an optional moment as Unix seconds (see [`unix`]).
pub fn unix_secs<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
    t.map(unix).serialize(s)
}

/// Serializes untrusted text escaped and cut to [`MAX_TEXT_CHARS`].
pub fn escaped<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    escaped_prefix(text, MAX_TEXT_CHARS).serialize(s)
}
