//! `stratum-load`: measures hashforge's Stratum server under many sessions.
//!
//! ```text
//! stratum-load run [--sessions N] [--seconds S] [--rate SHARES_PER_S] [--window W]
//! stratum-load serve [--sessions N]     (the server side alone; prints its address)
//! ```
//!
//! `run` starts the server as a child process (this binary, `serve`), so that its memory is
//! measured apart from the generator's: the resident size before and after N idle sessions
//! (subscribed, authorized, with a job) gives the memory per idle session. Then every session
//! submits valid shares, paced to `--rate` in all, or (rate 0) as fast as the server answers
//! with `--window` requests in flight per session; the answers give validated shares per
//! second and the submit-to-answer latency. One JSON line reports it all.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use hashforge_test_support::load::{self, LoadOptions};

fn main() {
    if let Err(e) = real_main() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}

fn flag<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} needs a number")),
    }
}

fn real_main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sessions: usize = flag(&args, "--sessions", 1000)?;
    if !(1..=100_000).contains(&sessions) {
        return Err(format!("--sessions must be 1 to 100000, got {sessions}"));
    }
    let limit = load::raise_fd_limit();
    if (limit as usize) < sessions + 64 {
        return Err(format!(
            "the open-file limit is {limit}, too low for {sessions} sessions (raise `ulimit -Hn`)"
        ));
    }
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    match args.first().map(String::as_str) {
        Some("serve") => rt.block_on(serve(sessions)),
        Some("run") => {
            let opts = LoadOptions {
                sessions,
                rate: flag(&args, "--rate", 0.0)?,
                window: flag(&args, "--window", 4)?,
                duration: Duration::from_secs_f64(flag(&args, "--seconds", 10.0)?),
            };
            rt.block_on(run(opts))
        }
        _ => Err(
            "usage: stratum-load run|serve [--sessions N] [--seconds S] [--rate R] [--window W]"
                .into(),
        ),
    }
}

/// The server side: our Stratum server with the load-test settings until stdin closes.
async fn serve(sessions: usize) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let (server, mut events) = hashforge_stratum::Server::bind(addr, load::server_config(sessions))
        .await
        .map_err(|e| e.to_string())?;
    server.new_template(load::template(server.extranonce_size()), true);
    println!("listening {}", server.local_addr());
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    // Ends when the parent closes our stdin (or dies).
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin()
            .read_line(&mut sink)
            .map(|n| n > 0)
            .unwrap_or(false)
        {}
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok(())
}

async fn run(opts: LoadOptions) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(["serve", "--sessions", &opts.sessions.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting the server: {e}"))?;
    let pid = child.id();
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut first)
        .map_err(|e| e.to_string())?;
    let addr: SocketAddr = first
        .trim()
        .strip_prefix("listening ")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("the server said {first:?}"))?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_before = load::rss_bytes(pid).unwrap_or(0);
    let sessions = load::open_sessions(addr, opts.sessions)
        .await
        .map_err(|e| format!("opening sessions: {e}"))?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = load::rss_bytes(pid).unwrap_or(0);
    let report = load::run(sessions, &opts)
        .await
        .map_err(|e| e.to_string())?;
    let rss_after = load::rss_bytes(pid).unwrap_or(0);
    drop(child.stdin.take());
    let _ = child.wait();
    let per_idle = rss_idle.saturating_sub(rss_before) as f64 / opts.sessions as f64;
    println!(
        "{{\"sessions\":{},\"rate\":{},\"window\":{},\"seconds\":{:.2},\"accepted\":{},\"rejected\":{},\
         \"shares_per_second\":{:.0},\"p50_us\":{},\"p99_us\":{},\"max_us\":{},\
         \"server_rss_before\":{},\"server_rss_idle\":{},\"server_rss_after\":{},\"rss_per_idle_session\":{:.0}}}",
        report.sessions,
        opts.rate,
        opts.window,
        report.seconds,
        report.accepted,
        report.rejected,
        report.shares_per_second,
        report.p50_us,
        report.p99_us,
        report.max_us,
        rss_before,
        rss_idle,
        rss_after,
        per_idle
    );
    Ok(())
}
