//! The config file, through the real binary: `config init` → `config check` → `mine --config`
//! on the embedded pool, one-line errors naming the key and the line, and the command line over
//! the file.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// A file with `text` in a fresh temporary directory (removed with the returned guard).
fn file(name: &str, text: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new();
    let path = dir.0.join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "hashforge-config-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `config check` on `text`; asserts exit 2 and one stderr line with `file:line:` and every
/// needle. Returns the line.
fn check_fails(text: &str, line: usize, needles: &[&str]) -> String {
    let (_dir, p) = file("bad.toml", text);
    let out = common::hashforge().run(&["config", "check", path(&p)]);
    let err = out.stderr.trim_end().to_string();
    assert_eq!(out.code, Some(2), "{text:?}: {out:#?}");
    assert_eq!(err.lines().count(), 1, "{text:?}: not one line: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let at = format!("bad.toml:{line}: ");
    assert!(err.contains(&at), "{text:?}: {err:?} lacks {at:?}");
    for needle in needles {
        assert!(err.contains(needle), "{text:?}: {err:?} lacks {needle:?}");
    }
    // `mine --config` (or `serve --config`) says the same, before anything starts.
    let command = if text.contains("[serve]") {
        "serve"
    } else {
        "mine"
    };
    let mut args = vec![command, "--config", path(&p)];
    if command == "mine" {
        args.extend(["--duration", "1"]);
    }
    let mine = common::hashforge().run_within(&args, Duration::from_secs(60));
    assert_eq!(mine.code, Some(2), "{mine:#?}");
    assert_eq!(mine.stderr.trim_end(), err);
    err
}

#[test]
fn init_check_and_mine_round_trip() {
    let dir = TempDir::new();
    let p = dir.0.join("hashforge.toml");
    common::hashforge().success(&["config", "init", path(&p)]);
    let text = std::fs::read_to_string(&p).unwrap();
    for key in [
        "[mine]",
        "[serve]",
        "threads",
        "kernel = \"auto\"",
        "status-interval = 10",
        "failover-after = 3",
        "failback-interval = 60",
        "json-status = false",
        "log-level = \"info\"",
        "listen = \"127.0.0.1:3333\"",
        "start-difficulty = 1",
        "[[mine.pools]]",
        "priority",
    ] {
        assert!(text.contains(key), "the example lacks {key}:\n{text}");
    }
    // `config init` to stdout writes the same; a second `init FILE` does not overwrite.
    assert_eq!(
        common::hashforge().success(&["config", "init"]).stdout,
        text
    );
    let again = common::hashforge().run(&["config", "init", path(&p)]);
    assert_eq!(again.code, Some(2), "{again:#?}");
    assert!(again.stderr.contains("File exists"), "{again:#?}");

    let ok = common::hashforge().success(&["config", "check", path(&p)]);
    assert!(ok.stdout.contains("ok ([mine], [serve])"), "{ok:#?}");

    // The defaults from the file, and what a run needs from the command line.
    let (stdout, last) =
        common::mine_on_embedded_pool(&["--config", path(&p), "--duration", "4", "-t", "1"]);
    assert!(last["accepted"].as_u64().unwrap() > 0, "{stdout}");
    assert_eq!(last["difficulty"], 0.0005);
}

#[test]
fn the_command_line_overrides_the_file() {
    let (_dir, p) = file(
        "mine.toml",
        "[mine]\n\
         json-status = true\n\
         status-interval = 0.5\n\
         duration = 600\n\
         threads = 1\n\
         suggest-difficulty = 0.0005\n\
         log-level = \"warn\"\n",
    );
    // The file's duration (600 s) would outlast the test: the command line's 2 s wins.
    let out = common::hashforge().run_within(
        &["mine", "--config", path(&p), "--duration", "2"],
        Duration::from_secs(120),
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    let lines = out.json_lines();
    assert!(
        lines.len() >= 2,
        "status every 0.5 s from the file: {out:#?}"
    );
    let last = lines.last().unwrap();
    assert_eq!(last["difficulty"], 0.0005, "{out:#?}");
    let detail = last["backends"][0]["detail"].as_str().unwrap();
    assert!(
        detail.ends_with("× 1"),
        "threads = 1 from the file: {detail}"
    );
    // log-level = "warn" from the file: no INFO lines.
    assert!(!out.stderr.contains(" INFO "), "{}", out.stderr);
}

#[test]
fn pools_are_tried_in_priority_order_and_the_command_line_replaces_them() {
    // Two pools that refuse connections (port 1): the log names the one tried first.
    let text = "[mine]\nduration = 1\nfailover-after = 1\n\
                [[mine.pools]]\nurl = \"stratum+tcp://127.0.0.1:1\"\npriority = 5\n\
                [[mine.pools]]\nurl = \"stratum+tcp://127.0.0.2:1\"\nuser = \"w\"\npriority = 1\n";
    let (_dir, p) = file("pools.toml", text);
    common::hashforge().success(&["config", "check", path(&p)]);
    // `mine --config FILE EXTRA… -t 1 --kernel scalar`, bounded.
    let mine = |extra: &[&str]| {
        let mut args = vec!["mine", "--config", path(&p)];
        args.extend_from_slice(extra);
        args.extend(["-t", "1", "--kernel", "scalar"]);
        common::hashforge().run_within(&args, Duration::from_secs(120))
    };
    let out = mine(&[]);
    assert_eq!(out.code, Some(3), "never mined: {out:#?}");
    let first = out.stderr.find("127.0.0.2:1");
    let second = out.stderr.find("127.0.0.1:1");
    assert!(first.is_some(), "{}", out.stderr);
    assert!(second.is_none() || first < second, "{}", out.stderr);
    // -o replaces the file's pools.
    let out = mine(&["-o", "stratum+tcp://127.0.0.3:1"]);
    assert_eq!(out.code, Some(3), "{out:#?}");
    assert!(out.stderr.contains("127.0.0.3:1"), "{}", out.stderr);
    assert!(!out.stderr.contains("127.0.0.2:1"), "{}", out.stderr);
}

#[test]
fn bad_keys_types_and_values_name_the_key_and_the_line() {
    check_fails(
        "[mine]\nthreads = 2\n\nthredas = 2\n",
        4,
        &["unknown key 'mine.thredas'"],
    );
    check_fails("[mine]\nthreads = 0\n", 2, &["mine.threads", "at least 1"]);
    check_fails(
        "[mine]\nthreads = \"four\"\n",
        2,
        &["mine.threads", "not a whole number"],
    );
    check_fails(
        "[mine]\njson-status = \"yes\"\n",
        2,
        &["mine.json-status", "expected true or false", "string"],
    );
    check_fails(
        "[mine]\nstatus-interval = [1]\n",
        2,
        &[
            "mine.status-interval",
            "expected a string or a number",
            "array",
        ],
    );
    check_fails(
        "[mine]\nbackend = \"foo\"\n",
        2,
        &["mine.backend", "cpu, gpu, all"],
    );
    check_fails(
        "[mine]\nlog-level = \"bogus\"\n",
        2,
        &["mine.log-level", "not a log level"],
    );
    check_fails(
        "[mine]\n\n[[mine.pools]]\nurl = \"http://127.0.0.1:1\"\n",
        4,
        &["mine.pools.url", "scheme"],
    );
    check_fails(
        "[[mine.pools]]\nurl = \"stratum+tcp://127.0.0.1:1\"\nprio = 1\n",
        3,
        &["unknown key 'mine.pools.prio'"],
    );
    check_fails(
        "[[mine.pools]]\nurl = \"stratum+tcp://127.0.0.1:1\"\npriority = \"high\"\n",
        3,
        &["mine.pools.priority", "whole number"],
    );
    check_fails(
        "[mine]\nurl = \"stratum+tcp://x:1\"\n",
        2,
        &["[[mine.pools]]"],
    );
    check_fails("[miner]\nthreads = 1\n", 1, &["unknown section 'miner'"]);
    check_fails("[mine]\nthreads = [\n", 2, &["not valid TOML"]);
    check_fails(
        "[serve]\nstart-difficulty = -1\n",
        2,
        &["serve.start-difficulty", "positive"],
    );
    check_fails("[serve]\nlisten = \"nowhere\"\n", 2, &["serve.listen"]);
}

#[test]
fn check_names_options_that_need_each_other() {
    let (_dir, p) = file("node.toml", "[mine]\nnode = \"http://127.0.0.1:1\"\n");
    let out = common::hashforge().run(&["config", "check", path(&p)]);
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{out:#?}");
    assert!(out.stderr.contains("--address"), "{out:#?}");
}

#[test]
fn the_file_may_give_what_the_command_line_lacks() {
    // --node needs --address: the file gives it (and the RPC login), so the run gets as far as
    // asking the node (none listens on port 1): a runtime failure, not a usage error.
    let (_dir, p) = file(
        "solo.toml",
        "[mine]\naddress = \"bcrt1q92v6550wrjqhldxwc2cvqlqm77wmzufv4dq433\"\n\
         rpc-user = \"u\"\nrpc-pass = \"p\"\n",
    );
    let out = common::hashforge().run_within(
        &["mine", "--config", path(&p), "--node", "http://127.0.0.1:1"],
        Duration::from_secs(120),
    );
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(!out.stderr.contains("required"), "{}", out.stderr);
}
