//! The `hashforge` binary, run the one way every test runs it: no `RUST_LOG` from the caller's
//! environment (stderr holds only what the flags ask for), stdin closed, output captured, and a
//! time limit on every wait.
//!
//! Cargo names the binary to integration tests only (`env!("CARGO_BIN_EXE_hashforge")`), so a
//! test crate passes its path to [`Hashforge::new`].

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

/// The `hashforge` binary at a path.
#[derive(Clone, Debug)]
pub struct Hashforge {
    path: PathBuf,
}

/// How a run ended: exit code (`None` when killed by a signal), stdout and stderr as text.
#[derive(Clone, Debug)]
pub struct Exit {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Exit {
    /// Stdout as one JSON value.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).expect("stdout is one JSON value")
    }

    /// Stdout as JSON lines.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        let line = |l: &str| serde_json::from_str(l).expect("a JSON line");
        self.stdout.lines().map(line).collect()
    }
}

impl From<Output> for Exit {
    fn from(out: Output) -> Self {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Exit {
            code: out.status.code(),
            stdout: text(&out.stdout),
            stderr: text(&out.stderr),
        }
    }
}

impl Hashforge {
    /// The binary at `path`: a test passes `env!("CARGO_BIN_EXE_hashforge")`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Hashforge { path: path.into() }
    }

    /// A command running it with `args`, stdin closed, stdout and stderr piped.
    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let mut command = Command::new(&self.path);
        command
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs it with `args` to the end (for commands that end by themselves within seconds).
    pub fn run<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Exit {
        Exit::from(self.command(args).output().expect("running hashforge"))
    }

    /// Runs it with `args` to the end; panics, with the arguments, stdout and stderr, unless it
    /// exited with status 0.
    pub fn success(&self, args: &[&str]) -> Exit {
        let exit = self.run(args);
        assert_eq!(exit.code, Some(0), "hashforge {args:?} failed: {exit:#?}");
        exit
    }

    /// Runs it with `args`; panics, with what it printed, if it is still running after `within`.
    pub fn run_within<S: AsRef<std::ffi::OsStr>>(&self, args: &[S], within: Duration) -> Exit {
        self.spawn(args).wait_within(within)
    }

    /// Starts it with `args` in the background.
    pub fn spawn<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Running {
        Running(Some(
            self.command(args).spawn().expect("starting hashforge"),
        ))
    }

    /// Starts it with `args` in the background, with `stdin` (a terminal, say) instead of none.
    pub fn spawn_with_stdin<S: AsRef<std::ffi::OsStr>>(
        &self,
        args: &[S],
        stdin: impl Into<Stdio>,
    ) -> Running {
        Running(Some(
            self.command(args)
                .stdin(stdin)
                .spawn()
                .expect("starting hashforge"),
        ))
    }

    /// Runs it with `args`; fails unless it stopped with an error that contains `needle` and no
    /// panic: a usage error (exit 2: clap's whole message, or one line from the command's own
    /// checks) or a runtime failure (exit 1, exactly one line). Returns stderr.
    pub fn one_line_error(&self, args: &[&str], needle: &str) -> String {
        let out = self.run(args);
        assert_error(&args, out.code, &out.stderr, &[needle]);
        out.stderr
    }

    /// Runs `hashforge mine` on its embedded pool with JSON status every second and the extra
    /// `args` (duration, backend, threads), until it exits. It asks the pool for difficulty
    /// 0.0005, so that even a loaded machine finds dozens of shares in a few seconds (at the
    /// pool's start difficulty, 0.01 or 43 M hashes a share, a slow run could find none).
    ///
    /// Panics, with the output, when the run fails. Returns stdout and the last status object.
    pub fn mine_on_embedded_pool(&self, args: &[&str]) -> (String, serde_json::Value) {
        let mut all = vec!["mine", "--status-interval", "1", "--json-status"];
        all.extend(["--suggest-difficulty", "0.0005"]);
        // Normal priority: at the default nice 19 any other load on the machine (a build, other
        // tests) can starve the run of every share.
        all.extend(["--cpu-priority", "0"]);
        all.extend(args);
        let stdout = self.success(&all).stdout;
        let last = stdout
            .lines()
            .rfind(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap())
            .expect("no status line");
        (stdout, last)
    }

    /// Runs `hashforge mine` with `args` (which set neither `--duration` nor the status options)
    /// at normal priority, with a status line every second, until a status line counts at least
    /// `accepted` shares accepted; then Ctrl-C, and its exit. The run lasts as long as the
    /// machine needs, so one share difficulty suits a quiet machine (under the miner's submit
    /// limit, 100 shares a second) and a loaded one (still enough shares). It stops by itself
    /// after `within`, short of the count; the caller's assertions then show why.
    pub async fn mine_until_accepted(
        &self,
        args: &[&str],
        accepted: u64,
        within: Duration,
    ) -> Exit {
        let seconds = within.as_secs().max(1).to_string();
        let mut all = vec!["mine", "--status-interval", "1", "--cpu-priority", "0"];
        all.extend(["--duration", &seconds]);
        all.extend(args);
        let mut run = self.spawn(&all);
        let mut lines = run.stdout_lines();
        let stderr = run.stderr_text();
        let mut stdout = String::new();
        let mut reached = false;
        while let Some(line) = lines.recv().await {
            stdout.push_str(&line);
            stdout.push('\n');
            if status_accepted(&line).is_some_and(|n| n >= accepted) {
                reached = true;
                break;
            }
        }
        if reached {
            run.interrupt();
        }
        let status = run.exit_within(Duration::from_secs(30)).await;
        while let Some(line) = lines.recv().await {
            stdout.push_str(&line);
            stdout.push('\n');
        }
        // The reading thread drops its handle at the end of stderr.
        while Arc::strong_count(&stderr) > 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let stderr = stderr.lock().unwrap().clone();
        Exit {
            code: status.code(),
            stdout,
            stderr,
        }
    }
}

