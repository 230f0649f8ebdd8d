//! The `hashforge` binary under hostile input and faults: every bad number is one error line
//! naming the flag and the accepted range (exit 2, never a panic, which a release build turns
//! into exit 134), a nonce range that would wrap is refused, a thread the system cannot start
//! is an error line, `mine` stops cleanly on SIGTERM, and an RPC cookie that is not a small
//! regular file is refused without reading it.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";
/// A regtest address (the node is never reached in these tests).
const ADDRESS: &str = "bcrt1q92v6550wrjqhldxwc2cvqlqm77wmzufv4dq433";

/// What a finished (or killed) run printed.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    timed_out: bool,
}

/// Waits for `child` for at most `limit`, killing it after that (it is our unreaped child, so
/// its pid cannot have been reused). Both pipes are read while it runs.
fn finish(mut child: Child, limit: Duration) -> Run {
    let stdout = read_all(child.stdout.take().unwrap());
    let mut run = finish_stderr(child, limit);
    run.stdout = stdout.join().unwrap();
    run
}

/// Reads `pipe` to its end on a thread of its own.
fn read_all(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    })
}

/// As [`finish`], for a child whose stdout is read elsewhere (`stdout` stays empty).
fn finish_stderr(mut child: Child, limit: Duration) -> Run {
    let stderr = read_all(child.stderr.take().unwrap());
    let deadline = Instant::now() + limit;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        status,
        stdout: String::new(),
        stderr: stderr.join().unwrap(),
        timed_out,
    }
}

