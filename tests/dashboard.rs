//! The dashboard (`GET /`) in a real browser: Debian's headless `chromium`, driven over
//! WebDriver (`chromedriver`, started here on a free 127.0.0.1 port) with `fantoccini`.
//!
//! - `mine` on its embedded pool: the page loads with no console error (the browser's own log
//!   and the errors the page's first script records), shows a non-zero hash rate that changes,
//!   draws the chart, lists the pool as connected, and, once the miner is paused through the
//!   API (so the count stands still), shows the accepted share count the API reports.
//! - `serve` on the replay node with two `hashforge mine` workers: the worker table lists both
//!   (one named like HTML, which must show as text), and the found blocks are listed.
//!
//! Screenshots go to `target/test-artifacts/dashboard-*.png`. Every wait polls with a generous
//! deadline: a loaded machine makes the test slower, not flaky. Without `chromium` and
//! `chromedriver` the test fails (`.ci/run` installs them).

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{api_base, Running, Serve};
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};
use tokio::sync::mpsc;

const TOKEN: &str = "dashboard-token-42";
/// A regtest address (P2WPKH).
const ADDRESS: &str = "bcrt1q92v6550wrjqhldxwc2cvqlqm77wmzufv4dq433";
/// A worker name that is HTML: the page must show it as text.
const HTML_WORKER: &str = "<i>w2</i>";

/// Where screenshots go.
fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).expect("creating target/test-artifacts");
    dir
}

/// A free port on 127.0.0.1 (for chromedriver, which takes a port, not a socket).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

/// chromedriver and one headless chromium session; chromedriver (and with it the browser,
/// which it does not detach) is killed on drop, and the profile directory removed.
struct Browser {
    client: Option<Client>,
    driver: Child,
    profile: PathBuf,
}

/// chromedriver's browser log (`goog:loggingPrefs`), a command fantoccini has no method for.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(r#"{"type":"browser"}"#.to_string()),
        )
    }
}

impl Browser {
    async fn start(width: u32, height: u32) -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver (Debian: apt-get install chromium chromium-driver)");
        let profile =
            std::env::temp_dir().join(format!("hashforge-dashboard-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).unwrap();
        let mut browser = Browser {
            client: None,
            driver,
            profile,
        };
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            &format!("--window-size={width},{height}"),
            &format!("--user-data-dir={}", browser.profile.display()),
        ];
        let mut caps = Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium(), "args": args }),
        );
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    browser.client = Some(client);
                    break;
                }
                Err(e) => {
                    if let Ok(Some(exit)) = browser.driver.try_wait() {
                        panic!("chromedriver exited: {exit}");
                    }
                    assert!(Instant::now() < deadline, "no browser session: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        browser
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("a session")
    }

    /// `document.getElementById(id).textContent` (or `null` for no such element).
    async fn text(&self, id: &str) -> Option<String> {
        let script =
            "const e = document.getElementById(arguments[0]); return e ? e.textContent : null;";
        let v = self
            .client()
            .execute(script, vec![json!(id)])
            .await
            .unwrap();
        v.as_str().map(str::to_string)
    }

    /// Runs `script` (a function body) and returns its value.
    async fn eval(&self, script: &str) -> Value {
        self.client().execute(script, vec![]).await.unwrap()
    }

    /// Starts a browser of `width` × `height`, opens the dashboard at `base` and waits (60 s)
    /// until the page finds the API of `mode` (`mine` or `serve`).
    async fn dashboard(base: &str, width: u32, height: u32, mode: &str) -> Browser {
        let browser = Browser::start(width, height).await;
        browser.client().goto(&format!("{base}/")).await.unwrap();
        let found = browser
            .until(
                &format!("the page finds {mode}'s API"),
                60,
                async |b| b.eval("return document.body.dataset.mode || null;").await,
                |m| m == mode,
            )
            .await;
        assert_eq!(found, mode);
        browser
    }

    /// Polls `read` until `ok` holds; panics after `secs` with the last value.
    async fn until<T: std::fmt::Debug>(
        &self,
        what: &str,
        secs: u64,
        mut read: impl AsyncFnMut(&Browser) -> T,
        ok: impl Fn(&T) -> bool,
    ) -> T {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = read(self).await;
            if ok(&v) {
                return v;
            }
            assert!(Instant::now() < deadline, "{what}: never, last {v:?}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Every error so far: the page's own record and the browser log's SEVERE entries.
    async fn errors(&self) -> Vec<String> {
        let recorded = self
            .eval("return window.hfErrors || ['no hfErrors: the first script did not run'];")
            .await;
        let mut errors: Vec<String> = recorded
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.to_string())
            .collect();
        let log = self
            .client()
            .issue_cmd(BrowserLog)
            .await
            .expect("chromedriver's browser log");
        for entry in log.as_array().expect("log entries") {
            if entry["level"] == "SEVERE" {
                errors.push(entry.to_string());
            }
        }
        errors
    }

    async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client().screenshot().await.expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let path = artifacts().join(name);
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
        path
    }

    async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), client.close()).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Ok(None) = self.driver.try_wait() {
            let _ = self.driver.kill();
            let _ = self.driver.wait();
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The browser: Debian's `chromium`.
fn chromium() -> &'static str {
    "/usr/bin/chromium"
}

