//! `hashforge serve`: a solo pool. A Stratum v1 server for a fleet of miners (each connection
//! its own extranonce1, version rolling, vardiff) fed with work from a Bitcoin Core node; every
//! block a worker finds is submitted to the node and pays `--address`.
//!
//! Logs go to stderr (`--log-level` or `RUST_LOG`), the periodic status block to stdout.

use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hashforge_stratum::{Keepalive, ServerConfig, Tuning, VardiffConfig};
use tracing::info;

use super::cli::ServeArgs;
use hashforge::pool::status::print_status;
use hashforge::pool::{NodeFeedOptions, SoloPool};

/// `--tcp-keepalive`: the idle time before probes (the default probe interval and count), or
/// none for 0.
fn keepalive(idle: Duration) -> Option<Keepalive> {
    (!idle.is_zero()).then(|| Keepalive {
        idle,
        ..Keepalive::default()
    })
}

/// The difficulty settings of new connections: `--start-difficulty` (and the minimum below
/// it) and vardiff aiming at a share every `--share-interval`.
fn tuning(start_difficulty: f64, share_interval: Duration) -> Tuning {
    Tuning {
        start_difficulty,
        min_difficulty: ServerConfig::default().min_difficulty.min(start_difficulty),
        vardiff: Some(VardiffConfig {
            target_interval: share_interval,
            retarget_interval: (share_interval * 6).max(Duration::from_secs(30)),
        }),
    }
}

pub fn run(args: ServeArgs) -> Result<()> {
    super::logging::init(&args.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> Result<()> {
    // A bad API address or token fails before the node is asked anything.
    let api = super::api::config(&args.api)?;
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
    let sv2_keys = match &args.sv2_key {
        Some(path) => Some(hashforge_stratum::v2::AuthorityKeys::load(path)?),
        None => None,
    };
    let node = super::node::connect(&args.node).await?;
    let (rpc, chain, payout, address) = (node.rpc, node.chain, node.payout, node.address);

    let first = tuning(args.start_difficulty, args.share_interval);
    let config = ServerConfig {
        start_difficulty: first.start_difficulty,
        min_difficulty: first.min_difficulty,
        cap_at_network_difficulty: true,
        vardiff: first.vardiff,
        password: args.password.clone(),
        handshake_timeout: args.handshake_timeout,
        max_connections_per_ip: args.max_connections_per_ip,
        tcp_keepalive: keepalive(args.tcp_keepalive),
        tls,
        ..ServerConfig::default()
    };
    let options = NodeFeedOptions {
        coinbase_tag: args.node.coinbase_tag.clone().into_bytes(),
        update_interval: args.update_interval,
        ..NodeFeedOptions::default()
    };
    let pool = SoloPool::start(rpc, payout, args.listen, config, options).await?;
    let server = pool.server();
    let sv2 = match (args.sv2_listen, sv2_keys) {
        (Some(addr), Some(keys)) => {
            let public = keys.public();
            let options = hashforge_stratum::Sv2Options {
                cert_validity: args.sv2_cert_validity,
                ..hashforge_stratum::Sv2Options::new(keys)
            };
            let bound = server
                .listen_sv2(addr, options)
                .await
                .with_context(|| format!("cannot listen on {addr} (Stratum V2)"))?;
            Some(format!("stratum2+tcp://{bound}/{public}"))
        }
        _ => None,
    };
    // SIGHUP re-reads --config: the difficulty settings of new connections change. Set up
    // before the listening line, so that a SIGHUP sent once that line is out is handled, and
    // compared with the settings the server started with.
    let retune = server.clone();
    let apply: super::reload::Apply = Box::new(move |cli, changed| {
        let super::cli::Command::Serve(new) = &cli.command else {
            return Err("not a serve command".into());
        };
        retune
            .retune(tuning(new.start_difficulty, new.share_interval))
            .map_err(|e| e.to_string())?;
        let parts: Vec<String> = changed
            .iter()
            .map(|k| match k.as_str() {
                "start-difficulty" => format!("start-difficulty {}", new.start_difficulty),
                _ => format!("share-interval {} s", new.share_interval.as_secs_f64()),
            })
            .collect();
        Ok(vec![format!("{} for new connections", parts.join(", "))])
    });
    super::reload::spawn(
        args.config.clone(),
        &["start-difficulty", "share-interval"],
        apply,
    )?;

    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "hashforge serve: listening on {scheme}://{}, blocks pay {} ({})",
            server.local_addr(),
            address,
            chain.network
        );
        if let Some(url) = &sv2 {
            let _ = writeln!(out, "hashforge serve: Stratum V2 on {url}");
        }
        let _ = out.flush();
    }
    info!(
        "listening on {scheme}://{}; miners may use any worker name",
        server.local_addr()
    );

    let started = Instant::now();
    let api = match api {
        Some(config) => {
            let source = hashforge::api::ServerSource {
                server: server.clone(),
                feed: pool.subscribe(),
                started,
            };
            Some(super::api::started(
                hashforge::api::start_api(&config, hashforge::api::ApiSource::Server(source)).await,
            )?)
        }
        None => None,
    };
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + args.status_interval,
        args.status_interval,
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stop = super::signal::Stop::install()
        .context("cannot listen for Ctrl-C or SIGTERM")?
        .wait();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = ticker.tick() => print_status(&server.stats(), server.connections(), &pool.stats(), started.elapsed()),
        }
    }
    info!("stopping");
    if let Some(api) = api {
        api.shutdown().await;
    }
    // The final counters include the block submissions the shutdown waited for.
    let last = pool.shutdown().await;
    print_status(
        &server.stats(),
        server.connections(),
        &last,
        started.elapsed(),
    );
    Ok(())
}
