//! Hostile input reaching the miner and `serve`'s status: a pool that sets an absurd
//! difficulty, sends control characters, or invents a new reject reason for every share. The
//! pools are real TCP servers on 127.0.0.1; the miner is the `hashforge` binary, so what is
//! checked is what a user sees.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hashforge_stratum::Template;
use serde_json::{json, Value};

/// How a scripted pool behaves after the handshake.
#[derive(Clone)]
struct Script {
    difficulty: f64,
    /// Sent right after authorize.
    message: Option<String>,
    /// The answer to the n-th submit (`None`: accepted).
    reject: fn(u64) -> Option<String>,
}

/// A pool on 127.0.0.1 that serves every connection with `script`; returns its URL and the
/// number of submits it received.
fn hostile_pool(script: Script) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("stratum+tcp://{}", listener.local_addr().unwrap());
    let submits = Arc::new(AtomicU64::new(0));
    let count = submits.clone();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let (script, count) = (script.clone(), count.clone());
            std::thread::spawn(move || {
                let _ = serve(tcp, &script, &count);
            });
        }
    });
    (url, submits)
}

fn serve(tcp: TcpStream, script: &Script, submits: &AtomicU64) -> std::io::Result<()> {
    let mut out = tcp.try_clone()?;
    let mut send = |v: Value| writeln!(out, "{v}");
    for line in BufReader::new(tcp).lines() {
        let v: Value = serde_json::from_str(&line?).unwrap_or_default();
        let id = v["id"].clone();
        match v["method"].as_str().unwrap_or_default() {
            "mining.configure" => {
                send(json!({"id": id, "result": {"version-rolling": false}, "error": null}))?
            }
            "mining.subscribe" => {
                send(
                    json!({"id": id, "result": [[["mining.notify", "ab"]], "deadbeef", 4], "error": null}),
                )?;
                send(
                    json!({"id": null, "method": "mining.set_difficulty", "params": [script.difficulty]}),
                )?;
                let n = Template::synthetic(4).notify("j1".into(), true);
                send(json!({"id": null, "method": "mining.notify", "params": n.to_params()}))?;
            }
            "mining.authorize" => {
                send(json!({"id": id, "result": true, "error": null}))?;
                if let Some(m) = &script.message {
                    send(json!({"id": null, "method": "client.show_message", "params": [m]}))?;
                }
            }
            "mining.submit" => {
                let n = submits.fetch_add(1, Ordering::Relaxed);
                match (script.reject)(n) {
                    None => send(json!({"id": id, "result": true, "error": null}))?,
                    Some(r) => send(json!({"id": id, "result": null, "error": [23, r, null]}))?,
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Runs `hashforge mine` on `url` (one CPU thread, JSON status every second) for `seconds`;
/// returns stdout, stderr and the last status.
fn mine(url: &str, seconds: &str) -> (String, String, Value) {
    let out = common::hashforge().run(&[
        "mine",
        "-o",
        url,
        "-u",
        "w",
        "-t",
        "1",
        "--kernel",
        "scalar",
        "--duration",
        seconds,
        "--status-interval",
        "1",
        "--json-status",
    ]);
    let (stdout, stderr) = (out.stdout, out.stderr);
    assert_eq!(out.code, Some(0), "{stdout}\n{stderr}");
    let last = stdout
        .lines()
        .rfind(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .unwrap_or_else(|| panic!("no status line\n{stdout}\n{stderr}"));
    (stdout, stderr, last)
}

fn n(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"))
}

/// Issue 10, defect 10: at difficulty 1e-300 every hash would be a share. The miner raises the
/// difficulty to its floor, sends at most its submit rate, summarises its share log lines, and
/// accounts for every share it found.
#[test]
fn absurd_difficulty_is_bounded_in_submits_and_log_lines() {
    let (url, submits) = hostile_pool(Script {
        difficulty: 1e-300,
        message: None,
        reject: |_| None,
    });
    let (_, stderr, last) = mine(&url, "3");
    let sent = submits.load(Ordering::Relaxed);
    // 100 a second (MAX_SUBMITS_PER_SECOND) over 3 s of mining and the stop.
    assert!(sent > 0 && sent <= 500, "{sent} submits\n{last}");
    let lines = stderr.lines().count();
    assert!(
        lines <= 250,
        "{lines} log lines; the last:\n{}",
        tail(&stderr)
    );
    assert_eq!(
        stderr.matches("below the floor").count(),
        1,
        "{}",
        tail(&stderr)
    );
    assert!(stderr.contains("more shares in"), "{}", tail(&stderr));
    assert!(n(&last, "lost") > 0, "{last}");
    // Every share found ends once: accepted, rejected, timed out, lost, or dropped locally.
    let ended = [
        "accepted",
        "rejected",
        "timed_out",
        "lost",
        "stale",
        "duplicates",
    ]
    .iter()
    .map(|k| n(&last, k))
    .sum::<u64>();
    assert_eq!(ended, n(&last, "found"), "{last}");
    assert_eq!(n(&last, "accepted"), sent, "{last}");
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// No stderr line of the run may start a forged line, and no raw control character may reach
/// the terminal.
fn assert_no_raw_controls(what: &str, text: &str) {
    for line in text.lines() {
        assert!(
            !line.starts_with("blocks: 9") && !line.starts_with("FORGED"),
            "{what}: forged line {line:?}"
        );
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "{what}: raw control character in {line:?}"
        );
    }
}

/// Issue 10, defect 9: a pool's message and reject reasons with a newline and terminal escapes
/// are printed escaped, on the line they belong to.
#[test]
fn pool_text_is_escaped_in_logs_and_status() {
    let (url, submits) = hostile_pool(Script {
        difficulty: 1e-6,
        message: Some("hello\n\x1b[2Jblocks: 9 found".into()),
        reject: |_| Some("bad\nFORGED line\x1b[31m\u{9b}2J".into()),
    });
    let (stdout, stderr, last) = mine(&url, "2");
    assert!(submits.load(Ordering::Relaxed) > 0, "{last}");
    assert!(
        stderr.contains("hello\\x0a\\x1b[2Jblocks: 9 found"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad\\x0aFORGED line\\x1b[31m\\x9b2J"),
        "{stderr}"
    );
    assert_no_raw_controls("stderr", &stderr);
    assert_no_raw_controls("stdout", &stdout);
    // The text status line too.
    let status: hashforge::mining::Status = hashforge::mining::Status {
        counters: hashforge::mining::status::Counters {
            reject_reasons: [("bad\nFORGED line\x1b[31m".to_string(), 3)].into(),
            ..Default::default()
        },
        pool: Some("stratum+tcp://evil\n\x1b[2J:1".into()),
        ..Default::default()
    };
    assert_no_raw_controls("status line", &status.to_string());
}

/// Issue 10, defect 9: a worker name cannot forge a line of `serve`'s status block.
#[test]
fn worker_names_are_escaped_in_the_serve_status() {
    let mut w = hashforge_stratum::WorkerStats::new("evil\x1b[2J\nblocks: 9 found");
    w.accepted = 1;
    let text = hashforge::pool::status::status_text(
        &[w],
        1,
        &hashforge::pool::FeedStats::default(),
        std::time::Duration::from_secs(5),
    );
    assert_no_raw_controls("serve status", &text.replace('\n', " "));
    assert!(!text.lines().any(|l| l.starts_with("blocks: 9")), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("blocks:")).count(),
        1,
        "{text}"
    );
}

/// Issue 10, defect 11: a pool that invents a new, long reject reason for every share cannot
/// grow the status without bound: at most 16 reasons are kept (the rest count as "other"), each
/// cut to 64 characters.
#[test]
fn reject_reasons_are_bounded_in_number_and_length() {
    let (url, _) = hostile_pool(Script {
        difficulty: 1e-6,
        message: None,
        reject: |n| Some(format!("reason {n} {}", "x".repeat(300))),
    });
    let (stdout, _, last) = mine(&url, "3");
    let reasons = last["reject_reasons"].as_object().expect("reasons");
    let rejected = n(&last, "rejected");
    assert!(rejected > 16, "too few rejects to test the bound: {last}");
    assert!(reasons.len() <= 17, "{} reasons", reasons.len());
    assert!(reasons.contains_key("other"), "{reasons:?}");
    for k in reasons.keys() {
        assert!(
            k.chars().count() <= 65,
            "{} characters: {k}",
            k.chars().count()
        );
    }
    let counted: u64 = reasons.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(counted, rejected);
    let longest = stdout.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 4096, "a status line of {longest} bytes");
}
