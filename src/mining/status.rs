//! The miner's counters and the status report printed every `--status-interval` seconds.

use std::collections::BTreeMap;
use std::fmt;

use hashforge_stratum::text::{escaped_prefix, Escaped};
use hashforge_stratum::{RejectKind, ShareOutcome};
use serde::Serialize;

use crate::units::{format_difficulty, format_rate};

/// Rates of one backend (or the total) over 10 s, 60 s and 15 min, in hashes per second.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Rates {
    pub name: String,
    pub detail: String,
    pub rate_10s: f64,
    pub rate_60s: f64,
    pub rate_15m: f64,
    pub hashes: u64,
}

/// Share outcomes and other counters.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counters {
    pub found: u64,
    pub submitted: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Rejections by reason: at most [`MAX_REJECT_REASONS`] reasons, each cut to
    /// [`MAX_REJECT_REASON_CHARS`], the rest under [`OTHER_REJECT_REASON`] (see
    /// [`Counters::count_reject`]).
    pub reject_reasons: BTreeMap<String, u64>,
    /// Found for a job the pool had already cleaned: dropped locally, or rejected as stale.
    pub stale: u64,
    pub duplicates: u64,
    pub hw_errors: u64,
    /// Submits the pool never answered in time.
    pub timed_out: u64,
    /// Shares that could not be sent, with the reason logged.
    pub lost: u64,
}

/// The most distinct reject reasons counted one by one: a pool chooses its reasons, and one that
/// invents a new one for every share must not grow the status without bound. Later new reasons
/// are counted under [`OTHER_REJECT_REASON`].
pub const MAX_REJECT_REASONS: usize = 16;

/// The longest reject reason kept, in characters (a longer one is cut and ends in `…`).
pub const MAX_REJECT_REASON_CHARS: usize = 64;

/// The bucket of the reject reasons past [`MAX_REJECT_REASONS`].
pub const OTHER_REJECT_REASON: &str = "other";

impl Counters {
    /// Counts a share's outcome (a rejection also under its reason); returns its kind for the
    /// log: `accepted`, `rejected`, `timed out` or `lost`.
    pub fn count_outcome(&mut self, outcome: &ShareOutcome) -> &'static str {
        match outcome {
            ShareOutcome::Accepted => {
                self.accepted += 1;
                "accepted"
            }
            ShareOutcome::Rejected(reason) => {
                self.rejected += 1;
                if matches!(reason.kind(), RejectKind::Stale) {
                    self.stale += 1;
                }
                self.count_reject(&reason.message);
                "rejected"
            }
            ShareOutcome::TimedOut => {
                self.timed_out += 1;
                "timed out"
            }
            ShareOutcome::Lost(_) => {
                self.lost += 1;
                "lost"
            }
        }
    }

    /// Counts a rejection under its reason, within [`MAX_REJECT_REASONS`] and
    /// [`MAX_REJECT_REASON_CHARS`] (control characters escaped).
    pub fn count_reject(&mut self, reason: &str) {
        let key = escaped_prefix(reason, MAX_REJECT_REASON_CHARS);
        let named = self
            .reject_reasons
            .keys()
            .filter(|k| *k != OTHER_REJECT_REASON)
            .count();
        let key = if self.reject_reasons.contains_key(&key) || named < MAX_REJECT_REASONS {
            key
        } else {
            OTHER_REJECT_REASON.to_string()
        };
        *self.reject_reasons.entry(key).or_default() += 1;
    }
}

/// One status report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Status {
    pub uptime_s: f64,
    pub backends: Vec<Rates>,
    pub total: Rates,
    #[serde(flatten)]
    pub counters: Counters,
    pub difficulty: f64,
    pub pool: Option<String>,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.backends {
            write!(f, "{} {} | ", b.name, format_rate(b.rate_10s))?;
        }
        let t = &self.total;
        write!(
            f,
            "total {} / {} / {} (10s/60s/15m)",
            format_rate(t.rate_10s),
            format_rate(t.rate_60s),
            format_rate(t.rate_15m)
        )?;
        let c = &self.counters;
        write!(
            f,
            " | A {} R {} S {} HW {}",
            c.accepted, c.rejected, c.stale, c.hw_errors
        )?;
        if !c.reject_reasons.is_empty() {
            let reasons: Vec<String> = c
                .reject_reasons
                .iter()
                .map(|(r, n)| format!("{}: {n}", Escaped(r)))
                .collect();
            write!(f, " ({})", reasons.join(", "))?;
        }
        if c.lost + c.timed_out > 0 {
            write!(f, " | lost {} timeout {}", c.lost, c.timed_out)?;
        }
        write!(f, " | diff {}", format_difficulty(self.difficulty))?;
        write!(
            f,
            " | {}",
            Escaped(self.pool.as_deref().unwrap_or("no pool"))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_reasons_are_bounded() {
        let mut c = Counters::default();
        for i in 0..100 {
            c.count_reject(&format!("reason {i:03} {}", "x".repeat(100)));
        }
        c.count_reject(&format!("reason 000 {}", "x".repeat(100)));
        assert_eq!(c.reject_reasons.len(), MAX_REJECT_REASONS + 1);
        assert_eq!(c.reject_reasons[OTHER_REJECT_REASON], 100 - 16);
        let first = format!("reason 000 {}…", "x".repeat(53));
        assert_eq!(c.reject_reasons[&first], 2);
        assert_eq!(c.reject_reasons.values().sum::<u64>(), 101);
    }
}
