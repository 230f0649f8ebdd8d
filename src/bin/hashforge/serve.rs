//! `hashforge serve`: a solo pool. A Stratum v1 server for a fleet of miners (each connection
//! its own extranonce1, version rolling, vardiff) fed with work from a Bitcoin Core node; every
//! block a worker finds is submitted to the node and pays `--address`.
//!
//! Logs go to stderr (`--log-level` or `RUST_LOG`), the periodic status block to stdout.

use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hashforge_stratum::{ServerConfig, VardiffConfig};
use tracing::info;

use super::cli::ServeArgs;
use hashforge::pool::status::print_status;
use hashforge::pool::{NodeFeedOptions, SoloPool};

pub fn run(args: ServeArgs) -> Result<()> {
    let status_interval = seconds("--status-interval", args.status_interval)?;
    let handshake_timeout = seconds("--handshake-timeout", args.handshake_timeout)?;
    if args.max_connections_per_ip == 0 {
        bail!("--max-connections-per-ip must be at least 1");
    }
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
            handshake: handshake_timeout,
        },
    ))
}

/// Parsed time settings.
struct Intervals {
    status: Duration,
    share: Duration,
    update: Duration,
    handshake: Duration,
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
        cap_at_network_difficulty: true,
        vardiff: Some(VardiffConfig {
            target_interval: intervals.share,
            retarget_interval: (intervals.share * 6).max(Duration::from_secs(30)),
        }),
        password: args.password.clone(),
        handshake_timeout: intervals.handshake,
        max_connections_per_ip: args.max_connections_per_ip,
        tls,
        ..ServerConfig::default()
    };
    let options = NodeFeedOptions {
        coinbase_tag: args.node.coinbase_tag.clone().into_bytes(),
        update_interval: intervals.update,
        ..NodeFeedOptions::default()
    };
    let pool = SoloPool::start(rpc, payout, args.listen, config, options).await?;
    let server = pool.server();
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
            _ = ticker.tick() => print_status(&server.stats(), server.connections(), &pool.stats(), started.elapsed()),
        }
    };
    info!("stopping");
    let last = pool.stats();
    pool.shutdown().await;
    print_status(
        &server.stats(),
        server.connections(),
        &last,
        started.elapsed(),
    );
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
