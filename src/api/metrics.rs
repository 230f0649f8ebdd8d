//! `/metrics`: the Prometheus text of `mine` and `serve`, written with the official client
//! (`prometheus-client`, OpenMetrics text) from one snapshot per scrape. Names: the prefix
//! `hashforge_`, base units (seconds, hashes), `_total` on counters, `_info` for the build.
//! Counters come from counters that only grow (hashes, shares, blocks), so they only go up
//! between scrapes of one process.

use std::sync::atomic::AtomicU64;

use hashforge_stratum::text::escaped_prefix;
use hashforge_stratum::WorkerStats;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use super::json::{MAX_TEXT_CHARS, VERSION};
use super::MinerSource;
use crate::mining::monitor::{MinerSnapshot, PoolConnection};
use crate::pool::FeedStats;

/// The content type of the answer.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The most workers with series of their own (by name); the totals count every worker.
pub const MAX_WORKER_SERIES: usize = 1_000;

type Labels = Vec<(String, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// One counter per (name, help, value).
fn counters(registry: &mut Registry, list: &[(&str, &str, u64)]) {
    for &(name, help, value) in list {
        let c: Counter<u64> = Counter::default();
        c.inc_by(value);
        registry.register(name, help, c);
    }
}

/// One gauge per (name, help, value).
fn gauges(registry: &mut Registry, list: &[(&str, &str, f64)]) {
    for &(name, help, value) in list {
        let g = FloatGauge::default();
        g.set(value);
        registry.register(name, help, g);
    }
}

/// A counter family `name` with one `label`: a series per (label value, count).
fn counters_by<'a>(
    registry: &mut Registry,
    name: &str,
    help: &str,
    label: &str,
    values: impl IntoIterator<Item = (&'a str, u64)>,
) {
    let family: Family<Labels, Counter<u64>> = Family::default();
    for (value, n) in values {
        family.get_or_create(&labels(&[(label, value)])).inc_by(n);
    }
    registry.register(name, help, family);
}

/// `shares_total{result}`, the same family in `mine` and `serve`.
fn shares<'a>(
    registry: &mut Registry,
    help: &str,
    by_result: impl IntoIterator<Item = (&'a str, u64)>,
) {
    counters_by(registry, "shares", help, "result", by_result);
}

/// A worker's shares (or every worker's) by result, as the `result` label reads them.
fn by_result(w: &WorkerStats) -> [(&'static str, u64); 3] {
    [
        ("accepted", w.accepted),
        ("rejected", w.rejected),
        ("stale", w.stale),
    ]
}

fn build_info(registry: &mut Registry, kernel: &str) {
    let info = Info::new(labels(&[("version", VERSION), ("kernel", kernel)]));
    registry.register("build", "The build: version and the kernel hashing", info);
}

fn text(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = encode(&mut out, registry);
    out
}

/// `mine`'s metrics.
pub fn miner(source: &MinerSource, s: &MinerSnapshot) -> String {
    let mut r = Registry::with_prefix("hashforge");
    let st = &s.state;
    let status = &st.status;
    let c = &status.counters;
    build_info(&mut r, &source.kernel);
    gauges(
        &mut r,
        &[
            (
                "uptime_seconds",
                "Seconds since the miner started",
                s.uptime.as_secs_f64(),
            ),
            (
                "paused",
                "1 while hashing is paused through the API",
                f64::from(u8::from(s.paused)),
            ),
        ],
    );
    let rate: Family<Labels, FloatGauge> = Family::default();
    let hashes: Family<Labels, Counter<u64>> = Family::default();
    for (i, b) in s.backends.iter().enumerate() {
        let l = labels(&[("backend", &b.name)]);
        let r10 = status.backends.get(i).map_or(0.0, |r| r.rates.rate_10s);
        rate.get_or_create(&l).set(r10);
        hashes.get_or_create(&l).inc_by(b.hashes);
    }
    r.register(
        "hashrate_hashes_per_second",
        "Hash rate over the last 10 s, per backend",
        rate,
    );
    r.register("hashes", "Hashes done, per backend", hashes);
    shares(
        &mut r,
        "Shares by result (stale: found for a cleaned job, or rejected by the pool as stale)",
        [
            ("accepted", c.accepted),
            ("rejected", c.rejected),
            ("stale", c.stale),
            ("timed_out", c.timed_out),
            ("lost", c.lost),
            ("duplicate", c.duplicates),
        ],
    );
    counters_by(
        &mut r,
        "share_rejects",
        "Shares the pool rejected, by its reason (at most 16 reasons, then `other`)",
        "reason",
        c.reject_reasons
            .iter()
            .map(|(reason, n)| (reason.as_str(), *n)),
    );
    let connected = st
        .current_pool
        .and_then(|i| st.pools.get(i))
        .is_some_and(|p| p.connection == PoolConnection::Connected);
    counters(
        &mut r,
        &[
            (
                "hardware_errors",
                "Found nonces that failed the CPU re-check",
                c.hw_errors,
            ),
            (
                "pool_failovers",
                "Connections made to another pool than the one before",
                st.failovers,
            ),
        ],
    );
    gauges(
        &mut r,
        &[
            (
                "pool_connected",
                "1 while connected to a pool",
                f64::from(u8::from(connected)),
            ),
            (
                "pool_difficulty",
                "The pool difficulty in force",
                status.difficulty,
            ),
            (
                "best_share_difficulty",
                "The highest difficulty of a share found and sent",
                st.best_share,
            ),
        ],
    );
    text(&r)
}

/// `serve`'s metrics.
pub fn server(
    uptime_s: f64,
    connections: usize,
    workers: &[WorkerStats],
    totals: &WorkerStats,
    feed: &FeedStats,
) -> String {
    let mut r = Registry::with_prefix("hashforge");
    build_info(&mut r, "none");
    gauges(
        &mut r,
        &[
            (
                "uptime_seconds",
                "Seconds since the server started",
                uptime_s,
            ),
            ("connections", "Open miner connections", connections as f64),
            ("workers", "Workers known", workers.len() as f64),
            (
                "hashrate_hashes_per_second",
                "The workers' hash rate estimated from their shares, summed",
                workers.iter().map(|w| w.hashrate).sum(),
            ),
            (
                "best_share_difficulty",
                "The highest difficulty of an accepted share's hash",
                totals.best_share,
            ),
            (
                "height",
                "The height worked on",
                feed.height.map_or(0.0, f64::from),
            ),
        ],
    );
    shares(
        &mut r,
        "Shares of every worker by result (stale ones are also rejected)",
        by_result(totals),
    );
    let w_shares: Family<Labels, Counter<u64>> = Family::default();
    let w_rate: Family<Labels, FloatGauge> = Family::default();
    let w_diff: Family<Labels, FloatGauge> = Family::default();
    let w_best: Family<Labels, FloatGauge> = Family::default();
    for w in workers.iter().take(MAX_WORKER_SERIES) {
        let name = escaped_prefix(&w.worker, MAX_TEXT_CHARS);
        for (result, n) in by_result(w) {
            w_shares
                .get_or_create(&labels(&[("worker", &name), ("result", result)]))
                .inc_by(n);
        }
        let l = labels(&[("worker", &name)]);
        w_rate.get_or_create(&l).set(w.hashrate);
        w_diff.get_or_create(&l).set(w.difficulty);
        w_best.get_or_create(&l).set(w.best_share);
    }
    r.register(
        "worker_shares",
        "Shares per worker by result (the first 1000 workers by name)",
        w_shares,
    );
    r.register(
        "worker_hashrate_hashes_per_second",
        "A worker's hash rate estimated from its shares",
        w_rate,
    );
    r.register(
        "worker_difficulty",
        "The pool difficulty of a worker's last accepted share",
        w_diff,
    );
    r.register(
        "worker_best_share_difficulty",
        "The highest difficulty of a worker's accepted share",
        w_best,
    );
    counters_by(
        &mut r,
        "blocks_submitted",
        "Blocks by the node's answer (failed: could not be assembled or submitted)",
        "result",
        [
            ("accepted", feed.blocks_accepted),
            ("rejected", feed.blocks_rejected),
            ("failed", feed.blocks_failed),
        ],
    );
    counters(
        &mut r,
        &[
            ("blocks_found", "Blocks found by workers", feed.blocks_found),
            (
                "templates",
                "Templates pushed to the miners",
                feed.templates,
            ),
            (
                "node_errors",
                "Failed RPC calls to the node",
                feed.node_errors,
            ),
        ],
    );
    text(&r)
}
