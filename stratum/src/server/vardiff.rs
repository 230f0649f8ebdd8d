//! Variable difficulty: aim for one share every `target_interval` per connection.

use std::time::Duration;

use tokio::time::Instant;

/// A connection with no share for this many target intervals gets its difficulty halved at
/// once, without waiting for the retarget interval: a worker too slow for its difficulty is
/// not left without shares for minutes.
pub const SILENT_INTERVALS: u32 = 4;

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
        let silent = self.shares == 0 && elapsed >= cfg.target_interval * SILENT_INTERVALS;
        if elapsed < cfg.retarget_interval && !silent {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection's vardiff at a 10 s share target and a 60 s retarget interval, between
    /// difficulties 0.001 and 1e6, from its start.
    struct Connection {
        cfg: VardiffConfig,
        t0: Instant,
        v: Vardiff,
    }

    impl Connection {
        fn new() -> Self {
            let t0 = Instant::now();
            Connection {
                cfg: VardiffConfig {
                    target_interval: Duration::from_secs(10),
                    retarget_interval: Duration::from_secs(60),
                },
                t0,
                v: Vardiff::new(t0),
            }
        }

        fn shares(&mut self, n: usize) {
            for _ in 0..n {
                self.v.record_share();
            }
        }

        /// The retarget `secs` seconds after the start, at difficulty `current`.
        fn retarget(&mut self, secs: u64, current: f64) -> Option<f64> {
            let now = self.t0 + Duration::from_secs(secs);
            self.v.retarget(&self.cfg, now, current, 0.001, 1e6)
        }
    }

    #[test]
    fn retargets_up_down_and_holds() {
        let mut c = Connection::new();
        // Not due yet.
        assert_eq!(c.retarget(30, 1.0), None);
        // 60 shares in 60 s at a 10 s target: ×10, capped at ×4.
        c.shares(60);
        assert_eq!(c.retarget(60, 1.0), Some(4.0));
        // 6 shares in 60 s: on target, no change.
        c.shares(6);
        assert_eq!(c.retarget(120, 4.0), None);
        // Nothing: halve, but never below the minimum.
        assert_eq!(c.retarget(180, 4.0), Some(2.0));
        assert_eq!(c.retarget(240, 0.0015), Some(0.001));
    }

    #[test]
    fn a_silent_connection_is_lowered_before_the_retarget() {
        let mut c = Connection::new();
        assert_eq!(c.retarget(39, 1.0), None);
        // Four target intervals without a share: halved.
        assert_eq!(c.retarget(40, 1.0), Some(0.5));
        // A share in the window: wait for the retarget as usual.
        c.shares(1);
        assert_eq!(c.retarget(90, 0.5), None);
    }
}
