//! Variable difficulty: aim for one share every `target_interval` per connection.

use std::time::Duration;

use tokio::time::Instant;

/// Vardiff settings.
#[derive(Debug, Clone)]
pub struct VardiffConfig {
    /// Desired time between shares.
    pub target_interval: Duration,
    /// How often the difficulty is reconsidered.
    pub retarget_interval: Duration,
}

impl Default for VardiffConfig {
    fn default() -> Self {
        Self {
            target_interval: Duration::from_secs(10),
            retarget_interval: Duration::from_secs(60),
        }
    }
}

/// Per-connection vardiff state.
#[derive(Debug)]
pub(crate) struct Vardiff {
    window_start: Instant,
    shares: u32,
}

impl Vardiff {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            window_start: now,
            shares: 0,
        }
    }

    pub(crate) fn record_share(&mut self) {
        self.shares = self.shares.saturating_add(1);
    }

    /// A new difficulty when a retarget is due and the change is worth it.
    pub(crate) fn retarget(
        &mut self,
        cfg: &VardiffConfig,
        now: Instant,
        current: f64,
        min: f64,
        max: f64,
    ) -> Option<f64> {
        let elapsed = now.duration_since(self.window_start);
        if elapsed < cfg.retarget_interval {
            return None;
        }
        let shares = self.shares;
        self.window_start = now;
        self.shares = 0;
        let ratio = if shares == 0 {
            0.5
        } else {
            f64::from(shares) * cfg.target_interval.as_secs_f64() / elapsed.as_secs_f64()
        };
        let next = (current * ratio.clamp(0.25, 4.0)).clamp(min, max);
        let change = next / current;
        if (0.8..=1.25).contains(&change) {
            None
        } else {
            Some(next)
        }
    }
}