/// Runs the binary with `args`, its address space limited to `limit_kib` (so that a run that
/// reads without bound fails fast instead of eating the machine's memory), for at most 30 s.
fn hashforge_limited(limit_kib: u64, args: &[&str]) -> Run {
    let child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {limit_kib} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_hashforge"))
        .args(args)
        // One malloc arena: otherwise each new thread's arena reserves 64 MiB of the limited
        // address space, and an allocation, not the thread start, may be what fails first.
        .env("MALLOC_ARENA_MAX", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running hashforge under sh");
    finish(child, Duration::from_secs(30))
}

/// Fails unless `args` stop with an error that contains every needle: a usage error (exit 2,
/// clap's message) or a runtime failure (exit 1, one line); no panic, no hang.
fn assert_one_line_error(args: &[&str], needles: &[&str]) {
    let run = hashforge_limited(4 << 20, args);
    assert!(!run.timed_out, "{args:?} did not stop: {}", run.stderr);
    hashforge_test_support::binary::assert_error(&args, run.status.code(), &run.stderr, needles);
}

/// Every duration flag takes one parser: NaN, infinities, negative, zero where it means nothing,
/// tiny and huge values are refused with the flag's name and its range.
#[test]
fn durations_out_of_range_are_one_line_errors() {
    // `mine` runs that a missing check would let mine forever stop after 2 s.
    let mine = |flag: &'static str, value: &'static str| {
        vec!["mine", "--duration", "2", "-t", "1", flag, value]
    };
    let range = "must be more than 0 and at most 1000000000 seconds";
    for value in ["-1", "nan", "inf", "1e300", "0", "-inf"] {
        assert_one_line_error(
            &["mine", &format!("--duration={value}")],
            &["--duration", range],
        );
    }
    assert_one_line_error(&["mine", "--duration", "-1"], &["--duration", range]);
    let status = "must be at least 0.1 and at most 86400 seconds";
    for value in ["1e300", "1e-300", "0", "nan", "0.000001"] {
        assert_one_line_error(
            &mine("--status-interval", value),
            &["--status-interval", status],
        );
        assert_one_line_error(
            &["serve", "--status-interval", value],
            &["--status-interval", status],
        );
    }
    let submit = "must be at least 1 and at most 3600 seconds";
    for value in ["18446744073709551615", "0", "-1", "nan", "1e300"] {
        assert_one_line_error(
            &mine("--submit-timeout", value),
            &["--submit-timeout", submit],
        );
    }
    for value in ["0", "-1", "nan", "1e-300", "1e300"] {
        assert_one_line_error(
            &["serve", "--share-interval", value],
            &[
                "--share-interval",
                "must be at least 0.1 and at most 3600 seconds",
            ],
        );
    }
    for value in ["-1", "nan", "inf"] {
        assert_one_line_error(
            &["serve", "--update-interval", value],
            &[
                "--update-interval",
                "must be at least 0 and at most 3600 seconds",
            ],
        );
    }
    // The message states the range instead of contradicting itself ("between 0 and 3600, got 0").
    for value in ["0", "-1", "nan", "3601", "1e300"] {
        assert_one_line_error(
            &["bench", "--seconds", value],
            &["--seconds", "must be more than 0 and at most 3600 seconds"],
        );
    }
    assert_one_line_error(
        &["mine", "--duration", "soon"],
        &["--duration", "not a number of seconds"],
    );
}

#[test]
fn difficulties_and_counts_out_of_range_are_one_line_errors() {
    let difficulty = "difficulty must be a positive number (more than 0 and at most 1e15)";
    for value in ["1e300", "nan", "-1", "0", "inf", "1e16"] {
        assert_one_line_error(
            &["serve", "--start-difficulty", value],
            &["--start-difficulty", difficulty],
        );
    }
    for value in ["-5", "nan", "0", "1e300"] {
        assert_one_line_error(
            &[
                "mine",
                "--duration",
                "2",
                "-t",
                "1",
                "--suggest-difficulty",
                value,
            ],
            &["--suggest-difficulty", difficulty],
        );
    }
    // Threads: at least 1, at most 1024, for every command that hashes.
    for command in ["mine", "bench", "scan"] {
        for value in ["0", "-1", "100000", "1025", "18446744073709551616"] {
            assert_one_line_error(
                &[command, "--threads", value],
                &["--threads", "must be at least 1 and at most 1024"],
            );
        }
    }
    assert_one_line_error(
        &["mine", "-t", "100000"],
        &["--threads", "must be at least 1 and at most 1024"],
    );
    assert_one_line_error(
        &["mine", "--duration", "2", "--failover-after", "0"],
        &["--failover-after", "must be at least 1 and at most 1000"],
    );
    assert_one_line_error(
        &["bench", "--gpu-batch", "0"],
        &["--gpu-batch", "must be at least 1 and at most 1073741824"],
    );
}

/// `--count 2^64-1` used to wrap the range check and "scan" 162791722840837.94 GH/s.
#[test]
fn scan_range_that_would_wrap_is_refused() {
    let scan = |start: &'static str, count: &'static str| {
        vec![
            "scan",
            "--header",
            GENESIS,
            "--start",
            start,
            "--count",
            count,
            "--difficulty",
            "1",
            "-t",
            "1",
        ]
    };
    let bad_count = ["--count", "must be at least 1 and at most 4294967296"];
    let bad_start = ["--start", "must be at least 0 and at most 4294967295"];
    let past_end = ["past 2^32", "--start + --count must be at most 4294967296"];
    for (start, count, needles) in [
        ("1", "18446744073709551615", bad_count),
        ("1", "18446744073709551616", bad_count),
        ("1", "4294967296", past_end),
        ("4294967296", "1", bad_start),
        ("-1", "1", bad_start),
    ] {
        assert_one_line_error(&scan(start, count), &needles);
    }
}

/// More worker threads than the system lets the process start: an error line naming the
/// thread, exit 2, not a panic (exit 134).
#[cfg(target_os = "linux")]
#[test]
fn threads_the_system_cannot_start_are_an_error() {
    // 256 MiB of address space holds about a hundred 2 MiB thread stacks, not 1024.
    let run = hashforge_limited(
        256 << 10,
        &[
            "bench",
            "--kernel",
            "scalar",
            "--threads",
            "1024",
            "--seconds",
            "1",
        ],
    );
    assert_stopped_with_one_error(&run, "cannot start worker thread");
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

/// Fails unless the run stopped by itself, exit 1 (a runtime failure), no panic, and exactly one
/// `error` line (among its logs) that contains `needle`.
fn assert_stopped_with_one_error(run: &Run, needle: &str) {
    let err = &run.stderr;
    assert!(!run.timed_out, "{err}");
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains(needle), "{err}");
}

/// `mine` whose every backend has stopped (here: its threads could not be started) says so and
/// exits, instead of staying connected with nothing hashing.
#[test]
fn mine_with_no_backend_left_hashing_exits() {
    let run = hashforge_limited(
        256 << 10,
        &[
            "mine",
            "--kernel",
            "scalar",
            "--threads",
            "1024",
            "--duration",
            "60",
        ],
    );
    assert_stopped_with_one_error(&run, "nothing is hashing");
    assert!(
        run.stderr.contains("cannot start worker thread"),
        "{}",
        run.stderr
    );
}

/// `mine` treats SIGTERM like Ctrl-C: hashing stops, every submitted share is answered or
/// counted, the final status is printed, exit 0.
#[cfg(unix)]
#[test]
fn mine_stops_cleanly_on_sigterm() {
    let mut child = common::hashforge()
        .command(&[
            "mine",
            "--status-interval",
            "1",
            "--json-status",
            "--suggest-difficulty",
            "0.0005",
            "-t",
            "1",
            // A run that ignored the signal still ends.
            "--duration",
            "60",
        ])
        .spawn()
        .unwrap();
    // Read stdout up to the first status line (the miner is then mining), then hand the rest of
    // it to `finish` through a pipe of our own.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut before = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !before.iter().any(|l: &String| l.starts_with('{')) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => before.push(line),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no status line in 30 s: {before:?}");
            }
        }
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut run = finish_stderr(child, Duration::from_secs(20));
    // The reader thread ends with the pipe, so every line is in the channel now.
    run.stdout = rx.iter().collect::<Vec<_>>().join("\n");
    assert!(!run.timed_out, "did not stop on SIGTERM: {}", run.stderr);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{:?}\n{}\n{}",
        run.status,
        run.stdout,
        run.stderr
    );
    assert!(run.stderr.contains("stopping"), "{}", run.stderr);
    let last: serde_json::Value = run
        .stdout
        .lines()
        .rfind(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .unwrap_or_else(|| panic!("no final status after SIGTERM: {}", run.stdout));
    let count = |k: &str| last[k].as_u64().unwrap();
    assert_eq!(
        count("submitted"),
        count("accepted")
            + count("rejected")
            + count("stale_rejected")
            + count("timed_out")
            + count("lost"),
        "a share in flight was neither answered nor reported: {last}"
    );
    assert_eq!(count("hw_errors"), 0, "{last}");
}

