//! The miner's counters and the status report printed every `--status-interval` seconds.

use std::collections::BTreeMap;
use std::fmt;

use hashforge_stratum::text::Escaped;
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
    /// Rejections by reason.
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
