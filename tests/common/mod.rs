//! Helpers shared by the integration tests that run the `hashforge` binary.

/// Runs `hashforge mine` on its embedded pool with JSON status every second and the extra
/// `args` (duration, backend, threads), until it exits. It asks the pool for difficulty
/// 0.0005, so that even a loaded machine finds dozens of shares in a few seconds (at the
/// pool's start difficulty, 0.01 or 43 M hashes a share, a slow run could find none).
///
/// Panics, with the output, when the run fails. Returns stdout and the last status object.
pub fn mine_on_embedded_pool(args: &[&str]) -> (String, serde_json::Value) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hashforge"))
        .args(["mine", "--status-interval", "1", "--json-status"])
        .args(["--suggest-difficulty", "0.0005"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout
        .lines()
        .rfind(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .expect("no status line");
    (stdout, last)
}
