//! The HTTP API and `/metrics` of `hashforge mine` (on its embedded pool) and `hashforge
//! serve` (on the replay node, with two `hashforge mine` workers), from a real HTTP client
//! (`ureq`) over 127.0.0.1, with the metrics read by a Prometheus text parser
//! (`prometheus-parse`).
//!
//! Every wait polls with a generous deadline, so a loaded machine makes the tests slower, not
//! flaky. The one timing claim, that a pause stops hashing within 100 ms, is checked as: 100 ms
//! after the pause answered, the hash counter no longer moves (for a whole second).

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{api_base, call, call_expecting, Exit, Running};
use serde_json::{json, Value};
use tokio::sync::mpsc;

const TOKEN: &str = "test-token-0123";

/// A regtest address (P2WPKH).
const ADDRESS: &str = "bcrt1q92v6550wrjqhldxwc2cvqlqm77wmzufv4dq433";

async fn get_json(base: &str, path: &str) -> Value {
    get_json_with(base, path, None).await
}

/// `GET path` with `token` as the bearer token, if any.
async fn get_json_with(base: &str, path: &str, token: Option<&'static str>) -> Value {
    let body = call_expecting("GET", format!("{base}{path}"), token, 200).await;
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// Polls `GET path` until `ok` holds (at most `secs`); returns the answer that satisfied it.
async fn poll_json(base: &str, path: &str, secs: u64, ok: impl Fn(&Value) -> bool) -> Value {
    poll_json_with(base, path, None, secs, ok).await
}

/// [`poll_json`] with a bearer token.
async fn poll_json_with(
    base: &str,
    path: &str,
    token: Option<&'static str>,
    secs: u64,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let v = get_json_with(base, path, token).await;
        if ok(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "GET {path} never satisfied: {v:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The samples of a Prometheus text, by metric name and labels.
fn scrape(text: &str) -> HashMap<String, f64> {
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("a Prometheus text");
    assert!(!scrape.samples.is_empty(), "{text}");
    scrape
        .samples
        .into_iter()
        .map(|s| {
            let value = match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                other => panic!("{}: unexpected {other:?}", s.metric),
            };
            let mut labels: Vec<_> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            labels.sort();
            (format!("{}{{{}}}", s.metric, labels.join(",")), value)
        })
        .collect()
}

async fn metrics(base: &str) -> (String, HashMap<String, f64>) {
    let body = call_expecting("GET", format!("{base}/metrics"), None, 200).await;
    let samples = scrape(&body);
    (body, samples)
}

/// Every `_total` series of `before` is in `after` and not lower.
fn counters_only_go_up(before: &HashMap<String, f64>, after: &HashMap<String, f64>) {
    let mut counters = 0;
    for (name, v) in before.iter().filter(|(n, _)| n.contains("_total{")) {
        let later = after.get(name).unwrap_or_else(|| panic!("{name} gone"));
        assert!(later >= v, "{name} went down: {v} → {later}");
        counters += 1;
    }
    assert!(counters >= 5, "too few counters: {before:?}");
}

/// The accepted count of a `--json-status` line.
fn status_accepted(status: &Value) -> Option<u64> {
    [&status["accepted"], &status["shares"]["accepted"]]
        .into_iter()
        .find_map(Value::as_u64)
}

fn hashes(summary: &Value) -> u64 {
    summary["hashes"].as_u64().expect("hashes")
}

/// `mine` on the embedded pool with the API on 127.0.0.1 and a token.
fn spawn_miner() -> Running {
    common::spawn_mine_with_api(
        "127.0.0.1:0",
        TOKEN,
        &[
            "--status-interval",
            "1",
            "--json-status",
            "--suggest-difficulty",
            "0.0005",
            "--duration",
            "300",
        ],
    )
}

/// The next `--json-status` line within 20 s.
async fn next_status(lines: &mut mpsc::UnboundedReceiver<String>) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let line = tokio::time::timeout_at(deadline, lines.recv())
            .await
            .expect("a status line within 20 s")
            .expect("stdout open");
        if let Ok(v) = serde_json::from_str::<Value>(&line) {
            if status_accepted(&v).is_some() {
                return v;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mine_api_summary_pause_resume_and_metrics() {
    let mut miner = spawn_miner();
    let stderr = miner.stderr_text();
    let mut lines = miner.stdout_lines();
    let base = api_base(&stderr).await;
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    // Hashing, and shares accepted.
    let summary = poll_json(&base, "/api/v1/summary", 120, |s| {
        s["hashrate"]["rate_10s"].as_f64() > Some(0.0)
            && s["shares"]["accepted"].as_u64() >= Some(2)
    })
    .await;
    assert_eq!(summary["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(summary["threads"], 1);
    assert!(!summary["kernel"].as_str().unwrap().is_empty(), "{summary}");
    assert_eq!(summary["paused"], false);
    assert!(summary["uptime_s"].as_f64() > Some(0.0));
    assert_eq!(summary["backends"][0]["name"], "cpu");
    assert!(summary["backends"][0]["rate_10s"].as_f64() > Some(0.0));
    assert!(summary["backends"][0]["hashes"].as_u64() > Some(0));
    assert_eq!(summary["pool"]["state"], "connected");
    assert!(summary["pool"]["url"]
        .as_str()
        .unwrap()
        .starts_with("stratum+tcp://127.0.0.1:"));
    assert!(
        summary["pool"]["latency_ms"].as_f64() >= Some(0.0),
        "{summary}"
    );
    assert_eq!(summary["pool"]["failovers"], 0);
    assert!(summary["job_id"].is_string(), "{summary}");
    assert_eq!(summary["difficulty"], 0.0005);
    assert!(
        summary["best_share_difficulty"].as_f64() >= Some(0.0005),
        "{summary}"
    );
    assert_eq!(summary["hardware_errors"], 0);
    assert_eq!(summary["shares"]["rejected"], 0);
    assert!(summary["shares"]["reject_reasons"].is_object());

    let backends = get_json(&base, "/api/v1/backends").await;
    let cpu = &backends["backends"][0];
    assert_eq!(cpu["name"], "cpu");
    assert_eq!(cpu["parts"].as_array().unwrap().len(), 1, "{backends}");
    assert_eq!(cpu["parts"][0]["name"], "cpu-0");
    assert!(cpu["parts"][0]["hashes"].as_u64() > Some(0));

    let pools = get_json(&base, "/api/v1/pools").await;
    assert_eq!(pools["pools"].as_array().unwrap().len(), 1, "{pools}");
    assert_eq!(pools["pools"][0]["active"], true);
    assert_eq!(pools["pools"][0]["state"], "connected");
    assert!(pools["pools"][0]["connected_since"].as_u64() > Some(0));
    assert_eq!(pools["failovers"], 0);

    // Metrics while hashing.
    let (text, first) = metrics(&base).await;
    for name in [
        "hashforge_hashrate_hashes_per_second{backend=cpu}",
        "hashforge_hashes_total{backend=cpu}",
        "hashforge_shares_total{result=accepted}",
        "hashforge_shares_total{result=rejected}",
        "hashforge_hardware_errors_total{}",
        "hashforge_pool_connected{}",
        "hashforge_best_share_difficulty{}",
    ] {
        assert!(first.contains_key(name), "{name} missing:\n{text}");
    }
    assert!(first["hashforge_hashrate_hashes_per_second{backend=cpu}"] > 0.0);
    assert_eq!(first["hashforge_pool_connected{}"], 1.0);
    assert!(
        first.keys().any(|k| k.starts_with("hashforge_build_info{")
            && k.contains("version=")
            && k.contains("kernel=")),
        "{text}"
    );

    // Control endpoints need the token.
    for token in [None, Some("wrong-token")] {
        for path in ["/api/v1/pause", "/api/v1/resume"] {
            let (status, body) = call("POST", format!("{base}{path}"), token).await;
            assert_eq!(status, 401, "{path} with {token:?}: {body}");
            assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string());
        }
    }
    assert_eq!(get_json(&base, "/api/v1/summary").await["paused"], false);
    call_expecting("GET", format!("{base}/api/v1/nothing"), None, 404).await;
    call_expecting("GET", format!("{base}/api/v1/pause"), None, 405).await;

    // Pause: once the chunks in flight are done, the hash counter stands still.
    let body = call_expecting("POST", format!("{base}/api/v1/pause"), Some(TOKEN), 200).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"paused": true})
    );
    // Chunks in flight finish (about 1 ms of work each, far longer on a loaded machine): wait,
    // at most 5 s, for the counter to stand still over 200 ms.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut at_pause = hashes(&get_json(&base, "/api/v1/summary").await);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = hashes(&get_json(&base, "/api/v1/summary").await);
        if now == at_pause {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "hashing did not stop within 5 s of the pause"
        );
        at_pause = now;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let paused = get_json(&base, "/api/v1/summary").await;
    assert_eq!(paused["paused"], true);
    assert_eq!(hashes(&paused), at_pause, "hashing went on while paused");

    // While paused no share is found, so once the answers are in, the count stands still and
    // the status line says the same.
    let settled = {
        let mut last = paused["shares"]["accepted"].as_u64().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let s = get_json(&base, "/api/v1/summary").await;
            let now = s["shares"]["accepted"].as_u64().unwrap();
            let c = &s["shares"];
            let answered = ["accepted", "rejected", "timed_out", "lost"]
                .iter()
                .map(|k| c[k].as_u64().unwrap())
                .sum::<u64>();
            if now == last && answered == c["submitted"].as_u64().unwrap() {
                break now;
            }
            assert!(Instant::now() < deadline, "shares never settled: {s:#}");
            last = now;
        }
    };
    while lines.try_recv().is_ok() {}
    next_status(&mut lines).await; // may have been built before the drain
    let status = next_status(&mut lines).await;
    assert_eq!(status_accepted(&status), Some(settled), "{status}");
    assert_eq!(
        get_json(&base, "/api/v1/summary").await["shares"]["accepted"],
        settled
    );

    // Resume: hashing again.
    let body = call_expecting("POST", format!("{base}/api/v1/resume"), Some(TOKEN), 200).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"paused": false})
    );
    let resumed = poll_json(&base, "/api/v1/summary", 30, |s| hashes(s) > at_pause).await;
    assert_eq!(resumed["paused"], false);

    // A second scrape: every counter the same or higher, hashes higher.
    let (_, second) = metrics(&base).await;
    counters_only_go_up(&first, &second);
    let key = "hashforge_hashes_total{backend=cpu}";
    assert!(second[key] > first[key], "{} → {}", first[key], second[key]);

    miner.interrupt();
    let exit = miner.exit_within(Duration::from_secs(30)).await;
    assert_eq!(exit.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_off_loopback_needs_a_token() {
    let line = tokio::task::spawn_blocking(|| {
        common::hashforge().one_line_error(
            &["mine", "--api", "0.0.0.0:0", "--duration", "1"],
            "--api-token",
        )
    })
    .await
    .unwrap();
    assert!(line.contains("0.0.0.0:0"), "{line}");
    let line = tokio::task::spawn_blocking(|| {
        common::hashforge().one_line_error(
            &[
                "mine",
                "--api",
                "127.0.0.1:0",
                "--api-token",
                "",
                "--duration",
                "1",
            ],
            "token",
        )
    })
    .await
    .unwrap();
    assert!(line.contains("API token"), "{line}");
}

/// With a token off loopback, reads need it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_off_loopback_with_a_token_guards_reads() {
    let mut miner = common::spawn_mine_with_api("0.0.0.0:0", TOKEN, &["--duration", "300"]);
    let stderr = miner.stderr_text();
    let base = api_base(&stderr).await;
    let port = base.rsplit(':').next().unwrap().to_string();
    let local = format!("http://127.0.0.1:{port}");
    call_expecting("GET", format!("{local}/api/v1/summary"), None, 401).await;
    call_expecting("GET", format!("{local}/metrics"), None, 401).await;
    call_expecting("GET", format!("{local}/api/v1/summary"), Some(TOKEN), 200).await;
    // Interrupted before its first job, `mine` ends as "never mined" (exit 3): on a loaded
    // machine the three calls above can all come first, so wait for it to hash.
    poll_json_with(&local, "/api/v1/summary", Some(TOKEN), 60, |v| {
        hashes(v) > 0
    })
    .await;
    miner.interrupt();
    assert_eq!(
        miner.exit_within(Duration::from_secs(30)).await.code(),
        Some(0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_api_workers_blocks_and_metrics() {
    let node = common::advancing_empty_node(400).await;
    let (mut serve, base) =
        common::start_serve_with_api(&node.url(), ADDRESS, Duration::from_secs(30)).await;
    let pool = serve.pool.clone();

    let (_, before) = metrics(&base).await;
    let workers = common::spawn_workers(&pool, &["w1", "w2"], "300");

    // Both workers listed with shares, and a block accepted by the node.
    let listed = poll_json(&base, "/api/v1/workers", 120, |v| {
        let w = v["workers"].as_array().unwrap();
        w.len() == 2 && w.iter().all(|w| w["accepted"].as_u64() > Some(0))
    })
    .await;
    for (w, name) in listed["workers"]
        .as_array()
        .unwrap()
        .iter()
        .zip(["w1", "w2"])
    {
        assert_eq!(w["name"], name, "{listed:#}");
        assert!(
            w["address"].as_str().unwrap().starts_with("127.0.0.1:"),
            "{w}"
        );
        assert_eq!(w["connected"], true);
        assert!(w["connected_since"].as_u64() > Some(0));
        assert!(w["last_share"].as_u64() > Some(0));
        assert!(w["hashrate"].as_f64() > Some(0.0));
        assert!(w["difficulty"].as_f64() > Some(0.0));
        assert!(w["best_share_difficulty"].as_f64() > Some(0.0));
        assert!(w["rejected"].is_u64());
    }
    assert_eq!(listed["more"], 0);
    let blocks = poll_json(&base, "/api/v1/blocks", 120, |v| {
        v["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["result"] == "accepted")
    })
    .await;
    let accepted: Vec<String> = node
        .accepted_blocks()
        .iter()
        .map(|h| h.to_string())
        .collect();
    for b in blocks["blocks"].as_array().unwrap() {
        if b["result"] == "accepted" {
            let hash = b["hash"].as_str().unwrap();
            assert!(
                accepted.iter().any(|a| a == hash),
                "{hash} not in {accepted:?}"
            );
            assert!(b["height"].as_u64() > Some(0), "{b}");
            assert!(["w1", "w2"].contains(&b["worker"].as_str().unwrap()), "{b}");
            assert!(b["reason"].is_null());
            assert!(b["answered_at"].as_u64() > Some(0));
        }
    }

    let summary = get_json(&base, "/api/v1/summary").await;
    assert_eq!(summary["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(summary["workers"], 2, "{summary:#}");
    assert!(summary["connections"].as_u64() >= Some(2), "{summary:#}");
    assert!(
        summary["blocks"]["found"].as_u64() >= Some(1),
        "{summary:#}"
    );
    assert!(
        summary["blocks"]["accepted"].as_u64() >= Some(1),
        "{summary:#}"
    );
    assert!(
        summary["shares"]["accepted"].as_u64() >= Some(2),
        "{summary:#}"
    );
    assert!(summary["hashrate"].as_f64() > Some(0.0));
    assert!(summary["height"].as_u64() > Some(0));
    assert_eq!(summary["listen"], pool.trim_start_matches("stratum+tcp://"));

    let (text, after) = metrics(&base).await;
    // For the record (the README's examples): `--nocapture` shows them.
    println!("serve summary: {summary}\nworkers: {listed}\nblocks: {blocks}\n{text}");
    counters_only_go_up(&before, &after);
    assert!(after["hashforge_blocks_found_total{}"] >= 1.0, "{text}");
    assert!(
        after["hashforge_blocks_submitted_total{result=accepted}"] >= 1.0,
        "{text}"
    );
    for w in ["w1", "w2"] {
        let key = format!("hashforge_worker_shares_total{{result=accepted,worker={w}}}");
        assert!(after.get(&key) > Some(&0.0), "{key}:\n{text}");
        let key = format!("hashforge_worker_hashrate_hashes_per_second{{worker={w}}}");
        assert!(after.contains_key(&key), "{key}:\n{text}");
    }
    // serve has no control endpoints.
    let (status, _) = call("POST", format!("{base}/api/v1/pause"), None).await;
    assert!(status == 401 || status == 404, "{status}");

    for mut w in workers {
        w.interrupt();
        let Exit { code, stderr, .. } = w.finish(Duration::from_secs(30)).await;
        assert_eq!(code, Some(0), "{stderr}");
    }
    serve.process.interrupt();
    assert_eq!(
        serve
            .process
            .exit_within(Duration::from_secs(30))
            .await
            .code(),
        Some(0)
    );
}