/// A cookie is a small regular file: `/dev/zero` (endless), a FIFO (blocks on open) and a big
/// file are refused with one line, before anything is read from them.
#[cfg(unix)]
#[test]
fn rpc_cookie_that_is_not_a_small_regular_file_is_refused() {
    let dir = std::env::temp_dir().join(format!("hashforge-cookie-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo.cookie");
    let _ = std::fs::remove_file(&fifo);
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let big = dir.join("big.cookie");
    std::fs::write(&big, format!("__cookie__:{}\n", "a".repeat(1 << 20))).unwrap();
    let fifo = fifo.to_str().unwrap();
    let big = big.to_str().unwrap();
    // `mine --node` (no kernel calibration, no adapter search) and `serve` share the node setup.
    let mine = |cookie: &'static str| {
        vec![
            "mine",
            "--node",
            "http://127.0.0.1:1",
            "--rpc-cookie",
            cookie,
            "--address",
            ADDRESS,
            "--kernel",
            "scalar",
            "--backend",
            "cpu",
            "-t",
            "1",
        ]
    };
    assert_one_line_error(
        &mine("/dev/zero"),
        &[
            "cannot use RPC cookie file /dev/zero",
            "not a regular file (a character device)",
        ],
    );
    let mut args = mine("x");
    args[4] = fifo;
    assert_one_line_error(&args, &["not a regular file (a FIFO)"]);
    args[4] = big;
    assert_one_line_error(&args, &["too large to be a cookie (over 4096 bytes)"]);
    assert_one_line_error(
        &[
            "serve",
            "--node",
            "http://127.0.0.1:1",
            "--rpc-cookie",
            fifo,
            "--address",
            ADDRESS,
            "--listen",
            "127.0.0.1:0",
        ],
        &["not a regular file (a FIFO)"],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A reader that goes away (`mine | head -1`, a closed pipe) loses status lines but stops
/// nothing: `mine` runs to its end and exits 0 (before, `println!` panicked on the broken pipe
/// and the miner aborted).
#[test]
fn mine_survives_a_closed_stdout() {
    for json in [false, true] {
        let mut args = common::mine_scalar(&["--status-interval", "0.2", "--duration", "2"]);
        if json {
            args.push("--json-status");
        }
        let mut miner = common::hashforge().spawn(&args);
        drop(miner.child().stdout.take());
        let exit = miner.wait_within(Duration::from_secs(60));
        assert_eq!(exit.code, Some(0), "{args:?}: {exit:#?}");
        assert!(!exit.stderr.contains("panicked"), "{}", exit.stderr);
    }
}
