//! The miner's counters and the status report printed every `--status-interval` seconds.

use std::collections::BTreeMap;
use std::fmt;

use hashforge_stratum::text::{escaped_prefix, Escaped};
use hashforge_stratum::{RejectKind, ShareOutcome};
use serde::Serialize;

use crate::units::{format_difficulty, format_rate};

/// Hash rates over the status windows (10 s, 60 s and 15 min), in hashes per second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct WindowRates {
    pub rate_10s: f64,
    pub rate_60s: f64,
    pub rate_15m: f64,
}

/// Rates and hashes of one backend (or the total).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Rates {
    pub name: String,
    pub detail: String,
    #[serde(flatten)]
    pub rates: WindowRates,
    pub hashes: u64,
    /// The 10 s rate of each part (CPU thread, GPU device), in order; empty for the total.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts_10s: Vec<f64>,
}

/// The most parts whose rates the status line lists one by one; past it, it gives their
/// count, lowest and highest rate (the API's `/backends` lists them all).
pub const MAX_PARTS_LISTED: usize = 8;

/// A backend's parts for the status line: nothing for one part, each rate up to
/// [`MAX_PARTS_LISTED`], else their count with the lowest and highest rate (only the CPU
/// backend has that many parts: its threads).
fn format_parts(parts: &[f64]) -> String {
    match parts {
        [] | [_] => String::new(),
        _ if parts.len() <= MAX_PARTS_LISTED => {
            let each: Vec<String> = parts.iter().map(|r| format_rate(*r)).collect();
            format!(" [{}]", each.join(", "))
        }
        _ => {
            let min = parts.iter().copied().fold(f64::INFINITY, f64::min);
            let max = parts.iter().copied().fold(0.0, f64::max);
            format!(
                " [{} threads, {} to {}]",
                parts.len(),
                format_rate(min),
                format_rate(max)
            )
        }
    }
}

/// Share outcomes and other counters.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counters {
    pub found: u64,
    pub submitted: u64,
    pub accepted: u64,
    /// Rejected by the pool for another reason than staleness (stale ones are in `stale`).
    pub rejected: u64,
    /// Rejections by reason: at most [`MAX_REJECT_REASONS`] reasons, each cut to
    /// [`MAX_REJECT_REASON_CHARS`], the rest under [`OTHER_REJECT_REASON`] (see
    /// [`Counters::count_reject`]).
    pub reject_reasons: BTreeMap<String, u64>,
    /// Found for a job the pool had already cleaned: dropped locally, or rejected as stale
    /// (those are counted here only, not in `rejected`).
    pub stale: u64,
    /// Of `stale`, those the pool answered (rejected as stale).
    pub stale_rejected: u64,
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
            // A stale share is counted once, in `stale`, not in `rejected` too.
            ShareOutcome::Rejected(reason) if matches!(reason.kind(), RejectKind::Stale) => {
                self.stale += 1;
                self.stale_rejected += 1;
                "stale"
            }
            ShareOutcome::Rejected(reason) => {
                self.rejected += 1;
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
    /// The pool connection: `connecting` (never connected yet), `connected` or `reconnecting`.
    pub pool_state: String,
    /// The highest difficulty of a share found (0 before the first).
    pub best_share: f64,
    /// Seconds since the last accepted share (`None` before the first).
    pub last_share_s: Option<f64>,
    /// Whether the 15-minute window is full (the run is 15 minutes old); before, `rate_15m`
    /// is the rate over the run so far.
    pub window_15m_full: bool,
}

/// The length of the longest rate window.
pub const WINDOW_15M_S: f64 = 900.0;

impl Status {
    /// Accepted shares as a percentage of those the pool answered (accepted, rejected, stale
    /// rejected); `None` before the first answer.
    pub fn accept_percent(&self) -> Option<f64> {
        let c = &self.counters;
        let answered = c.accepted + c.rejected + c.stale_rejected;
        (answered > 0).then(|| 100.0 * c.accepted as f64 / answered as f64)
    }

    /// The labelled summary printed at the end of a run, one item per line.
    pub fn summary(&self) -> String {
        let c = &self.counters;
        let mut out = String::from("final summary\n");
        let mut line = |label: &str, value: String| {
            out.push_str(&format!("  {label:<16}{value}\n"));
        };
        line("uptime", format_uptime(self.uptime_s));
        line("hashes", self.total.hashes.to_string());
        line(
            "hash rate",
            format!(
                "{} (over the run)",
                format_rate(self.total.hashes as f64 / self.uptime_s.max(1e-9))
            ),
        );
        line("shares found", c.found.to_string());
        line(
            "accepted",
            match self.accept_percent() {
                Some(p) => format!("{} ({p:.1} %)", c.accepted),
                None => c.accepted.to_string(),
            },
        );
        line("rejected", c.rejected.to_string());
        line("stale", c.stale.to_string());
        line("hardware errors", c.hw_errors.to_string());
        line("timed out", c.timed_out.to_string());
        line("lost", c.lost.to_string());
        line("best share", format_best(self.best_share));
        line(
            "pool",
            Escaped(self.pool.as_deref().unwrap_or("none")).to_string(),
        );
        out.pop();
        out
    }
}

/// The best share's difficulty, or `-` before the first.
fn format_best(difficulty: f64) -> String {
    if difficulty > 0.0 {
        format_difficulty(difficulty)
    } else {
        "-".to_string()
    }
}

/// Seconds as `1h02m03s`, `2m03s` or `3s`.
pub fn format_uptime(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.backends {
            write!(
                f,
                "{} {}{} | ",
                b.name,
                format_rate(b.rates.rate_10s),
                format_parts(&b.parts_10s)
            )?;
        }
        let t = &self.total.rates;
        let partial = if self.window_15m_full {
            ""
        } else {
            ", 15m partial"
        };
        write!(
            f,
            "total {} / {} / {} (10s/60s/15m{partial})",
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
        if let Some(p) = self.accept_percent() {
            write!(f, " ({p:.1} %)")?;
        }
        if !c.reject_reasons.is_empty() {
            let reasons: Vec<String> = c
                .reject_reasons
                .iter()
                .map(|(r, n)| format!("{}: {n}", Escaped(r)))
                .collect();
            write!(f, " (rejected: {})", reasons.join(", "))?;
        }
        if c.lost + c.timed_out > 0 {
            write!(f, " | lost {} timeout {}", c.lost, c.timed_out)?;
        }
        write!(f, " | best {}", format_best(self.best_share))?;
        match self.last_share_s {
            Some(s) => write!(f, " | last share {} ago", format_uptime(s))?,
            None => write!(f, " | no share yet")?,
        }
        write!(f, " | diff {}", format_difficulty(self.difficulty))?;
        write!(f, " | up {}", format_uptime(self.uptime_s))?;
        let state = if self.pool_state.is_empty() {
            "no pool"
        } else {
            self.pool_state.as_str()
        };
        write!(
            f,
            " | {state} {}",
            Escaped(self.pool.as_deref().unwrap_or("-"))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_listed_up_to_a_bound() {
        assert_eq!(format_parts(&[]), "");
        assert_eq!(format_parts(&[5e6]), "");
        assert_eq!(
            format_parts(&[1e6, 2e6]),
            format!(" [{}, {}]", format_rate(1e6), format_rate(2e6))
        );
        let many: Vec<f64> = (1..=9).map(|i| f64::from(i) * 1e6).collect();
        assert_eq!(
            format_parts(&many),
            format!(" [9 threads, {} to {}]", format_rate(1e6), format_rate(9e6))
        );
    }

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
