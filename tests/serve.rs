//! The solo pool end to end: a replay node serving real Bitcoin Core 30.3 regtest templates,
//! the Stratum server fed by [`NodeFeed`], and miners made of the Stratum client and a CPU
//! kernel. Regtest bits `207fffff` make every share a block, so the blocks workers find are
//! submitted to the replay node, which validates them like Bitcoin Core.
//!
//! Everything listens on 127.0.0.1 only, every wait is bounded, and every server stops when
//! its test ends.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitcoin::blockdata::script::Instruction;
use bitcoin::Network;
use common::{fixture, self_signed_pem, wait_job_within, watch_jobs, Exit, Running, TestMiner};
use hashforge::node::{BlockError, RpcError};
use hashforge::node::{PayoutScript, RpcAuth, RpcClient, RpcConfig};
use hashforge::pool::{
    BlockOutcome, FeedError, FeedStats, NodeFeed, NodeFeedHandle, NodeFeedOptions,
};
use hashforge_stratum::{Event, Server, ServerConfig, ServerHandle};
use hashforge_test_support::replay::{Fault, ReplayConfig, ReplayNode};
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// A regtest address (P2WPKH).
const ADDRESS: &str = "bcrt1q92v6550wrjqhldxwc2cvqlqm77wmzufv4dq433";
/// A mainnet address: wrong for a regtest node.
const MAINNET_ADDRESS: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";
const TAG: &str = "/serve-test/";
/// Share difficulty of the test miners: about 430 000 hashes per share.
const SHARE_DIFFICULTY: f64 = 1e-4;
/// The `serve` flags of the runs here after the node and its credentials: blocks pay
/// [`ADDRESS`] and carry [`TAG`], 127.0.0.1 on any port, share difficulty 0.0001.
const SERVE_FLAGS: [&str; 8] = [
    "--address",
    ADDRESS,
    "--listen",
    "127.0.0.1:0",
    "--coinbase-tag",
    TAG,
    "--start-difficulty",
    "0.0001",
];
/// How long a `hashforge` run that should fail at once may take.
const BOUND: Duration = Duration::from_secs(30);

const FIXTURES: [&str; 6] = [
    "gbt-regtest-empty.json",
    "gbt-regtest-6tx.json",
    "gbt-regtest-60tx.json",
    "gbt-regtest-h201-empty.json",
    "gbt-regtest-h203-7tx.json",
    "gbt-regtest-h204-60tx.json",
];

/// `n` templates with distinct previous blocks: the real fixtures, then copies of them on
/// made-up previous blocks.
fn distinct_templates(n: usize) -> Vec<Value> {
    common::distinct_templates(&FIXTURES, n, FIXTURES.len())
}

/// The same work as `t` minus its last transaction (same previous block): "new transactions".
fn without_last_transaction(t: &Value) -> Value {
    let mut t = t.clone();
    let txs = t["transactions"].as_array_mut().unwrap();
    let last = txs.pop().unwrap();
    let fee = last["fee"].as_u64().unwrap();
    t["coinbasevalue"] = json!(t["coinbasevalue"].as_u64().unwrap() - fee);
    // Let the builder compute the witness commitment of the smaller set.
    t.as_object_mut()
        .unwrap()
        .remove("default_witness_commitment");
    t["longpollid"] = json!(format!("{}-fewer", t["longpollid"].as_str().unwrap()));
    t
}

fn payout() -> PayoutScript {
    PayoutScript::from_address(ADDRESS, Network::Regtest).unwrap()
}

/// The Stratum tests' server configuration at [`SHARE_DIFFICULTY`].
fn test_server_config() -> ServerConfig {
    ServerConfig {
        start_difficulty: SHARE_DIFFICULTY,
        min_difficulty: 1e-6,
        ..common::server_config()
    }
}

