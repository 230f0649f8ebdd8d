//! The last hour of the hash rate, for the dashboard's chart (`GET /api/v1/history`): a point
//! every [`INTERVAL`], the first at start, kept in a ring of [`CAPACITY`] points by a task that
//! runs as long as the API does.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Time between two points.
pub const INTERVAL: Duration = Duration::from_secs(10);

/// Points kept: one hour of [`INTERVAL`]s.
pub const CAPACITY: usize = 360;

/// One sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Point {
    /// When it was taken, in Unix seconds.
    pub t: u64,
    /// The hash rate then, in hashes per second: `mine`'s total over 10 s; `serve`'s sum of
    /// the workers' rates estimated from their shares.
    pub hashrate: f64,
    /// Accepted shares so far.
    pub accepted: u64,
}

/// `GET /api/v1/history`: the points, oldest first.
#[derive(Clone, Debug, Serialize)]
pub struct HistoryJson {
    pub interval_s: u64,
    pub capacity: usize,
    pub points: Vec<Point>,
}

/// The ring of points.
#[derive(Debug, Default)]
pub struct History {
    points: Mutex<VecDeque<Point>>,
}

impl History {
    pub fn new() -> Self {
        History {
            points: Mutex::new(VecDeque::with_capacity(CAPACITY)),
        }
    }

    /// Adds a point, forgetting the oldest past [`CAPACITY`].
    pub fn push(&self, point: Point) {
        let mut points = self.lock();
        while points.len() >= CAPACITY {
            points.pop_front();
        }
        points.push_back(point);
    }

    pub fn json(&self) -> HistoryJson {
        HistoryJson {
            interval_s: INTERVAL.as_secs(),
            capacity: CAPACITY,
            points: self.lock().iter().copied().collect(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Point>> {
        self.points.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a sample reads: the hash rate and the accepted shares now.
pub type Sampler = Box<dyn Fn() -> (f64, u64) + Send + Sync>;

/// Samples `sample` into `history` now and every [`INTERVAL`], until `stop` turns true.
pub fn spawn_sampler(
    history: Arc<History>,
    sample: Sampler,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                _ = ticker.tick() => {
                    let (hashrate, accepted) = sample();
                    let t = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    history.push(Point { t, hashrate, accepted });
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_hour() {
        let h = History::new();
        for t in 0..(CAPACITY as u64 + 25) {
            h.push(Point {
                t,
                hashrate: t as f64,
                accepted: t,
            });
        }
        let j = h.json();
        assert_eq!(j.points.len(), CAPACITY);
        assert_eq!(j.points[0].t, 25);
        assert_eq!(j.points[CAPACITY - 1].t, CAPACITY as u64 + 24);
        assert_eq!(j.interval_s, 10);
    }

    #[tokio::test]
    async fn samples_at_start_and_stops() {
        let h = Arc::new(History::new());
        let (stop, stopped) = watch::channel(false);
        let task = spawn_sampler(h.clone(), Box::new(|| (5.0, 2)), stopped);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while h.json().points.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let points = h.json().points;
        assert_eq!(points.len(), 1, "the first point is taken at start");
        assert_eq!((points[0].hashrate, points[0].accepted), (5.0, 2));
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the sampler stops with the API")
            .unwrap();
    }
}