/// `method url` (with the token as a bearer token on a POST) → the JSON answer.
async fn call(method: &'static str, url: String) -> Value {
    let token = (method != "GET").then_some(TOKEN);
    let (status, body) = common::call(method, url.clone(), token).await;
    assert!(
        (200..300).contains(&status),
        "{method} {url}: {status} {body}"
    );
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"))
}

/// The number at the start of a rate like "12.34 MH/s", in H/s.
fn rate(text: &Option<String>) -> f64 {
    let Some(text) = text else { return 0.0 };
    let mut words = text.split_whitespace();
    let value: f64 = words.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let scale = match words.next() {
        Some("kH/s") => 1e3,
        Some("MH/s") => 1e6,
        Some("GH/s") => 1e9,
        Some("TH/s") => 1e12,
        _ => 1.0,
    };
    value * scale
}

/// Waits until the chart has two points or more.
async fn two_chart_points(browser: &Browser) {
    browser
        .until(
            "two chart points",
            90,
            async |b| b.text("chart-note").await,
            |n| {
                n.as_deref().is_some_and(|n| {
                    !n.contains("(0 so far)") && !n.contains("(1 so far)") && n.contains("so far")
                })
            },
        )
        .await;
}

/// Stops a run with Ctrl-C; it must exit 0 (else its stderr is shown).
async fn stop(mut process: Running, stderr: Arc<Mutex<String>>) {
    process.interrupt();
    let exit = process.exit_within(Duration::from_secs(60)).await;
    // Let the reader thread take the last lines.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stderr = stderr.lock().unwrap().clone();
    assert_eq!(exit.code(), Some(0), "{exit}; stderr:\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mine_dashboard_in_chromium() {
    let mut miner = common::spawn_mine_with_api(
        "127.0.0.1:0",
        TOKEN,
        &["--suggest-difficulty", "0.0005", "--duration", "900"],
    );
    let _stdout = miner.stdout_lines();
    let stderr = miner.stderr_text();
    let base = api_base(&stderr).await;

    let browser = Browser::dashboard(&base, 1280, 1500, "mine").await;
    assert_eq!(browser.text("conn").await.as_deref(), Some("live"));

    // A non-zero hash rate that changes between two reads.
    let first = browser
        .until(
            "a non-zero hash rate",
            90,
            async |b| b.text("rate").await,
            |r| rate(r) > 0.0,
        )
        .await;
    let second = browser
        .until(
            "a changed hash rate",
            90,
            async |b| b.text("rate").await,
            |r| rate(r) > 0.0 && *r != first,
        )
        .await;
    eprintln!("hash rate read {first:?}, then {second:?}");

    // Shares come, the pool is listed as connected, the chart has a line (the first point
    // at start, the next 10 s later).
    browser
        .until(
            "accepted shares",
            120,
            async |b| b.text("accepted").await,
            |a| a.as_deref().and_then(|a| a.parse::<u64>().ok()) > Some(0),
        )
        .await;
    let pool = browser
        .until("the pool", 60, async |b| b.eval("return Array.from(document.querySelectorAll('#pools tbody tr')).map(r => r.textContent);").await, |p| {
            p.as_array().is_some_and(|p| p.len() == 1 && p[0].as_str().unwrap().contains("connected"))
        })
        .await;
    assert!(
        pool[0]
            .as_str()
            .unwrap()
            .contains("stratum+tcp://127.0.0.1:"),
        "{pool}"
    );
    two_chart_points(&browser).await;
    assert!(browser.text("backends").await.unwrap().contains("cpu"));
    browser.screenshot("dashboard-mine.png").await;
    browser.client().set_window_size(390, 1400).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    browser.screenshot("dashboard-mine-phone.png").await;
    browser.client().set_window_size(1280, 1500).await.unwrap();

    // Paused, the counts stand still: the page shows the API's accepted count.
    call("POST", format!("{base}/api/v1/pause")).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let api = call("GET", format!("{base}/api/v1/summary")).await;
        let accepted = api["shares"]["accepted"].as_u64().unwrap();
        let shown = browser.text("accepted").await;
        if shown == Some(accepted.to_string()) && api["paused"] == true {
            eprintln!("accepted shares: API {accepted}, page {shown:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the page shows {shown:?} accepted, the API {accepted}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    browser
        .until(
            "the paused badge",
            30,
            async |b| {
                b.eval("return document.getElementById('paused').hidden;")
                    .await
            },
            |h| h == false,
        )
        .await;

    let errors = browser.errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.close().await;
    call("POST", format!("{base}/api/v1/resume")).await;
    stop(miner, stderr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_dashboard_in_chromium() {
    let node = common::advancing_empty_node(400).await;
    let (
        Serve {
            process: serve,
            lines: _lines,
            stderr,
            pool,
        },
        base,
    ) = common::start_serve_with_api(&node.url(), ADDRESS, Duration::from_secs(60)).await;
    // Each with its stdout read (kept open: a closed pipe would fail its status lines).
    #[allow(clippy::type_complexity)]
    let workers: Vec<(Running, Arc<Mutex<String>>, mpsc::UnboundedReceiver<String>)> =
        common::spawn_workers(&pool, &["w1", HTML_WORKER], "900")
            .into_iter()
            .map(|mut worker| {
                let stdout = worker.stdout_lines();
                let stderr = worker.stderr_text();
                (worker, stderr, stdout)
            })
            .collect();

    let browser = Browser::dashboard(&base, 1280, 1300, "serve").await;

    // Both workers listed, by name, as text.
    let names = browser
        .until("both workers in the table", 120, async |b| {
            b.eval("return Array.from(document.querySelectorAll('#workers tbody tr')).map(r => r.cells[0].textContent).sort();").await
        }, |n| n.as_array().is_some_and(|n| n.len() == 2))
        .await;
    assert_eq!(names, json!([HTML_WORKER, "w1"]));
    let elements = browser
        .eval("return document.querySelectorAll('#workers tbody i, #blocks tbody i').length;")
        .await;
    assert_eq!(elements, 0, "a worker's name became HTML");

    // A found block is listed with the node's answer, as the API has it.
    let blocks = browser
        .until("a found block", 180, async |b| {
            b.eval("return Array.from(document.querySelectorAll('#blocks tbody tr')).map(r => r.textContent);").await
        }, |b| b.as_array().is_some_and(|b| !b.is_empty()))
        .await;
    // The newest block shown (first row) is among the API's newest 64, read just after (older
    // rows may have left that list meanwhile: here every share is a block).
    let listed = call("GET", format!("{base}/api/v1/blocks")).await;
    let listed = listed["blocks"].as_array().unwrap();
    let rows = blocks.as_array().unwrap();
    assert!(rows.len() <= 64, "{} rows", rows.len());
    {
        let shown = rows[0].as_str().unwrap();
        let block = listed
            .iter()
            .find(|b| shown.contains(&b["hash"].as_str().unwrap()[..16]))
            .unwrap_or_else(|| panic!("{shown:?} is none of the API's blocks: {listed:#?}"));
        assert!(
            shown.contains(block["result"].as_str().unwrap()),
            "{shown:?}: {block}"
        );
        assert!(
            shown.contains(&block["height"].to_string()),
            "{shown:?}: {block}"
        );
    }
    assert_eq!(
        browser
            .eval("return document.getElementById('blocks-empty').hidden;")
            .await,
        true
    );
    two_chart_points(&browser).await;
    browser.screenshot("dashboard-serve.png").await;

    let errors = browser.errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.close().await;
    for (w, stderr, _stdout) in workers {
        stop(w, stderr).await;
    }
    stop(serve, stderr).await;
}