/// Server on 127.0.0.1:0 plus a feed from `node`.
async fn start_pool(
    node: &ReplayNode,
    auth: RpcAuth,
    options: NodeFeedOptions,
) -> (Arc<ServerHandle>, NodeFeedHandle) {
    let rpc = RpcClient::new(RpcConfig::new(&node.url(), auth).unwrap());
    let (_, payout) = rpc.check_ready(ADDRESS).await.unwrap();
    let (server, events) = Server::bind(common::localhost0(), test_server_config())
        .await
        .unwrap();
    let server = Arc::new(server);
    let feed = NodeFeed::start(rpc, payout, options, server.clone(), events)
        .await
        .unwrap();
    (server, feed)
}

fn fast_options() -> NodeFeedOptions {
    NodeFeedOptions {
        coinbase_tag: TAG.as_bytes().to_vec(),
        poll_interval: Duration::from_millis(100),
        retry_initial: Duration::from_millis(100),
        retry_max: Duration::from_millis(400),
        update_interval: Duration::ZERO,
        ..NodeFeedOptions::default()
    }
}

/// Waits (at most `secs`) until the feed's counters satisfy `pred`.
async fn wait_stats(feed: &NodeFeedHandle, secs: u64, pred: impl FnMut(&FeedStats) -> bool) {
    let mut rx = feed.subscribe();
    let waited = tokio::time::timeout(Duration::from_secs(secs), rx.wait_for(pred)).await;
    assert!(
        waited.is_ok_and(|r| r.is_ok()),
        "feed never got there: {:#?}",
        feed.stats()
    );
}

