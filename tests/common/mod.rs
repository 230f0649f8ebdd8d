//! Helpers shared by the integration tests. They live in `hashforge-test-support` (the binary
//! runner, the test miner, and the Stratum helpers of `hashforge-stratum-test-support`); this
//! module names this build's binary for them and keeps `common::…` working.
#![allow(dead_code, unused_imports)]

pub use hashforge_test_support::binary::{assert_error, Exit, Hashforge, Running};
pub use hashforge_test_support::miner::{scan_for_share, watch_jobs, TestMiner};
pub use hashforge_test_support::stratum::*;

/// The `hashforge` binary of this build.
pub fn hashforge() -> Hashforge {
    Hashforge::new(env!("CARGO_BIN_EXE_hashforge"))
}

/// See [`Hashforge::mine_on_embedded_pool`].
pub fn mine_on_embedded_pool(args: &[&str]) -> (String, serde_json::Value) {
    hashforge().mine_on_embedded_pool(args)
}

pub use hashforge_test_support::serve::{
    advancing_config, api_base, call, call_expecting, distinct_templates, fixture, summary_count,
    Serve, REGTEST_ADDRESS,
};

/// See [`hashforge_test_support::serve::keygen`].
pub fn keygen(tag: &str) -> (std::path::PathBuf, String) {
    hashforge_test_support::serve::keygen(&hashforge(), tag)
}

/// See [`hashforge_test_support::serve::start_serve_sv2`].
pub async fn start_serve_sv2(
    node_url: &str,
    key: &std::path::Path,
    difficulty: &str,
) -> (Serve, String) {
    hashforge_test_support::serve::start_serve_sv2(&hashforge(), node_url, key, difficulty).await
}

/// See [`hashforge_test_support::serve::advancing_node`]: `n` templates, the first the empty
/// regtest one as recorded, the rest copies of it on made-up previous blocks.
pub async fn advancing_empty_node(n: usize) -> hashforge_test_support::replay::ReplayNode {
    let templates = distinct_templates(&["gbt-regtest-empty.json"], n, 1);
    hashforge_test_support::serve::advancing_node(templates).await
}

/// See [`hashforge_test_support::serve::start_serve`].
pub async fn start_serve(args: &[&str], within: std::time::Duration) -> Serve {
    hashforge_test_support::serve::start_serve(&hashforge(), args, within).await
}

/// See [`hashforge_test_support::serve::spawn_workers`].
pub fn spawn_workers(pool: &str, names: &[&str], duration: &str) -> Vec<Running> {
    hashforge_test_support::serve::spawn_workers(&hashforge(), pool, names, duration)
}

/// `hashforge serve` on the replay node at `node_url` (credentials u/p), paying `address`, at
/// difficulty 0.0001, with its API on 127.0.0.1; returns it and the API's base URL.
pub async fn start_serve_with_api(
    node_url: &str,
    address: &str,
    within: std::time::Duration,
) -> (Serve, String) {
    let mut args = on_node("serve", node_url);
    args.extend([
        "--address",
        address,
        "--listen",
        "127.0.0.1:0",
        "--start-difficulty",
        "0.0001",
        "--api",
        "127.0.0.1:0",
    ]);
    let serve = start_serve(&args, within).await;
    let base = api_base(&serve.stderr).await;
    (serve, base)
}

/// `hashforge COMMAND` on the replay node at `node_url` with its user u/p.
pub fn on_node<'a>(command: &'a str, node_url: &'a str) -> Vec<&'a str> {
    vec![
        command,
        "--node",
        node_url,
        "--rpc-user",
        "u",
        "--rpc-pass",
        "p",
    ]
}

/// `hashforge mine` on the embedded pool with one CPU thread and its API on `api` behind
/// `token`, then `extra`.
pub fn spawn_mine_with_api(api: &str, token: &str, extra: &[&str]) -> Running {
    let mut args = vec![
        "mine",
        "--api",
        api,
        "--api-token",
        token,
        "--backend",
        "cpu",
        "-t",
        "1",
    ];
    args.extend_from_slice(extra);
    hashforge().spawn(&args)
}

/// `hashforge mine` on the embedded pool with one thread of the scalar CPU kernel, then
/// `extra`.
pub fn mine_scalar<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["mine", "--backend", "cpu", "--kernel", "scalar", "-t", "1"];
    args.extend_from_slice(extra);
    args
}
