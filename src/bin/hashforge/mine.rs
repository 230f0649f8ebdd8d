//! `hashforge mine`: pool mining (or the embedded pool when no `-o` is given).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use hashforge_stratum::{ClientOptions, FailoverOptions, PoolConfig};

use super::cli::MineArgs;
use hashforge::backend::Backend;
use hashforge::mining::source::ShareTag;
use hashforge::mining::{self, Engine, MinerConfig, Status};
use hashforge::pool::{EmbeddedPool, SoloPool};

pub fn run(args: MineArgs) -> Result<()> {
    // The pool list is checked before the kernel calibration, so a bad URL is the only line.
    pools(&args.urls, &args.users, &args.passwords)?;
    // So is the API's address and token.
    let api = super::api::config(&args.api)?;
    // Before any thread starts (calibration, workers, the runtime): threads inherit both.
    super::priority::set_nice(args.cpu_priority)?;
    if let Some(cpus) = &args.cpu_affinity {
        super::priority::set_affinity(&cpus.0)?;
    }
    let (backends, kernel, threads) = backends(&args)?;
    super::logging::init(&args.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (status, gave_up) = runtime.block_on(mine(args, api, backends, kernel, threads))?;
    if status.total.hashes == 0 {
        // Nothing was hashed: no pool ever sent a job (none answered, or each refused the
        // worker's authorization). Distinct from a run that mined (exit 3, see main.rs).
        return Err(super::NeverMined(gave_up.unwrap_or_else(|| {
            "never mined: no pool gave work (none answered, or authorization was refused)".into()
        }))
        .into());
    }
    match gave_up {
        // It mined, then lost every pool for good: a runtime failure (exit 1).
        Some(reason) => Err(anyhow::anyhow!(reason)),
        None => Ok(()),
    }
}

type BackendList = Vec<Arc<dyn Backend<ShareTag>>>;

/// The backends, the kernel(s) they run and the CPU threads.
fn backends(args: &MineArgs) -> Result<(BackendList, String, usize)> {
    let options = super::backend_options(&args.backends)?;
    let built = super::build_backends(&options)?;
    let (kernel, threads) = (built.kernel_name(), built.cpu_threads());
    Ok((built.list(), kernel, threads))
}

/// Pairs every URL with its user and password (one each, or one shared).
fn pools(urls: &[String], users: &[String], passwords: &[String]) -> Result<Vec<PoolConfig>> {
    let pick = |list: &[String], i: usize, what: &str, default: &str| -> Result<String> {
        match list.len() {
            0 => Ok(default.to_string()),
            1 => Ok(list[0].clone()),
            n if n == urls.len() => Ok(list[i].clone()),
            n => bail!(
                "{n} {what} values for {} pools: give one, or one per -o",
                urls.len()
            ),
        }
    };
    urls.iter()
        .enumerate()
        .map(|(i, url)| {
            hashforge_stratum::PoolUrl::parse(url)
                .with_context(|| format!("bad pool URL '{url}'"))?;
            Ok(PoolConfig::new(
                url,
                pick(users, i, "-u", "hashforge")?,
                pick(passwords, i, "-p", "x")?,
            ))
        })
        .collect()
}

/// The pool `mine` runs in-process when it is not given one.
enum LocalPool {
    Embedded(EmbeddedPool),
    Solo(SoloPool),
}

async fn mine(
    args: MineArgs,
    api: Option<hashforge::api::ApiConfig>,
    backends: BackendList,
    kernel: String,
    threads: usize,
) -> Result<(Status, Option<String>)> {
    let local = if args.node.node.is_some() {
        let node = super::node::connect(&args.node).await?;
        let tag = args.node.coinbase_tag.clone().into_bytes();
        let pool = SoloPool::local(node.rpc, node.payout, tag).await?;
        eprintln!(
            "solo mining on {} ({} chain, height {}), blocks pay {}",
            args.node.node.as_deref().unwrap_or_default(),
            node.chain.network,
            node.chain.blocks,
            node.address
        );
        Some(LocalPool::Solo(pool))
    } else if args.urls.is_empty() {
        let pool =
            EmbeddedPool::start(0.01, Duration::from_secs(5), Duration::from_secs(30)).await?;
        eprintln!(
            "no pool given: mining on the embedded pool at {} (synthetic template)",
            pool.url()
        );
        Some(LocalPool::Embedded(pool))
    } else {
        None
    };
    let urls = match &local {
        Some(LocalPool::Embedded(p)) => vec![p.url()],
        Some(LocalPool::Solo(p)) => vec![p.url()],
        None => args.urls.clone(),
    };
    // SIGHUP re-reads --config: the pools (not those of an embedded or solo pool) and
    // --suggest-difficulty change while the workers hash on.
    let (reload_tx, reload_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut config = MinerConfig {
        pools: pools(&urls, &args.users, &args.passwords)?,
        client: ClientOptions {
            suggest_difficulty: args.suggest_difficulty,
            extranonce_subscribe: args.extranonce_subscribe,
            version_rolling: !args.no_version_rolling,
            insecure_tls: args.tls_insecure,
            sv2_authority_key: args.sv2_authority_key,
            submit_timeout: args.submit_timeout,
            ..ClientOptions::default()
        },
        failover: FailoverOptions {
            failures_before_failover: args.failover_after,
            primary_check_interval: args.failback_interval,
            retries: u32::try_from(args.retries).ok(),
            retry_pause: args.retry_pause,
            ..FailoverOptions::default()
        },
        status_interval: args.status_interval,
        drain_timeout: Duration::from_secs(5),
        reload: None,
    };
    if args.config.is_some() {
        config.reload = Some(reload_rx);
        let live: &'static [&'static str] = if local.is_some() {
            &["suggest-difficulty"]
        } else {
            &["url", "user", "pass", "suggest-difficulty"]
        };
        let (first_pools, local_pool) = (config.pools.clone(), local.is_some());
        let apply: super::reload::Apply = Box::new(move |cli, changed| {
            let super::cli::Command::Mine(new) = &cli.command else {
                return Err("not a mine command".into());
            };
            let pools = if local_pool {
                first_pools.clone()
            } else if new.urls.is_empty() {
                return Err("no pool left: mining on the embedded pool needs a restart".into());
            } else {
                pools(&new.urls, &new.users, &new.passwords).map_err(|e| format!("{e:#}"))?
            };
            let mut applied = Vec::new();
            if changed
                .iter()
                .any(|k| ["url", "user", "pass"].contains(&k.as_str()))
            {
                let urls: Vec<&str> = pools.iter().map(|p| p.url.as_str()).collect();
                applied.push(format!("pools now {}", urls.join(", ")));
            }
            if changed.iter().any(|k| k == "suggest-difficulty") {
                applied.push(match new.suggest_difficulty {
                    Some(d) => format!("suggest-difficulty {d}"),
                    None => "suggest-difficulty off (from the next connection)".into(),
                });
            }
            let reload = mining::Reload {
                pools,
                suggest_difficulty: new.suggest_difficulty,
            };
            reload_tx
                .send(reload)
                .map_err(|_| "the miner has stopped".to_string())?;
            Ok(applied)
        });
        super::reload::spawn(args.config.clone(), live, apply)?;
    }
    for b in &backends {
        eprintln!("backend {}: {}", b.name(), b.describe());
    }
    let (engine, found) = Engine::start(backends);
    let api = match api {
        Some(config) => {
            let source = hashforge::api::MinerSource {
                monitor: engine.monitor(),
                kernel,
                threads,
            };
            Some(super::api::started(
                hashforge::api::start_api(&config, hashforge::api::ApiSource::Miner(source)).await,
            )?)
        }
        None => None,
    };
    let json = args.json_status;
    let print = move |s: &Status| {
        if json {
            super::json::line("status", s);
        } else {
            super::json::text_line(s);
        }
    };
    // At a terminal: h, p and r (the terminal's mode comes back when `_keys` drops).
    let _keys = super::keys::start(engine.monitor(), Box::new(print));
    let on_status: mining::StatusSink = Box::new(print);
    // With --json-status every share is a JSON line too; the text log has them otherwise.
    let on_share: mining::ShareSink = Box::new(move |e: &mining::ShareEvent| {
        if json {
            super::json::line("share", e);
        }
    });
    // Ctrl-C and SIGTERM stop alike: hashing stops, shares in flight get their answers (or
    // are counted lost), and the final status is printed.
    let stop = super::signal::Stop::install().context("cannot listen for Ctrl-C or SIGTERM")?;
    let duration = args.duration;
    let shutdown = async move {
        match duration {
            Some(duration) => {
                tokio::select! {
                    _ = tokio::time::sleep(duration) => {}
                    _ = stop.wait() => {}
                }
            }
            None => stop.wait().await,
        }
        tracing::info!("stopping");
    };
    let status =
        mining::run_with_shares(config, engine, found, on_status, on_share, shutdown).await;
    if let Some(api) = api {
        api.shutdown().await;
    }
    // Given up on the pools: the final status as usual, then the reason as the error.
    let (status, gave_up) = match status {
        Ok(status) => (status, None),
        Err(e) => match e.downcast::<mining::PoolsGaveUp>() {
            Ok(g) => (*g.status, Some(g.reason)),
            Err(e) => return Err(e),
        },
    };
    if json {
        super::json::line("summary", &status);
    } else {
        super::json::text_line(status.summary());
    }
    match local {
        Some(LocalPool::Embedded(pool)) => pool.shutdown().await,
        Some(LocalPool::Solo(pool)) => {
            // A block found as the run stopped may still be on its way to the node: wait (at
            // most 5 s) until every block found is answered and nothing changed for 300 ms.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            let mut s = pool.stats();
            while tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let now = pool.stats();
                let blocks = |f: &hashforge::pool::FeedStats| {
                    (
                        f.blocks_found,
                        f.blocks_submitted,
                        f.blocks_accepted,
                        f.blocks_rejected,
                    )
                };
                let settled = blocks(&now) == blocks(&s)
                    && now.blocks_submitted >= now.blocks_found
                    && now.blocks_accepted + now.blocks_rejected >= now.blocks_submitted;
                s = now;
                if settled {
                    break;
                }
            }
            eprintln!(
                "solo: {} templates, blocks found {} submitted {} accepted {} rejected {}",
                s.templates,
                s.blocks_found,
                s.blocks_submitted,
                s.blocks_accepted,
                s.blocks_rejected
            );
            pool.shutdown().await;
        }
        None => {}
    }
    Ok((status, gave_up))
}