/// The pushes of a coinbase scriptSig: the BIP 34 height, the extranonce, the tag.
fn script_sig_pushes(block: &bitcoin::Block) -> Vec<Vec<u8>> {
    block.txdata[0].input[0]
        .script_sig
        .instructions()
        .map(|i| match i.unwrap() {
            Instruction::PushBytes(b) => b.as_bytes().to_vec(),
            Instruction::Op(op) => vec![op.to_u8()],
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_find_blocks_that_the_node_accepts() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let mut config = ReplayConfig::new(distinct_templates(24)).with_credentials("alice", "pw");
        config.advance_on_submit = true;
        config.longpoll_hold = Duration::from_secs(5);
        let node = ReplayNode::start(config).await.unwrap();
        let auth = RpcAuth::UserPass {
            user: "alice".into(),
            password: "pw".into(),
        };
        let (server, feed) = start_pool(&node, auth, fast_options()).await;
        let addr = server.local_addr();
        assert!(addr.ip().is_loopback());

        let miners = [
            ("worker1", TestMiner::start(addr, "worker1").await),
            ("worker2", TestMiner::start(addr, "worker2").await),
        ];
        assert_ne!(miners[0].1.extranonce1, miners[1].1.extranonce1);

        // Every round both race for the block; wait until each has had one accepted.
        wait_stats(&feed, 90, |s| {
            ["worker1", "worker2"].iter().all(|w| {
                s.recent_blocks
                    .iter()
                    .any(|b| b.worker == *w && b.outcome == BlockOutcome::Accepted)
            })
        })
        .await;
        let extranonce1: HashMap<&str, Vec<u8>> = miners
            .iter()
            .map(|(w, m)| (*w, m.extranonce1.clone()))
            .collect();
        drop(miners);
        let counters = feed.subscribe();
        feed.stop().await;
        let stats = counters.borrow().clone();
        server.shutdown().await;

        let accepted = node.accepted_blocks();
        assert!(accepted.len() >= 2, "accepted: {accepted:?}");
        assert_eq!(stats.blocks_accepted as usize, accepted.len());
        let payout = payout();
        let mut checked = 0;
        for hex in node.submitted_blocks() {
            let bytes = hex::decode(&hex).unwrap();
            let block: bitcoin::Block = bitcoin::consensus::deserialize(&bytes).unwrap();
            let hash = block.block_hash();
            let report = stats
                .recent_blocks
                .iter()
                .find(|b| b.hash == hash)
                .expect("every submitted block is reported");
            if !accepted.contains(&hash) {
                assert!(matches!(report.outcome, BlockOutcome::Rejected(_)));
                continue;
            }
            assert_eq!(report.outcome, BlockOutcome::Accepted);
            let coinbase = &block.txdata[0];
            assert!(coinbase.is_coinbase());
            assert_eq!(
                coinbase.output[0].script_pubkey.as_bytes(),
                payout.as_bytes()
            );
            assert!(block.check_merkle_root() && block.check_witness_commitment());
            assert_eq!(
                block.bip34_block_height().unwrap(),
                u64::from(report.height)
            );
            let pushes = script_sig_pushes(&block);
            assert_eq!(pushes.len(), 3, "height, extranonce, tag: {pushes:?}");
            assert_eq!(pushes[1].len(), server.extranonce_size());
            assert_eq!(pushes[2], TAG.as_bytes());
            // The extranonce1 of the worker that found it.
            assert_eq!(
                &pushes[1][..4],
                extranonce1[report.worker.as_str()].as_slice(),
                "block {hash} by {}",
                report.worker
            );
            checked += 1;
        }
        assert_eq!(checked, accepted.len());
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_previous_block_is_clean_new_transactions_are_not() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let mut config = ReplayConfig::new(vec![fixture("gbt-regtest-6tx.json")]);
        config.longpoll_hold = Duration::from_secs(5);
        let node = ReplayNode::start(config).await.unwrap();
        // Wide enough that "sent at once" and "held for the interval" cannot be confused on
        // a loaded CI machine.
        let update_interval = Duration::from_secs(3);
        let options = NodeFeedOptions {
            update_interval,
            ..fast_options()
        };
        let (server, feed) = start_pool(&node, RpcAuth::None, options).await;
        let (client, mut events) = watch_jobs(server.local_addr()).await;
        let first = wait_job_within(&mut events, Duration::from_secs(20)).await;
        assert!(first.notify.clean_jobs);

        // New previous block: clean jobs at once.
        let next_block = fixture("gbt-regtest-h203-7tx.json");
        let pushed = Instant::now();
        node.push_template(next_block.clone());
        let job = wait_job_within(&mut events, Duration::from_secs(20)).await;
        assert!(
            job.notify.clean_jobs,
            "a new previous block must clean jobs"
        );
        assert_ne!(job.prev_hash(), first.prev_hash());
        assert!(
            pushed.elapsed() < update_interval,
            "clean jobs are not held"
        );
        assert_eq!(job.notify.merkle_branch.len(), 3); // 7 transactions + coinbase

        // Same previous block, new transactions: an update without clean_jobs, not before
        // the update interval has passed since the last push.
        let fewer = without_last_transaction(&next_block);
        node.push_template(fewer);
        let update = wait_job_within(&mut events, Duration::from_secs(20)).await;
        assert!(
            !update.notify.clean_jobs,
            "new transactions must not clean jobs"
        );
        assert_eq!(update.prev_hash(), job.prev_hash());
        assert_ne!(update.notify.merkle_branch, job.notify.merkle_branch);
        assert_ne!(update.notify.coinb2, job.notify.coinb2); // amount and witness commitment
        assert!(
            pushed.elapsed() >= update_interval,
            "update after {:?}",
            pushed.elapsed()
        );

        // The same template again (a long poll timing out, a poll): nothing new is sent.
        node.push_template(without_last_transaction(&next_block));
        tokio::time::sleep(Duration::from_millis(500)).await;
        let stats = feed.stats();
        assert_eq!((stats.templates, stats.clean_templates), (3, 2));
        assert_eq!(stats.height, Some(203));
        assert_eq!(stats.transactions, 6);
        while let Ok(ev) = events.try_recv() {
            assert!(!matches!(ev, Event::Job(_)), "unexpected job {ev:?}");
        }

        client.shutdown().await;
        feed.stop().await;
        server.shutdown().await;
    })
    .await
    .expect("test timed out");
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

// Single-threaded runtime: every task runs on this thread, so the thread-local subscriber
// sees their logs.
#[tokio::test]
async fn node_errors_are_logged_and_retried() {
    let logs = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    tokio::time::timeout(Duration::from_secs(60), async {
        let templates = distinct_templates(9);
        let mut config = ReplayConfig::new(vec![templates[0].clone()]);
        config.longpoll_hold = Duration::from_secs(40);
        let node = ReplayNode::start(config).await.unwrap();
        let options = NodeFeedOptions {
            longpoll_retry: Duration::from_millis(300),
            ..fast_options()
        };
        let (server, feed) = start_pool(&node, RpcAuth::None, options).await;
        assert_eq!(feed.stats().templates, 1);
        wait_for_long_poll(&node).await;

        // The long poll under way answers the next push; the next long poll then fails (the
        // poller falls back to plain polling), and so does that plain poll, and the next.
        node.fail_next(Fault::RpcError {
            code: -1,
            message: "simulated failure".into(),
        });
        node.fail_next(Fault::Close);
        node.fail_next(Fault::HttpStatus(503));
        node.push_template(templates[1].clone());
        wait_stats(&feed, 20, |s| s.node_errors >= 2).await;

        // The feed keeps going: new work is picked up.
        node.push_template(templates[7].clone());
        let prev: bitcoin::BlockHash = templates[7]["previousblockhash"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        wait_stats(&feed, 20, |s| s.previous_block == Some(prev)).await;
        assert_eq!(feed.stats().templates, 3);
        let stats = feed.stats();
        assert_eq!(stats.node_errors, 2, "{stats:#?}");
        assert!(stats.last_error.unwrap().contains("503"));

        // And a block found now is still submitted: a submitblock failure is retried. (Once
        // the poller is back to a held long poll, the next request is the submitblock.)
        wait_for_long_poll(&node).await;
        node.fail_next(Fault::TruncatedBody);
        let miner = TestMiner::start(server.local_addr(), "worker1").await;
        wait_stats(&feed, 30, |s| s.blocks_accepted >= 1).await;
        drop(miner);
        assert_eq!(node.accepted_blocks().len(), 1);
        let submits = node
            .requests()
            .iter()
            .filter(|r| r.method == "submitblock")
            .count();
        assert_eq!(submits, 2, "the block was sent again");

        feed.stop().await;
        server.shutdown().await;
    })
    .await
    .expect("test timed out");

    let text = logs.text();
    let failed: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("getblocktemplate failed"))
        .collect();
    assert_eq!(failed.len(), 2, "one line per failure:\n{text}");
    assert!(failed[0].contains("WARN") && failed[0].contains("retrying in"));
    assert!(
        text.contains("submitblock failed (attempt 1 of 5)"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.contains("accepted by the node")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_start_errors_are_typed() {
    let (server, events) = Server::bind(common::localhost0(), test_server_config())
        .await
        .unwrap();
    let server = Arc::new(server);

    // Nothing listens at the node's address.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rpc =
        RpcClient::new(RpcConfig::new(&format!("http://127.0.0.1:{port}"), RpcAuth::None).unwrap());
    let err = NodeFeed::start(rpc, payout(), fast_options(), server.clone(), events)
        .await
        .unwrap_err();
    assert!(
        matches!(err, FeedError::Node(RpcError::ConnectionRefused { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("refused"), "{err}");

    // A coinbase tag that does not fit in the scriptSig.
    let node = ReplayNode::start(ReplayConfig::new(distinct_templates(1)))
        .await
        .unwrap();
    let rpc = RpcClient::new(RpcConfig::new(&node.url(), RpcAuth::None).unwrap());
    let (_, events) = mpsc::channel(1);
    let options = NodeFeedOptions {
        coinbase_tag: vec![b'x'; 90],
        ..fast_options()
    };
    let err = NodeFeed::start(rpc, payout(), options, server.clone(), events)
        .await
        .unwrap_err();
    assert!(
        matches!(err, FeedError::Block(BlockError::ScriptSigLength { .. })),
        "{err}"
    );
    server.shutdown().await;
}

/// Waits until the last request the node received is a long poll (then held).
async fn wait_for_long_poll(node: &ReplayNode) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let held = node.requests().last().is_some_and(|r| {
            r.method == "getblocktemplate" && r.params[0].get("longpollid").is_some()
        });
        if held {
            // Let it settle: no other request may follow it.
            tokio::time::sleep(Duration::from_millis(200)).await;
            if node
                .requests()
                .last()
                .is_some_and(|r| r.params[0].get("longpollid").is_some())
            {
                return;
            }
        }
        assert!(Instant::now() < deadline, "no long poll");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `hashforge serve` on the node at `node_url` with the user u/p.
fn serve_with_user(node_url: &str) -> Vec<&str> {
    common::on_node("serve", node_url)
}

async fn serve_error(node_url: &str, address: &str) -> String {
    serve_error_with(node_url, address, &[]).await
}

async fn serve_error_with(node_url: &str, address: &str, extra: &[&str]) -> String {
    let mut args = serve_with_user(node_url);
    args.extend(["--address", address, "--listen", "127.0.0.1:0"]);
    args.extend_from_slice(extra);
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let Exit {
        code,
        stdout,
        stderr,
    } = tokio::task::spawn_blocking(move || common::hashforge().run_within(&args, BOUND))
        .await
        .unwrap();
    assert_eq!(
        code,
        Some(1),
        "a runtime failure: stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_startup_errors_are_one_line() {
    // Unreachable node: a port nothing listens on any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = serve_error(&format!("http://127.0.0.1:{port}"), ADDRESS).await;
    assert!(err.contains("refused"), "{err}");

    // An address of another network than the node's.
    let node = ReplayNode::start(ReplayConfig::new(distinct_templates(1)))
        .await
        .unwrap();
    let err = serve_error(&node.url(), MAINNET_ADDRESS).await;
    assert!(
        err.contains("not valid on the node's network regtest"),
        "{err}"
    );

    // TLS files that are missing, or hold no certificate.
    let missing = std::env::temp_dir().join("hashforge-no-such-cert.pem");
    let missing = missing.to_str().unwrap();
    let err = serve_error_with(
        &node.url(),
        ADDRESS,
        &["--tls-cert", missing, "--tls-key", missing],
    )
    .await;
    assert!(
        err.contains("cannot use the TLS certificate") && err.contains(missing),
        "{err}"
    );
    let pem = self_signed_pem("startup");
    let key = pem.key();
    let err = serve_error_with(&node.url(), ADDRESS, &["--tls-cert", key, "--tls-key", key]).await;
    assert!(err.contains("no CERTIFICATE block"), "{err}");

    // A node still in initial block download.
    node.set_initial_block_download(true);
    let err = serve_error(&node.url(), ADDRESS).await;
    assert!(err.contains("initial block download"), "{err}");

    // Neither a cookie nor a user.
    let Exit { code, stderr, .. } = tokio::task::spawn_blocking(|| {
        let args = [
            "serve",
            "--node",
            "http://127.0.0.1:1",
            "--address",
            ADDRESS,
        ];
        common::hashforge().run_within(&args, BOUND)
    })
    .await
    .unwrap();
    assert_eq!(code, Some(1), "a runtime failure: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_a_pool_and_stops_on_ctrl_c() {
    let node =
        ReplayNode::start(ReplayConfig::new(distinct_templates(1)).with_credentials("u", "p"))
            .await
            .unwrap();
    let cookie = std::env::temp_dir().join(format!(
        "hashforge-serve-test-{}.cookie",
        std::process::id()
    ));
    node.write_cookie(&cookie).unwrap();
    let cookie_arg = cookie.to_str().unwrap();
    let url = node.url();
    let mut args = vec!["serve", "--node", &url, "--rpc-cookie", cookie_arg];
    args.extend(SERVE_FLAGS);
    args.extend(["--status-interval", "0.3", "--log-level", "info"]);
    let mut serve = common::hashforge().spawn(&args);
    let mut lines = serve.stdout_lines();
    let stderr_text = serve.stderr_text();

    let result = tokio::time::timeout(Duration::from_secs(60), async {
        let first = lines.recv().await.expect("a first stdout line");
        let addr: SocketAddr = first
            .split("stratum+tcp://")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        assert!(addr.ip().is_loopback());
        let miner = TestMiner::start(addr, "rig1").await;
        let accepted = node.wait_for_submissions(1, Duration::from_secs(30)).await;
        assert_eq!(accepted.len(), 1);
        assert_eq!(node.accepted_blocks().len(), 1);
        // A status block shows the worker and its block.
        let mut saw = false;
        while let Some(line) = lines.recv().await {
            if line.starts_with("rig1") && line.trim_end().ends_with(" 1") {
                saw = true;
                break;
            }
        }
        assert!(saw, "status block with rig1's block");
        drop(miner);

        serve.interrupt();
        let exit = serve.exit_within(Duration::from_secs(20)).await;
        assert_eq!(exit.code(), Some(0), "clean exit on Ctrl-C");
        let mut rest = Vec::new();
        while let Ok(Some(line)) = tokio::time::timeout(Duration::from_secs(10), lines.recv()).await
        {
            rest.push(line);
        }
        assert!(
            rest.iter().any(|l| l.starts_with("total")),
            "final status: {rest:?}"
        );
    })
    .await;
    drop(serve);
    let _ = std::fs::remove_file(&cookie);
    let logs = stderr_text.lock().unwrap().clone();
    result.unwrap_or_else(|_| panic!("test timed out; stderr:\n{logs}"));
    assert!(logs.contains("accepted by the node"), "{logs}");
}

/// Checks a block the replay node accepted: it decodes, pays [`ADDRESS`], carries `tag`.
fn check_accepted_block(hex_block: &str, tag: &str) {
    let bytes = hex::decode(hex_block).unwrap();
    let block: bitcoin::Block = bitcoin::consensus::deserialize(&bytes).unwrap();
    assert!(block.check_merkle_root(), "merkle root");
    assert!(block.check_witness_commitment(), "witness commitment");
    let pays = block.txdata[0].output[0].script_pubkey.clone();
    assert_eq!(pays.as_bytes(), payout().as_bytes(), "payout script");
    assert!(
        script_sig_pushes(&block)
            .iter()
            .any(|p| p == tag.as_bytes()),
        "coinbase tag"
    );
}

/// A replay node with `templates` distinct templates and credentials u/p that moves to its next
/// template when a block is accepted, like a real chain tip.
async fn advancing_node(templates: usize) -> ReplayNode {
    hashforge_test_support::serve::advancing_node(distinct_templates(templates)).await
}

/// `hashforge mine --node`: solo mining on the replayed node; every block it finds is submitted
/// at once and accepted by the node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mine_node_solo_mines_blocks_the_node_accepts() {
    // More templates than blocks in 6 s (about 20 here), so the miner never runs out of tips.
    let node = advancing_node(40).await;
    let url = node.url();
    let miner = common::hashforge().spawn(&[
        "mine",
        // Several blocks even on a loaded machine: at the solo start difficulty (0.01, 43 M
        // hashes a block on regtest) a slow run could find none.
        "--suggest-difficulty",
        "0.002",
        "--node",
        &url,
        "--rpc-user",
        "u",
        "--rpc-pass",
        "p",
        "--address",
        ADDRESS,
        "--coinbase-tag",
        TAG,
        "-t",
        "1",
        "--duration",
        "6",
        "--status-interval",
        "1",
    ]);
    let Exit {
        code,
        stdout,
        stderr,
    } = miner.finish(Duration::from_secs(60)).await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let accepted = node.accepted_blocks();
    assert!(
        !accepted.is_empty(),
        "no block accepted\n{stdout}\n{stderr}"
    );
    let submitted = node.submitted_blocks();
    for block in &submitted {
        check_accepted_block(block, TAG);
    }
    // No stale blocks: after each accepted block the miner moves to the new tip, and nothing
    // found on the old one is sent.
    assert_eq!(submitted.len(), accepted.len(), "{stderr}");
    // The banner and the solo line are on stderr (stdout: status lines and the summary).
    assert!(stderr.contains("rejected 0"), "{stderr}");
    assert!(stderr.contains("solo mining on"), "{stderr}");
    assert!(
        stderr.contains(&format!("accepted {}", accepted.len())),
        "{stderr}"
    );
    assert!(
        stderr.contains("accepted by the node") || stderr.contains("accepted"),
        "{stderr}"
    );
}

/// `hashforge serve` on the replayed node with two `hashforge mine` workers: both find blocks,
/// every block is submitted, and each accepted block is valid and pays the address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_two_mine_workers_end_to_end() {
    // More templates than the workers use in their 6 s (about 100 here), so the race for
    // blocks lasts the whole run and a worker that starts late still gets its turns.
    let node = advancing_node(400).await;
    let (serve, mut lines, pool) = start_serve(&node.url(), &[]).await;
    let workers = common::spawn_workers(&pool, &["w1", "w2"], "6");
    let mut outputs = Vec::new();
    for w in workers {
        outputs.push(w.finish(Duration::from_secs(60)).await);
    }
    for Exit {
        code,
        stdout: out,
        stderr: err,
    } in &outputs
    {
        assert_eq!(*code, Some(0), "{out}\n{err}");
        assert!(out.lines().any(|l| l.contains("| A ")), "{out}");
        assert!(out.contains("final summary"), "{out}");
    }
    let blocks = blocks_per_worker(&mut lines, &["w1", "w2"]).await;
    assert!(
        blocks.get("w1") > Some(&0) && blocks.get("w2") > Some(&0),
        "blocks per worker: {blocks:?}"
    );
    let accepted = node.accepted_blocks();
    assert!(accepted.len() >= 2, "{accepted:?}");
    for block in node.submitted_blocks() {
        check_accepted_block(&block, TAG);
    }
    drop(serve);
}

/// Starts `hashforge serve` on the replay node at `node_url` (credentials u/p, difficulty
/// 0.0001, a status block every second) with `extra` flags; returns it, its stdout lines, and
/// the pool URL it printed first.
async fn start_serve(
    node_url: &str,
    extra: &[&str],
) -> (Running, mpsc::UnboundedReceiver<String>, String) {
    let mut args = serve_with_user(node_url);
    args.extend(SERVE_FLAGS);
    args.extend(["--status-interval", "1"]);
    args.extend_from_slice(extra);
    let serve = common::start_serve(&args, Duration::from_secs(30)).await;
    (serve.process, serve.lines, serve.pool)
}

/// Reads serve's status blocks (each worker with its block count in the last column) until
/// every one of `workers` has a block, or 10 s pass; returns the last counts seen.
async fn blocks_per_worker(
    lines: &mut mpsc::UnboundedReceiver<String>,
    workers: &[&str],
) -> HashMap<String, u64> {
    let mut blocks: HashMap<String, u64> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !workers.iter().all(|w| blocks.get(*w) > Some(&0)) {
        let Ok(Some(line)) = tokio::time::timeout(Duration::from_secs(2), lines.recv()).await
        else {
            break;
        };
        let cols: Vec<&str> = line.split_whitespace().collect();
        if let (Some(&name), Some(n)) = (
            cols.first(),
            cols.last().and_then(|c| c.parse::<u64>().ok()),
        ) {
            if workers.contains(&name) {
                blocks.insert(name.to_string(), n);
            }
        }
    }
    blocks
}

/// `hashforge serve --tls-cert/--tls-key`: a worker mines over stratum+ssl:// and its blocks
/// reach the node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_over_tls_with_a_pem_certificate() {
    let node = advancing_node(400).await;
    let pem = self_signed_pem("serve-tls");
    let (cert, key) = (pem.cert(), pem.key());
    let (serve, mut lines, pool) =
        start_serve(&node.url(), &["--tls-cert", cert, "--tls-key", key]).await;
    assert!(pool.starts_with("stratum+ssl://127.0.0.1:"), "{pool}");
    let worker = common::hashforge().spawn(&[
        "mine",
        "-o",
        &pool,
        "--tls-insecure",
        "-u",
        "tls1",
        "-p",
        "x",
        "-t",
        "1",
        "--duration",
        "4",
    ]);
    let Exit {
        code,
        stdout: out,
        stderr: err,
    } = worker.finish(Duration::from_secs(60)).await;
    assert_eq!(code, Some(0), "{out}\n{err}");
    let blocks = blocks_per_worker(&mut lines, &["tls1"]).await;
    assert!(blocks.get("tls1") > Some(&0), "blocks: {blocks:?}\n{out}");
    let submitted = node.submitted_blocks();
    assert!(!submitted.is_empty());
    for block in submitted {
        check_accepted_block(&block, TAG);
    }
    drop(serve);
}
