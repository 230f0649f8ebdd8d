//! `hashforge serve`: a solo pool. A Stratum v1 server for a fleet of miners (each connection
//! its own extranonce1, version rolling, vardiff) fed with work from a Bitcoin Core node; every
//! block a worker finds is submitted to the node and pays `--address`.
//!
//! Logs go to stderr (`--log-level` or `RUST_LOG`), the periodic status block to stdout.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hashforge_stratum::{Server, ServerConfig, ServerHandle, VardiffConfig, WorkerStats};
use tracing::info;

use super::cli::ServeArgs;
use crate::pool::{BlockOutcome, FeedStats, NodeFeed, NodeFeedOptions};

pub fn run(args: ServeArgs) -> Result<()> {
    let status_interval = seconds("--status-interval", args.status_interval)?;
    let share_interval = seconds("--share-interval", args.share_interval)?;
    let update_interval = if args.update_interval == 0.0 {
        Duration::ZERO
    } else {
        seconds("--update-interval", args.update_interval)?
    };
    if !(args.start_difficulty.is_finite() && args.start_difficulty > 0.0) {
        bail!("--start-difficulty must be a positive number");
    }
    super::logging::init(&args.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(
        args,
        Intervals {
            status: status_interval,
            share: share_interval,
            update: update_interval,
        },
    ))
}

/// Parsed time settings.
struct Intervals {
    status: Duration,
    share: Duration,
    update: Duration,
}

/// A positive number of seconds as a duration.
fn seconds(flag: &str, value: f64) -> Result<Duration> {
    match Duration::try_from_secs_f64(value) {
        Ok(d) if !d.is_zero() && value <= 1e9 => Ok(d),
        _ => bail!("{flag} must be a positive number of seconds, not {value}"),
    }
}

async fn serve(args: ServeArgs, intervals: Intervals) -> Result<()> {
    // Bad certificate files fail before the node is asked anything.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(
            hashforge_stratum::tls::server_config_from_pem(cert, key)
                .context("cannot use the TLS certificate")?,
        ),
        _ => None,
    };
    let scheme = if tls.is_some() {
        "stratum+ssl"
    } else {
        "stratum+tcp"
    };
    let node = super::node::connect(&args.node).await?;
    let (rpc, chain, payout, address) = (node.rpc, node.chain, node.payout, node.address);

    let config = ServerConfig {
        start_difficulty: args.start_difficulty,
        min_difficulty: ServerConfig::default()
            .min_difficulty
            .min(args.start_difficulty),
        vardiff: Some(VardiffConfig {
            target_interval: intervals.share,
            retarget_interval: (intervals.share * 6).max(Duration::from_secs(30)),
        }),
        password: args.password.clone(),
        tls,
        ..ServerConfig::default()
    };
    let (server, events) = Server::bind(args.listen, config)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let server = Arc::new(server);
    let options = NodeFeedOptions {
        coinbase_tag: args.node.coinbase_tag.clone().into_bytes(),
        update_interval: intervals.update,
        ..NodeFeedOptions::default()
    };
    let feed = NodeFeed::start(rpc, payout, options, server.clone(), events).await?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "hashforge serve: listening on {scheme}://{}, blocks pay {} ({})",
            server.local_addr(),
            address,
            chain.network
        );
        let _ = out.flush();
    }
    info!(
        "listening on {scheme}://{}; miners may use any worker name",
        server.local_addr()
    );

    let started = Instant::now();
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + intervals.status,
        intervals.status,
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stop = stop_signal();
    tokio::pin!(stop);
    let stopped = loop {
        tokio::select! {
            r = &mut stop => break r,
            _ = ticker.tick() => print_status(&server, &feed.stats(), started.elapsed()),
        }
    };
    info!("stopping");
    let last = feed.stats();
    feed.stop().await;
    server.shutdown().await;
    print_status(&server, &last, started.elapsed());
    stopped.context("cannot listen for Ctrl-C")
}

/// Waits for Ctrl-C (or SIGTERM on Unix).
async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

/// Prints the status block on stdout.
fn print_status(server: &ServerHandle, feed: &FeedStats, uptime: Duration) {
    let text = status_text(&server.stats(), server.connections(), feed, uptime);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// The status block: per-worker hashrate and shares, totals, blocks.
fn status_text(
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
        "blocks: {} found, {} accepted, {} rejected, {} not submitted; node errors: {}",
        feed.blocks_found,
        feed.blocks_accepted,
        feed.blocks_rejected,
        feed.blocks_failed,
        feed.node_errors
    );
    if let Some(b) = feed.recent_blocks.last() {
        let outcome = match &b.outcome {
            BlockOutcome::Accepted => "accepted".to_string(),
            BlockOutcome::Rejected(r) => format!("rejected: {r}"),
            BlockOutcome::Failed(e) => format!("not submitted: {e}"),
        };
        let _ = writeln!(
            s,
            "last block: {} at height {} by {} ({outcome})",
            b.hash, b.height, b.worker
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
    let name: String = w.worker.chars().take(24).collect();
    let _ = writeln!(
        s,
        "{:<24} {:>12} {:>10} {:>10} {:>8} {:>7}",
        name,
        format_hashrate(w.hashrate),
        w.accepted,
        w.rejected,
        w.stale,
        w.blocks
    );
}

/// A hashrate with its unit, H/s to EH/s.
fn format_hashrate(hps: f64) -> String {
    const UNITS: [&str; 7] = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s"];
    let mut v = if hps.is_finite() { hps.max(0.0) } else { 0.0 };
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.2} {}", UNITS[unit])
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
    fn hashrates_and_uptimes() {
        assert_eq!(format_hashrate(0.0), "0.00 H/s");
        assert_eq!(format_hashrate(999.0), "999.00 H/s");
        assert_eq!(format_hashrate(12_345_678.0), "12.35 MH/s");
        assert_eq!(format_hashrate(2.5e15), "2.50 PH/s");
        assert_eq!(format_hashrate(f64::NAN), "0.00 H/s");
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
