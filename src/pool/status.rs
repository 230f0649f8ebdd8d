//! The status block `hashforge serve` prints: per-worker hash rate and shares, totals, blocks.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use hashforge_stratum::text::Escaped;
use hashforge_stratum::WorkerStats;

use super::{BlockOutcome, FeedStats};
use crate::units::format_rate;

/// Prints the status block on stdout.
pub fn print_status(
    workers: &[WorkerStats],
    connections: usize,
    feed: &FeedStats,
    uptime: Duration,
) {
    let text = status_text(workers, connections, feed, uptime);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// The status block: per-worker hashrate and shares, totals, blocks.
pub fn status_text(
    workers: &[WorkerStats],
    connections: usize,
    feed: &FeedStats,
    uptime: Duration,
) -> String {
    let mut s = String::new();
    let height = feed
        .height
        .map_or_else(|| "-".to_string(), |h| h.to_string());
    let _ = writeln!(
        s,
        "--- up {}: {} connection{}, working on height {height} ({} transactions), {} template{} so far ---",
        format_uptime(uptime),
        connections,
        plural(connections as u64),
        feed.transactions,
        feed.templates,
        plural(feed.templates),
    );
    let _ = writeln!(
        s,
        "{:<24} {:>12} {:>10} {:>10} {:>8} {:>7}",
        "worker", "hashrate", "accepted", "rejected", "stale", "blocks"
    );
    let mut total = WorkerStats::new("total");
    for w in workers {
        row(&mut s, w);
        total.accepted += w.accepted;
        total.rejected += w.rejected;
        total.stale += w.stale;
        total.blocks += w.blocks;
        total.hashrate += w.hashrate;
    }
    row(&mut s, &total);
    let _ = writeln!(
        s,
        "blocks: {} found, {} accepted, {} rejected, {} not submitted, {} superseded; node errors: {}",
        feed.blocks_found,
        feed.blocks_accepted,
        feed.blocks_rejected,
        feed.blocks_failed,
        feed.blocks_superseded,
        feed.node_errors
    );
    if let Some(b) = feed.recent_blocks.last() {
        let outcome = match &b.outcome {
            BlockOutcome::Accepted => "accepted".to_string(),
            BlockOutcome::Rejected(r) => format!("rejected: {}", Escaped(r)),
            BlockOutcome::Failed(e) => format!("not submitted: {}", Escaped(e)),
        };
        let _ = writeln!(
            s,
            "last block: {} at height {} by {} ({outcome})",
            b.hash,
            b.height,
            Escaped(&b.worker)
        );
    }
    s
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn row(s: &mut String, w: &WorkerStats) {
    // A worker names itself: escaped, so that it cannot forge lines of this block.
    let name: String = Escaped(&w.worker).to_string().chars().take(24).collect();
    let _ = writeln!(
        s,
        "{:<24} {:>12} {:>10} {:>10} {:>8} {:>7}",
        name,
        format_rate(w.hashrate),
        w.accepted,
        w.rejected,
        w.stale,
        w.blocks
    );
}

/// `1h02m03s`, `2m03s`, `3s`.
fn format_uptime(d: Duration) -> String {
    let t = d.as_secs();
    let (h, m, s) = (t / 3600, t / 60 % 60, t % 60);
    if h > 0 {
        format!("{h}h{m:02}m{s:02}s")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptimes() {
        assert_eq!(format_uptime(Duration::from_secs(3)), "3s");
        assert_eq!(format_uptime(Duration::from_secs(123)), "2m03s");
        assert_eq!(format_uptime(Duration::from_secs(3723)), "1h02m03s");
    }

    #[test]
    fn status_block_has_workers_and_totals() {
        let w = |name: &str, acc, rej, stale, blocks, rate| WorkerStats {
            worker: name.into(),
            accepted: acc,
            rejected: rej,
            stale,
            accepted_difficulty: 0.0,
            blocks,
            hashrate: rate,
            ..WorkerStats::new(name)
        };
        let feed = FeedStats {
            templates: 3,
            height: Some(205),
            blocks_found: 2,
            blocks_accepted: 1,
            blocks_rejected: 1,
            ..FeedStats::default()
        };
        let text = status_text(
            &[w("alice", 10, 1, 1, 1, 2e6), w("bob", 5, 0, 0, 1, 1e6)],
            2,
            &feed,
            Duration::from_secs(61),
        );
        assert!(text.contains("up 1m01s: 2 connections, working on height 205"));
        assert!(text
            .lines()
            .any(|l| l.starts_with("alice") && l.contains("2.00 MH/s")));
        let total = text.lines().find(|l| l.starts_with("total")).unwrap();
        let cols: Vec<&str> = total.split_whitespace().collect();
        assert_eq!(cols, ["total", "3.00", "MH/s", "15", "1", "1", "2"]);
        assert!(text.contains("blocks: 2 found, 1 accepted, 1 rejected"));
    }
}
