//! Hash-rate meter: samples a hash counter once a second and reports rates over sliding windows.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The windows reported in status output.
pub const WINDOWS: [Duration; 3] = [
    Duration::from_secs(10),
    Duration::from_secs(60),
    Duration::from_secs(900),
];

/// Samples of one counter; call [`Meter::sample`] about once a second.
#[derive(Debug)]
pub struct Meter {
    samples: VecDeque<(Instant, u64)>,
    /// The longest window it answers for; older samples are dropped.
    horizon: Duration,
}

impl Meter {
    /// A meter for every one of [`WINDOWS`].
    pub fn new(now: Instant, count: u64) -> Self {
        Self::with_horizon(now, count, WINDOWS[WINDOWS.len() - 1])
    }

    /// A meter that keeps samples for windows up to `horizon` only (about one sample a second
    /// of it), for counters with short windows alone (a CPU thread's rate).
    pub fn with_horizon(now: Instant, count: u64, horizon: Duration) -> Self {
        Meter {
            samples: VecDeque::from([(now, count)]),
            horizon,
        }
    }

    pub fn sample(&mut self, now: Instant, count: u64) {
        self.samples.push_back((now, count));
        let keep = self.horizon + Duration::from_secs(2);
        while self.samples.len() > 2 && now.duration_since(self.samples[1].0) > keep {
            self.samples.pop_front();
        }
    }

    /// Hashes per second over the last `window` (or since the first sample, if shorter).
    pub fn rate(&self, window: Duration) -> f64 {
        let Some(&(t1, c1)) = self.samples.back() else {
            return 0.0;
        };
        let (t0, c0) = self
            .samples
            .iter()
            .find(|(t, _)| t1.duration_since(*t) <= window)
            .copied()
            .unwrap_or((t1, c1));
        let secs = t1.duration_since(t0).as_secs_f64();
        if secs <= 0.0 {
            0.0
        } else {
            c1.saturating_sub(c0) as f64 / secs
        }
    }

    /// The counter's last sampled value.
    pub fn count(&self) -> u64 {
        self.samples.back().map_or(0, |s| s.1)
    }

    /// Rates over each of [`WINDOWS`].
    pub fn rates(&self) -> [f64; 3] {
        WINDOWS.map(|w| self.rate(w))
    }
}
