//! `hashforge serve` on a replay node, the way the serve, API, dashboard and node-soak tests
//! run it: the recorded templates, a node that advances like a chain tip, serve started with
//! its pool URL read, `hashforge mine` workers on it, and the HTTP API it may listen on.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::binary::{Hashforge, Running};
use crate::replay::{ReplayConfig, ReplayNode};

/// A recorded template of hashforge's `tests/fixtures/`, as JSON.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `n` templates cycling through the `fixtures`, each from the `real`-th on moved onto a
/// made-up previous block of its own (and a long-poll id to match), so no two share a tip.
pub fn distinct_templates(fixtures: &[&str], n: usize, real: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let mut t = fixture(fixtures[i % fixtures.len()]);
            if i >= real {
                let prev = hex::encode(hashforge_bitcoin::sha256d(&(i as u64).to_le_bytes()));
                t["longpollid"] = json!(format!("{prev}{i}"));
                t["previousblockhash"] = json!(prev);
            }
            t
        })
        .collect()
}

/// A replay node's configuration (credentials u/p) with `templates`, moving to the next when a
/// block is accepted, like a chain tip.
pub fn advancing_config(templates: Vec<Value>) -> ReplayConfig {
    let mut config = ReplayConfig::new(templates).with_credentials("u", "p");
    config.advance_on_submit = true;
    config
}

/// A replay node started with [`advancing_config`].
pub async fn advancing_node(templates: Vec<Value>) -> ReplayNode {
    ReplayNode::start(advancing_config(templates))
        .await
        .expect("replay node")
}

/// A running `hashforge serve`: its stdout lines (the first, with the pool URL, already
/// read), its stderr as read so far, and the pool URL.
pub struct Serve {
    pub process: Running,
    pub lines: mpsc::UnboundedReceiver<String>,
    pub stderr: Arc<Mutex<String>>,
    pub pool: String,
}

/// Spawns `hashforge` with `args` (a `serve` command line) and waits at most `within` for its
/// first stdout line, "hashforge serve: listening on stratum+tcp://127.0.0.1:PORT, …".
pub async fn start_serve(hf: &Hashforge, args: &[&str], within: Duration) -> Serve {
    let mut process = hf.spawn(args);
    let mut lines = process.stdout_lines();
    let stderr = process.stderr_text();
    let first = tokio::time::timeout(within, lines.recv())
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("serve did not start:\n{}", stderr.lock().unwrap()));
    let pool = first
        .split_whitespace()
        .find(|w| w.starts_with("stratum+"))
        .map(|w| w.trim_end_matches(',').to_string())
        .unwrap_or_else(|| panic!("no pool URL in {first:?}"));
    Serve {
        process,
        lines,
        stderr,
        pool,
    }
}

/// One `hashforge mine -o pool -u NAME -p x -t 1 --duration duration` per name.
pub fn spawn_workers(hf: &Hashforge, pool: &str, names: &[&str], duration: &str) -> Vec<Running> {
    names
        .iter()
        .map(|w| {
            hf.spawn(&[
                "mine",
                "-o",
                pool,
                "-u",
                w,
                "-p",
                "x",
                "-t",
                "1",
                "--duration",
                duration,
            ])
        })
        .collect()
}

/// The base URL the binary printed on stderr ("api listening on http://…"), within 60 s.
pub async fn api_base(stderr: &Arc<Mutex<String>>) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = stderr.lock().unwrap().clone();
        if let Some(rest) = text.split("api listening on ").nth(1) {
            return rest.split_whitespace().next().unwrap().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no API address on stderr:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Status and body of a GET or POST to the API (with `token` as a bearer token), off the
/// runtime; no status is an error, every call is bounded (20 s).
pub async fn call(method: &'static str, url: String, token: Option<&'static str>) -> (u16, String) {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .into();
        let auth = token.map(|t| format!("Bearer {t}"));
        let response = match method {
            "GET" => {
                let mut r = agent.get(&url);
                if let Some(auth) = &auth {
                    r = r.header("Authorization", auth);
                }
                r.call()
            }
            _ => {
                let mut r = agent.post(&url);
                if let Some(auth) = &auth {
                    r = r.header("Authorization", auth);
                }
                r.send_empty()
            }
        };
        let mut response = response.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        (status, body)
    })
    .await
    .unwrap()
}

/// The body of a call (see [`call`]) that must answer `expected`.
pub async fn call_expecting(
    method: &'static str,
    url: String,
    token: Option<&'static str>,
    expected: u16,
) -> String {
    let (status, body) = call(method, url.clone(), token).await;
    assert_eq!(status, expected, "{method} {url}: {body}");
    body
}

/// `hashforge keygen` into a file of the temp folder named after `tag`: (the file, the public
/// key it printed).
pub fn keygen(hf: &Hashforge, tag: &str) -> (std::path::PathBuf, String) {
    let path = std::env::temp_dir().join(format!("hashforge-sv2-{}-{tag}.key", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let out = hf.run(&["keygen", "--out", path.to_str().expect("a UTF-8 temp path")]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    (path, out.stdout.trim().to_string())
}

/// `hashforge serve` on the replay node at `node_url` (credentials u/p) with a Stratum V2
/// listener keyed by `key`, shares at `difficulty`, a status block every second; returns it
/// (its first line read) and the `stratum2+tcp://…/KEY` URL of its second line.
pub async fn start_serve_sv2(
    hf: &Hashforge,
    node_url: &str,
    key: &std::path::Path,
    difficulty: &str,
) -> (Serve, String) {
    let args = [
        "serve",
        "--node",
        node_url,
        "--rpc-user",
        "u",
        "--rpc-pass",
        "p",
        "--address",
        REGTEST_ADDRESS,
        "--listen",
        "127.0.0.1:0",
        "--start-difficulty",
        difficulty,
        "--status-interval",
        "1",
        "--sv2-listen",
        "127.0.0.1:0",
        "--sv2-key",
        key.to_str().expect("a UTF-8 temp path"),
    ];
    let mut serve = start_serve(hf, &args, Duration::from_secs(30)).await;
    let line = tokio::time::timeout(Duration::from_secs(10), serve.lines.recv())
        .await
        .ok()
        .flatten()
        .expect("serve's Stratum V2 line");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("stratum2+tcp://"))
        .unwrap_or_else(|| panic!("no stratum2 URL in {line:?}"))
        .to_string();
    (serve, url)
}

/// A regtest address (P2WPKH) for blocks to pay.
pub const REGTEST_ADDRESS: &str = "bcrt1q92v6550wrjqhldxwc2cvqlqm77wmzufv4dq433";

/// A count of `mine`'s final summary on stdout ("  accepted        12 (100.0 %)").
pub fn summary_count(stdout: &str, item: &str) -> u64 {
    stdout
        .lines()
        .find_map(|l| {
            let rest = l.trim_start().strip_prefix(item)?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no {item} in the summary:\n{stdout}"))
}
