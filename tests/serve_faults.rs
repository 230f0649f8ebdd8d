//! The solo pool under faults, load and hostile input (issue 10): a replay node on 127.0.0.1,
//! our Stratum server fed by [`NodeFeed`], and raw Stratum peers scripted line by line.
//!
//! Regtest bits `207fffff` make about every second hash a block; the share difficulty is low
//! enough that a share takes a few thousand hashes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hashforge::node::{RpcAuth, RpcClient, RpcConfig};
use hashforge::pool::{NodeFeed, NodeFeedHandle, NodeFeedOptions};
use hashforge_stratum::messages::{Notify, ServerMessage};
use hashforge_stratum::{Job, Server, ServerConfig, ServerHandle};
use hashforge_test_support::replay::{ReplayConfig, ReplayNode};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// A regtest address (P2WPKH).
const ADDRESS: &str = "bcrt1q92v6550wrjqhldxwc2cvqlqm77wmzufv4dq433";
/// About 4 300 hashes per share.
const SHARE_DIFFICULTY: f64 = 1e-6;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Server on 127.0.0.1:0 plus a feed from `node`.
async fn start_pool(node: &ReplayNode) -> (Arc<ServerHandle>, NodeFeedHandle) {
    let rpc = RpcClient::new(RpcConfig::new(&node.url(), RpcAuth::None).unwrap());
    let (_, payout) = rpc.check_ready(ADDRESS).await.unwrap();
    let config = ServerConfig {
        start_difficulty: SHARE_DIFFICULTY,
        min_difficulty: 1e-9,
        vardiff: None,
        ..ServerConfig::default()
    };
    let (server, events) = Server::bind("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let server = Arc::new(server);
    let options = NodeFeedOptions {
        poll_interval: Duration::from_millis(200),
        ..NodeFeedOptions::default()
    };
    let feed = NodeFeed::start(rpc, payout, options, server.clone(), events)
        .await
        .unwrap();
    (server, feed)
}

/// A raw Stratum peer: JSON lines over TCP.
struct Peer {
    lines: tokio::io::Lines<BufReader<OwnedReadHalf>>,
    wr: OwnedWriteHalf,
}

impl Peer {
    async fn connect(addr: SocketAddr) -> Peer {
        let (rd, wr) = TcpStream::connect(addr).await.unwrap().into_split();
        Peer {
            lines: BufReader::new(rd).lines(),
            wr,
        }
    }

    async fn send(&mut self, v: Value) {
        self.wr
            .write_all(format!("{v}\n").as_bytes())
            .await
            .unwrap();
    }

    /// The next line (5 s limit); `None` once the server hung up.
    async fn recv(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(Duration::from_secs(5), self.lines.next_line())
            .await
            .expect("timed out waiting for a line")
            .ok()??;
        Some(serde_json::from_str(&line).unwrap())
    }

    /// Reads up to the response with this id, keeping the notifications seen meanwhile.
    async fn response(&mut self, id: u64, seen: &mut Vec<Value>) -> Value {
        loop {
            let v = self.recv().await.expect("connection open");
            if v["id"] == id && v.get("method").is_none() {
                return v;
            }
            seen.push(v);
        }
    }
}

/// Subscribes and authorizes `worker`; returns the first job.
async fn handshake(p: &mut Peer, worker: &str) -> Job {
    let mut seen = Vec::new();
    p.send(json!({"id": 1, "method": "mining.subscribe", "params": ["faults/1"]}))
        .await;
    let r = p.response(1, &mut seen).await;
    let en1 = hex::decode(r["result"][1].as_str().unwrap()).unwrap();
    p.send(json!({"id": 2, "method": "mining.authorize", "params": [worker, "x"]}))
        .await;
    assert_eq!(p.response(2, &mut seen).await["result"], true);
    while !seen.iter().any(|v| v["method"] == "mining.notify") {
        seen.push(p.recv().await.expect("a job"));
    }
    let mut difficulty = 0.0;
    let mut job = None;
    for v in &seen {
        match ServerMessage::parse_line(&v.to_string()).unwrap() {
            ServerMessage::SetDifficulty(d) => difficulty = d,
            ServerMessage::Notify(n) => job = Some(n),
            _ => {}
        }
    }
    let notify: Notify = job.unwrap();
    Job::new(notify, en1, 8, difficulty, None)
}

/// A `mining.submit` for a nonce (of `extranonce2`) that meets both the share target and the
/// network target: a block.
fn block_submit(id: u64, worker: &str, job: &Job, extranonce2: [u8; 8]) -> Value {
    let ntime = job.notify.ntime;
    let version = job.notify.version;
    let network =
        hashforge_bitcoin::Target::from_compact(hashforge_bitcoin::CompactTarget(job.notify.nbits))
            .unwrap();
    let nonce = (0..u32::MAX)
        .find(|n| {
            let h = job
                .header(&extranonce2, ntime, *n, version)
                .unwrap()
                .block_hash();
            job.share_target().is_met_by(&h) && network.is_met_by(&h)
        })
        .unwrap();
    json!({"id": id, "method": "mining.submit", "params": [
        worker, job.id(), hex::encode(extranonce2), format!("{ntime:08x}"), format!("{nonce:08x}")
    ]})
}

/// Issue 10, 1: the node takes seconds to answer `submitblock` while another connection floods
/// the server with shares. Every block still reaches the node (a second one on the same tip
/// after waiting at most 2 s for the first's answer), and the worker that found one gets its
/// answer at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_node_and_a_share_flood_lose_no_block() {
    let mut config = ReplayConfig::new(vec![fixture("gbt-regtest-empty.json")]);
    config.submit_delay = Duration::from_secs(6);
    let node = ReplayNode::start(config).await.unwrap();
    let (server, feed) = start_pool(&node).await;
    let addr = server.local_addr();

    let mut worker = Peer::connect(addr).await;
    let job = handshake(&mut worker, "alice").await;
    // The first block keeps the node busy.
    worker.send(block_submit(10, "alice", &job, [0; 8])).await;
    assert_eq!(worker.response(10, &mut Vec::new()).await["result"], true);

    // Another connection sends 3 000 shares (rejected: it never subscribed), read back in full
    // so that every one of them became a server event.
    let mut flood = Peer::connect(addr).await;
    let flooded = tokio::spawn(async move {
        let submit = json!({"id": 1, "method": "mining.submit",
            "params": ["x", "1", "0000000000000000", "00000000", "00000000"]});
        let batch = format!("{submit}\n").repeat(3_000);
        flood.wr.write_all(batch.as_bytes()).await.unwrap();
        for _ in 0..3_000 {
            flood.recv().await.expect("an answer per share");
        }
        flood
    });
    let _flood = flooded.await.unwrap();

    // The second block: answered at once, not after the node's answer to the first.
    let asked = Instant::now();
    worker.send(block_submit(11, "alice", &job, [1; 8])).await;
    assert_eq!(worker.response(11, &mut Vec::new()).await["result"], true);
    let waited = asked.elapsed();
    assert!(
        waited < Duration::from_secs(1),
        "a found block held its worker for {waited:?}"
    );

    let blocks = node.wait_for_submissions(2, Duration::from_secs(12)).await;
    assert_eq!(blocks.len(), 2, "both blocks reach the node: {blocks:?}");
    assert_ne!(blocks[0], blocks[1]);
    feed.stop().await;
    server.shutdown().await;
}