/// The accepted count of a text status line ("… | A 12 R 0 S 1 HW 0 …").
fn status_accepted(line: &str) -> Option<u64> {
    let mut words = line.split_whitespace();
    words.find(|w| *w == "A")?;
    words.next()?.parse().ok()
}

/// The binary running in the background; killed when dropped (only while it is still our
/// unreaped child, so its pid cannot have been reused).
pub struct Running(Option<Child>);

impl Running {
    /// The child process.
    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("still running")
    }

    /// Its stdout lines as they come (read on a thread of their own).
    pub fn stdout_lines(&mut self) -> mpsc::UnboundedReceiver<String> {
        let stdout = self.child().stdout.take().expect("stdout not taken yet");
        let (tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        lines
    }

    /// Its stderr so far, gathered on a thread of its own.
    pub fn stderr_text(&mut self) -> Arc<Mutex<String>> {
        let stderr = self.child().stderr.take().expect("stderr not taken yet");
        let text = Arc::new(Mutex::new(String::new()));
        let sink = text.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        text
    }

    /// Sends it SIGINT (Ctrl-C).
    pub fn interrupt(&mut self) {
        let pid = self.child().id();
        let status = Command::new("kill")
            .arg("-INT")
            .arg(pid.to_string())
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -INT {pid}");
    }

    /// Waits (polling, on the runtime) until it exits; panics if that takes longer than `within`.
    pub async fn exit_within(&mut self, within: Duration) -> ExitStatus {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(exit) = self.child().try_wait().expect("waiting for hashforge") {
                return exit;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "hashforge did not exit within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the exit while draining its output; panics, with what it printed, and kills
    /// it if it outlives `within`.
    pub fn wait_within(mut self, within: Duration) -> Exit {
        let child = self.0.take().expect("still running");
        let pid = child.id();
        let (tx, done) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        match done.recv_timeout(within) {
            Ok(out) => Exit::from(out.expect("waiting for hashforge")),
            Err(_) => {
                // Still unreaped (the waiting thread has not returned), so the pid is ours.
                let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
                let out = done.recv().ok().and_then(Result::ok).map(Exit::from);
                panic!("hashforge did not exit within {within:?}: {out:#?}");
            }
        }
    }

    /// [`Running::wait_within`] off the async runtime.
    pub async fn finish(self, within: Duration) -> Exit {
        tokio::task::spawn_blocking(move || self.wait_within(within))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Fails unless `stderr` and the exit `code` are one of hashforge's two error shapes, naming
/// every needle, with no panic: exit 1 (a runtime failure) or 2 (a usage error) with exactly one
/// `error: …` line, or exit 2 with clap's message (`error: …` first, then usage or a hint).
pub fn assert_error(what: &dyn std::fmt::Debug, code: Option<i32>, stderr: &str, needles: &[&str]) {
    let err = stderr.trim_end();
    assert!(!err.contains("panicked"), "{what:?}: {err}");
    assert!(err.starts_with("error: "), "{what:?}: {err:?}");
    for needle in needles {
        assert!(err.contains(needle), "{what:?}: {err:?} lacks {needle:?}");
    }
    match code {
        Some(1) => assert_eq!(err.lines().count(), 1, "{what:?}: not one line: {err:?}"),
        Some(2) => assert!(
            err.lines().count() == 1 || err.ends_with("For more information, try '--help'."),
            "{what:?}: neither one line nor clap's message: {err:?}"
        ),
        other => panic!("{what:?}: exit {other:?}, not 1 or 2: {err}"),
    }
}
