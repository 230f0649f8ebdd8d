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

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use crate::WorkerStats;

    #[test]
    fn worker_stats_serialize_as_the_api_shows_them() {
        let mut w = WorkerStats::new("evil\x1b[2J\nw");
        w.address = Some("127.0.0.1:3333".parse().unwrap());
        w.connected_since = Some(UNIX_EPOCH + Duration::from_secs(1_796_198_125));
        w.accepted = 2;
        w.accepted_difficulty = 0.5;
        w.best_share = 1.5;
        assert_eq!(
            serde_json::to_string(&w).unwrap(),
            r#"{"name":"evil\\x1b[2J\\x0aw","address":"127.0.0.1:3333","connected":false,"connected_since":1796198125,"hashrate":0.0,"difficulty":0.0,"accepted":2,"rejected":0,"stale":0,"blocks":0,"last_share":null,"best_share_difficulty":1.5}"#
        );
        let long = WorkerStats::new(&"x".repeat(MAX + 1));
        let json = serde_json::to_value(&long).unwrap();
        assert_eq!(json["name"], format!("{}…", "x".repeat(MAX)));
    }

    const MAX: usize = super::MAX_TEXT_CHARS;
}