/// Two blocks found on one tip, the second before the node answered the first: the node
/// accepts the first, and the second (which could only be an orphan) is counted as superseded
/// and not sent, so the node never rejects a block of ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_block_on_a_won_tip_is_not_sent() {
    let node = ReplayNode::start(ReplayConfig::new(vec![fixture("gbt-regtest-empty.json")]))
        .await
        .unwrap();
    let (server, feed) = start_pool(&node).await;
    let mut worker = Peer::connect(server.local_addr()).await;
    let job = handshake(&mut worker, "alice").await;
    let (first, second) = (
        block_submit(10, "alice", &job, [0; 8]),
        block_submit(11, "alice", &job, [1; 8]),
    );
    worker.send(first).await;
    worker.send(second).await;
    assert_eq!(worker.response(10, &mut Vec::new()).await["result"], true);
    assert_eq!(worker.response(11, &mut Vec::new()).await["result"], true);

    let mut stats = feed.subscribe();
    let counted = tokio::time::timeout(
        Duration::from_secs(10),
        stats.wait_for(|s| s.blocks_found == 2),
    )
    .await
    .expect("both blocks counted")
    .unwrap()
    .clone();
    assert_eq!(counted.blocks_accepted, 1, "{counted:?}");
    assert_eq!(counted.blocks_superseded, 1, "{counted:?}");
    assert_eq!(counted.blocks_rejected, 0, "{counted:?}");
    assert_eq!(node.submitted_blocks().len(), 1);
    feed.stop().await;
    server.shutdown().await;
}

/// Issue 10, 14: templates no block could come from, or too big for a block, are refused
/// with a line naming the field.
#[test]
fn impossible_templates_are_refused() {
    use hashforge::node::BlockTemplate;
    let good = fixture("gbt-regtest-6tx.json");
    assert!(BlockTemplate::from_json(&good).is_ok());
    let refused = |t: &Value, field: &str| {
        let err = BlockTemplate::from_json(t)
            .expect_err("refused")
            .to_string();
        assert!(err.contains(field), "{err}");
    };
    // Target zero: no hash meets it.
    let mut t = good.clone();
    t["bits"] = json!("00000000");
    t.as_object_mut().unwrap().remove("target");
    refused(&t, "bits");
    // Above the easiest proof-of-work limit (regtest's).
    let mut t = good.clone();
    t["bits"] = json!("2100ffff");
    t.as_object_mut().unwrap().remove("target");
    refused(&t, "bits");
    for height in [0u64, 4_294_967_295] {
        let mut t = good.clone();
        t["height"] = json!(height);
        refused(&t, "height");
    }
    // More than 4 million weight units of transactions.
    let mut t = good.clone();
    let tx = t["transactions"][0].clone();
    t["transactions"] = json!(vec![tx; 8_000]);
    refused(&t, "transactions");
}
