//! The `hashforge` binary: outputs of `hash`, `scan` and `bench`, and one-line errors on bad input.

use std::process::{Command, Output};

fn hashforge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hashforge"))
        .args(args)
        .output()
        .expect("running hashforge")
}

const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Fails unless the command exited non-zero with exactly one line on stderr, which contains `needle`.
fn assert_one_line_error(args: &[&str], needle: &str) {
    let out = hashforge(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {err:?}"
    );
    assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
}

#[test]
fn hash_prints_display_order_and_difficulty() {
    let out = hashforge(&["hash", GENESIS]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.starts_with("000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f\n"),
        "{text}"
    );
    assert!(text.contains("difficulty 2536.426"), "{text}");
}

#[test]
fn scan_finds_genesis_nonce_with_every_kernel() {
    for kernel in hashforge::cpu::Kernel::supported() {
        let out = hashforge(&[
            "scan",
            "--header",
            GENESIS,
            "--start",
            "2083200000",
            "--count",
            "100000",
            "--target",
            "00000000ffff0000000000000000000000000000000000000000000000000000",
            "--kernel",
            kernel.name(),
            "--threads",
            "2",
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["nonces"], serde_json::json!([2083236893u32]), "{kernel}");
        assert_eq!(v["hashes"], 100000);
        assert!(v["seconds"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn scan_by_difficulty_lists_nonces_ascending() {
    let out = hashforge(&[
        "scan",
        "--header",
        GENESIS,
        "--start",
        "4294967000",
        "--count",
        "296",
        "--difficulty",
        "0.000000001",
        "--json",
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let nonces: Vec<u64> = v["nonces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    assert!(!nonces.is_empty());
    assert!(nonces.windows(2).all(|w| w[0] < w[1]));
    assert!(nonces
        .iter()
        .all(|&n| (4294967000..=4294967295).contains(&n)));
}

#[test]
fn bench_json_measures_every_kernel() {
    let out = hashforge(&["bench", "--seconds", "0.2", "--threads", "1", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l["kernel"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = hashforge::cpu::Kernel::supported()
        .iter()
        .map(|k| k.name())
        .collect();
    assert_eq!(names, expected);
    for l in &lines {
        assert_eq!(l["backend"], "cpu");
        assert_eq!(l["threads"], 1);
        assert!(l["hashes"].as_u64().unwrap() > 0);
        assert!(l["hashrate"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn bad_input_is_one_line_error() {
    let t = "00000000ffff0000000000000000000000000000000000000000000000000000";
    assert_one_line_error(&["hash", "abc"], "odd number of hex digits");
    assert_one_line_error(&["hash", "zz"], "bad input hex");
    assert_one_line_error(
        &[
            "scan", "--header", "00", "--start", "0", "--count", "1", "--target", t,
        ],
        "expected 80 bytes",
    );
    assert_one_line_error(
        &[
            "scan", "--header", GENESIS, "--start", "0", "--count", "0", "--target", t,
        ],
        "--count",
    );
    assert_one_line_error(
        &[
            "scan",
            "--header",
            GENESIS,
            "--start",
            "4294967295",
            "--count",
            "2",
            "--target",
            t,
        ],
        "past 2^32",
    );
    assert_one_line_error(
        &[
            "scan", "--header", GENESIS, "--start", "0", "--count", "1", "--target", "ff",
        ],
        "expected 32 bytes",
    );
    assert_one_line_error(
        &[
            "scan",
            "--header",
            GENESIS,
            "--start",
            "0",
            "--count",
            "1",
            "--difficulty",
            "-1",
        ],
        "difficulty must be a positive number",
    );
    assert_one_line_error(
        &[
            "scan", "--header", GENESIS, "--start", "0", "--count", "1", "--target", t, "--kernel",
            "sse9",
        ],
        "unknown kernel 'sse9'",
    );
    assert_one_line_error(&["bench", "--kernel", "bogus"], "unknown kernel");
    assert_one_line_error(&["bench", "--threads", "0"], "--threads");
    assert_one_line_error(
        &[
            "scan", "--header", GENESIS, "--start", "x", "--count", "1", "--target", t,
        ],
        "invalid value",
    );
    assert_one_line_error(&["frobnicate"], "unrecognized subcommand");
}
