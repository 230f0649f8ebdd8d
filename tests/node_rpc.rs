//! The JSON-RPC client against the replay node serving real Bitcoin Core 30.3 templates.
//!
//! Every server binds 127.0.0.1 port 0 and stops when its `ReplayNode` is dropped; every
//! test is bounded by a timeout.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bitcoin::Network;
use hashforge::node::block::{BlockBuilder, CoinbaseOptions, PayoutScript};
use hashforge::node::rpc::PollMode;
use hashforge::node::{
    BlockTemplate, JsonRpcVersion, RpcAuth, RpcClient, RpcConfig, RpcError, SubmitOutcome,
    TemplateError, TemplatePoller,
};
use hashforge_test_support::replay::{Fault, ReplayConfig, ReplayNode};
use serde_json::{json, Value};

const USER: &str = "hashforge";
const PASS: &str = "s3cret";
const REGTEST_ADDR: &str = "bcrt1q92v6550wrjqhldxwc2cvqlqm77wmzufv4dq433";
const LIMIT: Duration = Duration::from_secs(10);

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn templates() -> Vec<Value> {
    [
        "gbt-regtest-h201-empty.json",
        "gbt-regtest-h203-7tx.json",
        "gbt-regtest-h204-60tx.json",
    ]
    .iter()
    .map(|n| fixture(n))
    .collect()
}

async fn node() -> ReplayNode {
    ReplayNode::start(ReplayConfig::new(templates()).with_credentials(USER, PASS))
        .await
        .unwrap()
}

/// A node without credentials.
async fn open_node() -> ReplayNode {
    ReplayNode::start(ReplayConfig::new(templates()))
        .await
        .unwrap()
}

/// A node's configuration (u/p credentials) that moves to the next template on every
/// accepted block.
fn advancing_config() -> ReplayConfig {
    let mut config = ReplayConfig::new(templates()).with_credentials(USER, PASS);
    config.advance_on_submit = true;
    config
}

fn client_for(node: &ReplayNode, auth: RpcAuth) -> RpcClient {
    let mut config = RpcConfig::new(&node.url(), auth).unwrap();
    config.request_timeout = LIMIT;
    config.longpoll_timeout = LIMIT;
    RpcClient::new(config)
}

fn user_pass(user: &str, password: &str) -> RpcAuth {
    RpcAuth::UserPass {
        user: user.into(),
        password: password.into(),
    }
}

/// A JSON-RPC error reply.
fn rpc_error(code: i64, message: &str) -> Fault {
    Fault::RpcError {
        code,
        message: message.into(),
    }
}

fn client(node: &ReplayNode) -> RpcClient {
    client_for(node, user_pass(USER, PASS))
}

/// [`node`] and its [`client`].
async fn node_and_client() -> (ReplayNode, RpcClient) {
    let node = node().await;
    let c = client(&node);
    (node, c)
}

/// Runs a test body under a hard time limit.
async fn bounded<F: std::future::Future<Output = T>, T>(f: F) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("test took too long")
}

fn temp_path(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    std::env::temp_dir().join(format!(
        "hashforge-node-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

#[tokio::test]
async fn basic_auth_fetches_the_real_template() {
    bounded(async {
        let (node, c) = node_and_client().await;
        let t = c.get_block_template().await.unwrap();
        assert_eq!(t, BlockTemplate::from_json(&templates()[0]).unwrap());
        assert_eq!(t.height, 201);
        let req = &node.requests()[0];
        assert_eq!(req.method, "getblocktemplate");
        assert_eq!(req.params, json!([{"rules": ["segwit"]}]));

        let info = c.get_blockchain_info().await.unwrap();
        assert_eq!(info.network, Network::Regtest);
        assert_eq!(info.blocks, 200);
        assert!(!info.initial_block_download);
        let (_, payout) = c.check_ready(REGTEST_ADDR).await.unwrap();
        assert_eq!(
            hex::encode(payout.as_bytes()),
            "00142a99aa51ee1c817fb4cec2b0c07c1bf79db1712c"
        );
    })
    .await
}

#[tokio::test]
async fn json_rpc_2_works_and_reports_errors() {
    bounded(async {
        let node = node().await;
        let mut config = RpcConfig::new(&node.url(), user_pass(USER, PASS)).unwrap();
        config.version = JsonRpcVersion::V2;
        let c = RpcClient::new(config);
        assert_eq!(c.get_block_template().await.unwrap().height, 201);
        node.fail_next(rpc_error(-8, "bad param"));
        let e = c.get_block_template().await.unwrap_err();
        assert!(
            matches!(&e, RpcError::Rpc { code: -8, message } if message == "bad param"),
            "{e}"
        );
        let e = c.call("nosuchmethod", json!([])).await.unwrap_err();
        assert!(matches!(e, RpcError::Rpc { code: -32601, .. }), "{e}");
    })
    .await
}

#[tokio::test]
async fn cookie_file_auth() {
    bounded(async {
        let node = node().await;
        let path = temp_path(".cookie");
        node.write_cookie(&path).unwrap();
        let c = client_for(&node, RpcAuth::CookieFile(path.clone()));
        assert_eq!(c.get_block_template().await.unwrap().height, 201);

        // A stale cookie (node restarted with a new one) is a 401.
        std::fs::write(&path, format!("__cookie__:{}\n", "ab".repeat(32))).unwrap();
        assert!(matches!(
            c.get_block_template().await,
            Err(RpcError::Unauthorized)
        ));
        // Garbage and missing cookie files are cookie errors.
        std::fs::write(&path, "no colon here").unwrap();
        let e = c.get_block_template().await.unwrap_err();
        assert!(matches!(e, RpcError::Cookie { .. }), "{e}");
        std::fs::remove_file(&path).unwrap();
        let e = c.get_block_template().await.unwrap_err();
        assert!(matches!(e, RpcError::Cookie { .. }), "{e}");
        assert!(e.to_string().contains(".cookie"), "{e}");
    })
    .await
}

#[tokio::test]
async fn wrong_or_missing_credentials_are_unauthorized() {
    bounded(async {
        let node = node().await;
        for auth in [
            user_pass(USER, "wrong"),
            user_pass("other", PASS),
            RpcAuth::None,
        ] {
            let e = client_for(&node, auth)
                .get_block_template()
                .await
                .unwrap_err();
            assert!(matches!(e, RpcError::Unauthorized), "{e}");
            assert!(e.to_string().contains("401"));
        }
        assert!(node.requests().is_empty());
    })
    .await
}

#[tokio::test]
async fn connection_refused() {
    bounded(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let c = RpcClient::new(
            RpcConfig::new(&format!("127.0.0.1:{}", addr.port()), RpcAuth::None).unwrap(),
        );
        let e = c.get_block_template().await.unwrap_err();
        assert!(
            matches!(&e, RpcError::ConnectionRefused { addr: a } if *a == addr.to_string()),
            "{e}"
        );
        assert!(e.is_transient());
    })
    .await
}

#[tokio::test]
async fn initial_block_download() {
    bounded(async {
        let (node, c) = node_and_client().await;
        node.set_initial_block_download(true);
        let e = c.get_block_template().await.unwrap_err();
        assert!(matches!(e, RpcError::InitialBlockDownload { .. }), "{e}");
        assert!(e.to_string().contains("initial block download"));
        let e = c.check_ready(REGTEST_ADDR).await.unwrap_err();
        assert!(matches!(e, RpcError::InitialBlockDownload { .. }), "{e}");
        node.set_initial_block_download(false);
        assert!(c.check_ready(REGTEST_ADDR).await.is_ok());
    })
    .await
}

#[tokio::test]
async fn payout_address_for_the_wrong_network() {
    bounded(async {
        let mut config = ReplayConfig::new(templates());
        config.chain = "main".into();
        let node = ReplayNode::start(config).await.unwrap();
        let c = client_for(&node, RpcAuth::None);
        let e = c.check_ready(REGTEST_ADDR).await.unwrap_err();
        assert!(
            matches!(
                &e,
                RpcError::WrongNetwork {
                    network: Network::Bitcoin,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains(REGTEST_ADDR));
        let e = c.check_ready("bc1-garbage").await.unwrap_err();
        assert!(matches!(e, RpcError::InvalidAddress { .. }), "{e}");

        let node = open_node().await;
        let c = client_for(&node, RpcAuth::None);
        // A mainnet address on a regtest node.
        let mainnet = bitcoin::Address::p2wsh(bitcoin::Script::new(), Network::Bitcoin).to_string();
        let e = c.check_ready(&mainnet).await.unwrap_err();
        assert!(
            matches!(
                &e,
                RpcError::WrongNetwork {
                    network: Network::Regtest,
                    ..
                }
            ),
            "{e}"
        );
    })
    .await
}

#[tokio::test]
async fn rpc_error_objects_are_typed() {
    bounded(async {
        let (node, c) = node_and_client().await;
        node.fail_next(rpc_error(-28, "Loading block index..."));
        let e = c.get_block_template().await.unwrap_err();
        assert!(
            matches!(&e, RpcError::Rpc { code: -28, message } if message == "Loading block index..."),
            "{e}"
        );
        assert!(e.is_transient());
        assert_eq!(
            e.to_string(),
            "node returned RPC error -28: Loading block index..."
        );
        node.fail_next(rpc_error(-10, "Bitcoin Core is in initial sync and waiting for blocks..."));
        assert!(matches!(
            c.get_block_template().await,
            Err(RpcError::InitialBlockDownload { .. })
        ));
    })
    .await
}

#[tokio::test]
async fn broken_replies_are_typed_errors() {
    bounded(async {
        let (node, c) = node_and_client().await;

        // Each fault, and whether the error it gives is the expected one.
        type Expected = fn(&RpcError) -> bool;
        let template_faults: [(Fault, Expected); 7] = [
            (Fault::MalformedJson, |e| matches!(e, RpcError::BadJson(_))),
            (Fault::TruncatedBody, |e| {
                matches!(
                    e,
                    RpcError::Truncated {
                        expected: Some(500),
                        ..
                    }
                )
            }),
            (Fault::GarbageHttp, |e| matches!(e, RpcError::BadHttp(_))),
            (Fault::Close, |e| matches!(e, RpcError::BadHttp(_))),
            (Fault::HttpStatus(403), |e| {
                matches!(e, RpcError::HttpStatus { status: 403, .. })
            }),
            (Fault::Result(json!({"version": 1})), |e| {
                matches!(e, RpcError::Template(TemplateError::MissingField(_)))
            }),
            (Fault::Result(json!("not a template")), |e| {
                matches!(e, RpcError::Template(TemplateError::NotAnObject))
            }),
        ];
        for (fault, expected) in template_faults {
            let what = format!("{fault:?}");
            node.fail_next(fault);
            let e = c.get_block_template().await.unwrap_err();
            assert!(expected(&e), "{what}: {e}");
        }

        // Replies of the wrong shape for getblockchaininfo and submitblock.
        for (reply, call) in [
            (json!({"chain": "regtest"}), "getblockchaininfo"),
            (json!({"chain": "moon", "blocks": 1}), "getblockchaininfo"),
            (json!(42), "submitblock"),
        ] {
            node.fail_next(Fault::Result(reply));
            let e = match call {
                "submitblock" => c.submit_block(&[0u8; 81]).await.unwrap_err(),
                _ => c.get_blockchain_info().await.unwrap_err(),
            };
            assert!(matches!(e, RpcError::BadField { .. }), "{call}: {e}");
        }

        // Each message is one line.
        for e in [
            RpcError::BadJson("x".into()),
            RpcError::Unauthorized,
            RpcError::Truncated {
                expected: Some(5),
                got: 1,
            },
        ] {
            assert!(!e.to_string().contains('\n'));
        }

        // The node still works afterwards.
        assert_eq!(c.get_block_template().await.unwrap().height, 201);
    })
    .await
}

#[tokio::test]
async fn reply_size_is_bounded() {
    bounded(async {
        let node = ReplayNode::start(ReplayConfig::new(vec![fixture(
            "gbt-regtest-h204-60tx.json",
        )]))
        .await
        .unwrap();
        let mut config = RpcConfig::new(&node.url(), RpcAuth::None).unwrap();
        config.max_reply_bytes = 4096;
        let e = RpcClient::new(config)
            .get_block_template()
            .await
            .unwrap_err();
        assert!(matches!(e, RpcError::ReplyTooLarge { limit: 4096 }), "{e}");
    })
    .await
}

#[tokio::test]
async fn long_poll_waits_for_a_new_template() {
    bounded(async {
        let mut config = ReplayConfig::new(templates()).with_credentials(USER, PASS);
        config.longpoll_hold = Duration::from_secs(8);
        let node = ReplayNode::start(config).await.unwrap();
        let c = client(&node);
        let first = c.get_block_template().await.unwrap();
        let id = first.longpoll_id.clone().unwrap();

        let poll = c.get_block_template_longpoll(&id);
        tokio::pin!(poll);
        // Held while nothing changes.
        assert!(tokio::time::timeout(Duration::from_millis(300), &mut poll)
            .await
            .is_err());
        let started = Instant::now();
        assert!(node.advance());
        let next = poll.await.unwrap();
        // Well under the 8 s hold, with room for a loaded CI machine.
        assert!(started.elapsed() < Duration::from_secs(4));
        assert_eq!(next.height, 203);
        let req = node.requests().last().unwrap().clone();
        assert_eq!(req.params, json!([{"rules": ["segwit"], "longpollid": id}]));

        // A stale longpollid is answered at once.
        let started = Instant::now();
        assert_eq!(
            c.get_block_template_longpoll(&id).await.unwrap().height,
            203
        );
        // Well under the 8 s hold, with room for a loaded CI machine.
        assert!(started.elapsed() < Duration::from_secs(4));
    })
    .await
}

#[tokio::test]
async fn long_poll_gives_up_after_its_timeout() {
    bounded(async {
        let node = open_node().await;
        let mut config = RpcConfig::new(&node.url(), RpcAuth::None).unwrap();
        config.longpoll_timeout = Duration::from_millis(200);
        let c = RpcClient::new(config);
        let id = c.get_block_template().await.unwrap().longpoll_id.unwrap();
        let e = c.get_block_template_longpoll(&id).await.unwrap_err();
        assert!(matches!(e, RpcError::Timeout { .. }), "{e}");
    })
    .await
}

#[tokio::test]
async fn poller_long_polls_then_falls_back_to_interval_polling() {
    bounded(async {
        let mut config = ReplayConfig::new(templates());
        config.longpoll_hold = Duration::from_secs(8);
        let node = ReplayNode::start(config).await.unwrap();
        let c = client_for(&node, RpcAuth::None);
        let mut poller = TemplatePoller::new(c.clone(), Duration::from_millis(100))
            .with_longpoll_retry(Duration::from_millis(400));
        assert_eq!(poller.next().await.unwrap().height, 201);
        assert_eq!(poller.mode(), PollMode::LongPoll);

        // The second call blocks until the node has a new template.
        let push = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            node.advance();
        };
        let (t, ()) = tokio::join!(poller.next(), push);
        assert_eq!(t.unwrap().height, 203);

        // The long poll breaks: one plain getblocktemplate after the poll interval instead.
        node.fail_next(Fault::GarbageHttp);
        let started = Instant::now();
        assert_eq!(poller.next().await.unwrap().height, 203);
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert_eq!(poller.mode(), PollMode::Interval);
        assert!(poller
            .last_longpoll_error()
            .unwrap()
            .contains("malformed HTTP"));
        // Interval polling goes on (no waiting for a change)...
        assert_eq!(poller.next().await.unwrap().height, 203);
        assert_eq!(poller.mode(), PollMode::Interval);
        // ...until it is time to try long polling again.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let push = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            node.advance();
        };
        let (t, ()) = tokio::join!(poller.next(), push);
        assert_eq!(t.unwrap().height, 204);
        assert_eq!(poller.mode(), PollMode::LongPoll);

        // Plain getblocktemplate errors are returned, not hidden.
        node.set_initial_block_download(true);
        node.fail_next(Fault::Close);
        let e = poller.next().await.unwrap_err();
        assert!(matches!(e, RpcError::InitialBlockDownload { .. }), "{e}");
    })
    .await
}

#[tokio::test]
async fn submitblock_sends_the_fixture_block() {
    bounded(async {
        let node = ReplayNode::start(advancing_config()).await.unwrap();
        let c = client(&node);
        let template = c.get_block_template().await.unwrap();
        let expected = fixture("block-regtest-h201-empty.json");
        let payout = PayoutScript::from_address(REGTEST_ADDR, Network::Regtest).unwrap();
        let options = CoinbaseOptions {
            extranonce_len: 8,
            tag: b"/hashforge-fixture/".to_vec(),
        };
        let builder = BlockBuilder::new(&template, &payout, &options).unwrap();
        let nonce = expected["nonce"].as_u64().unwrap() as u32;
        let header = builder.header(&[0u8; 8], builder.time(), nonce).unwrap();
        let block = builder.assemble_block(&header, &[0u8; 8]).unwrap();

        assert_eq!(
            c.submit_block(&block).await.unwrap(),
            SubmitOutcome::Accepted
        );
        assert_eq!(
            node.submitted_blocks(),
            vec![expected["hex"].as_str().unwrap().to_string()]
        );
        // Accepted: the node moved on to the next template.
        assert_eq!(c.get_block_template().await.unwrap().height, 203);

        // The same block again: Bitcoin Core's answer.
        assert_eq!(
            c.submit_block(&block).await.unwrap(),
            SubmitOutcome::Rejected("duplicate".into())
        );
        // A forced reject reason is returned as such.
        node.set_submit_reply(Some("bad-txns-inputs-missingorspent".into()));
        assert_eq!(
            c.submit_block(&block).await.unwrap(),
            SubmitOutcome::Rejected("bad-txns-inputs-missingorspent".into())
        );
        assert_eq!(node.submitted_blocks().len(), 3);
        assert_eq!(node.accepted_blocks().len(), 1);
        assert_eq!(
            node.accepted_blocks()[0].to_string(),
            expected["hash"].as_str().unwrap()
        );
        assert_eq!(c.get_block_template().await.unwrap().height, 203);
    })
    .await
}

#[tokio::test]
async fn replay_node_rejects_invalid_blocks_like_core() {
    bounded(async {
        let node = open_node().await;
        let c = client_for(&node, RpcAuth::None);
        let template = c.get_block_template().await.unwrap();
        let payout = PayoutScript::from_address(REGTEST_ADDR, Network::Regtest).unwrap();
        let options = CoinbaseOptions {
            extranonce_len: 8,
            tag: b"/hashforge-fixture/".to_vec(),
        };
        let builder = BlockBuilder::new(&template, &payout, &options).unwrap();
        let en = [0u8; 8];
        // Nonce 0 does not meet the regtest target for this template (the fixture needed 1).
        let header = builder.header(&en, builder.time(), 0).unwrap();
        assert!(!builder.meets_target(&header));
        let block = builder.assemble_block(&header, &en).unwrap();
        assert_eq!(
            c.submit_block(&block).await.unwrap(),
            SubmitOutcome::Rejected("high-hash".into())
        );
        // A header for another extranonce than the coinbase carries.
        let mut nonce = 0;
        let header = loop {
            let h = builder.header(&[1u8; 8], builder.time(), nonce).unwrap();
            if builder.meets_target(&h) {
                break h;
            }
            nonce += 1;
        };
        let block = builder.assemble_block(&header, &en).unwrap();
        assert_eq!(
            c.submit_block(&block).await.unwrap(),
            SubmitOutcome::Rejected("bad-txnmrklroot".into())
        );
        // Not a block at all: Core's RPC error -22.
        let e = c.submit_block(&[1, 2, 3]).await.unwrap_err();
        assert!(matches!(e, RpcError::Rpc { code: -22, .. }), "{e}");

        let waited = node.wait_for_submissions(3, Duration::from_secs(1)).await;
        assert_eq!(waited.len(), 3);
        assert!(node.accepted_blocks().is_empty());
        assert_eq!(
            c.call("getbestblockhash", json!([])).await.unwrap(),
            templates()[0]["previousblockhash"]
        );
        assert_eq!(
            c.call("getblockcount", json!([])).await.unwrap(),
            json!(200)
        );
    })
    .await
}

#[tokio::test]
async fn node_urls_are_checked() {
    for (url, ok) in [
        ("127.0.0.1:18443", true),
        ("http://127.0.0.1:18443", true),
        ("http://localhost:8332/wallet/w1", true),
        ("https://127.0.0.1:8332", false),
        ("ftp://host:1", false),
        ("http://user:pw@127.0.0.1:8332", false),
        ("127.0.0.1", false),
        ("127.0.0.1:notaport", false),
    ] {
        let r = RpcConfig::new(url, RpcAuth::None);
        assert_eq!(r.is_ok(), ok, "{url}");
        if let Err(e) = r {
            assert!(matches!(e, RpcError::InvalidUrl { .. }));
        }
    }
    let c = RpcConfig::new("http://localhost:8332/wallet/w1", RpcAuth::None).unwrap();
    assert_eq!(c.addr, "localhost:8332");
    assert_eq!(c.path, "/wallet/w1");
}

/// A one-shot server on 127.0.0.1 that answers every connection with `reply`, then closes.
async fn raw_server(reply: Vec<u8>) -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let _ = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await;
            let _ = s.write_all(&reply).await;
            let _ = s.shutdown().await;
        }
    });
    (addr, task)
}

async fn raw_reply_error(reply: &[u8]) -> RpcError {
    let (addr, task) = raw_server(reply.to_vec()).await;
    let mut config = RpcConfig::new(&addr, RpcAuth::None).unwrap();
    config.request_timeout = Duration::from_secs(5);
    config.max_reply_bytes = 1 << 16;
    let r = RpcClient::new(config)
        .call("getblocktemplate", json!([]))
        .await;
    task.abort();
    r.expect_err("a broken reply must be an error")
}

#[tokio::test]
async fn garbage_http_replies_never_panic() {
    bounded(async {
        let cases: Vec<(&[u8], &str)> = vec![
            (b"", "BadHttp"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", "BadHttp"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", "BadHttp"),
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "BadHttp"),
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "Truncated"),
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "BadHttp"),
            (b"HTTP/1.1 99999 Nope\r\n\r\n", "BadHttp"),
            (b"HTTP/1.1 200 OK\r\nno-colon-header\r\n\r\n", "BadHttp"),
            (b"HTTP/1.1 200 OK\r\nX: \xff\xfe\r\n\r\n", "BadHttp"),
            (b"HTTP/1.1 200 OK\r\nContent-Len", "Truncated"),
            (b"HTTP/1.1 200 OK\r\n\r\n[1,2,3]", "BadJson"),
            (b"HTTP/1.1 200 OK\r\n\r\n{\"result\":null,\"error\":\"oops\",\"id\":1}", "BadJson"),
            (b"HTTP/1.1 200 OK\r\n\r\n{\"result\":null,\"error\":null,\"id\":999}", "BadField"),
            (b"HTTP/1.1 200 OK\r\n\r\n{\"error\":null,\"id\":1}", "BadField"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n", "ReplyTooLarge"),
            (b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 26\r\n\r\nWork queue depth exceeded\n", "HttpStatus"),
            (b"HTTP/1.1 500 Internal Server Error\r\n\r\n{\"result\":null,\"error\":{\"code\":-1,\"message\":\"x\"},\"id\":1}", "Rpc"),
        ];
        for (reply, kind) in cases {
            let e = raw_reply_error(reply).await;
            let got = format!("{e:?}");
            assert!(got.starts_with(kind), "{:?}: expected {kind}, got {got}", String::from_utf8_lossy(reply));
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        // A header section without end is bounded.
        let mut endless = b"HTTP/1.1 200 OK\r\n".to_vec();
        endless.extend(vec![b'a'; 40_000]);
        assert!(matches!(raw_reply_error(&endless).await, RpcError::ReplyTooLarge { .. }));

        // Random bytes, with and without a plausible start.
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for i in 0..60 {
            let len = rng.gen_range(0..300);
            let mut reply: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            if i % 2 == 0 {
                let mut start = b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n".to_vec();
                start.append(&mut reply);
                reply = start;
            }
            let _ = raw_reply_error(&reply).await;
        }
    })
    .await
}

#[tokio::test]
async fn set_a_blocks_mined_in_sequence_through_the_poller() {
    bounded(async {
        let mut config = advancing_config();
        config.longpoll_hold = Duration::from_secs(5);
        let node = ReplayNode::start(config).await.unwrap();
        let c = client(&node);
        let (_, payout) = c.check_ready(REGTEST_ADDR).await.unwrap();
        let options = CoinbaseOptions {
            extranonce_len: 8,
            tag: b"/hashforge-fixture/".to_vec(),
        };
        let mut poller = TemplatePoller::new(c.clone(), Duration::from_secs(1));
        for name in [
            "block-regtest-h201-empty.json",
            "block-regtest-h203-7tx.json",
            "block-regtest-h204-60tx.json",
        ] {
            let expected = fixture(name);
            let template = poller.next().await.unwrap();
            assert_eq!(template.height as u64, expected["height"].as_u64().unwrap());
            let builder = BlockBuilder::new(&template, &payout, &options).unwrap();
            let mut nonce = 0u32;
            let header = loop {
                let h = builder.header(&[0u8; 8], builder.time(), nonce).unwrap();
                if builder.meets_target(&h) {
                    break h;
                }
                nonce += 1;
            };
            assert_eq!(u64::from(nonce), expected["nonce"].as_u64().unwrap());
            let block = builder.assemble_block(&header, &[0u8; 8]).unwrap();
            assert_eq!(
                c.submit_block(&block).await.unwrap(),
                SubmitOutcome::Accepted
            );
            assert_eq!(
                node.submitted_blocks().last().unwrap(),
                expected["hex"].as_str().unwrap()
            );
        }
        let hashes: Vec<String> = node
            .accepted_blocks()
            .iter()
            .map(|h| h.to_string())
            .collect();
        assert_eq!(
            hashes,
            [
                "01424d24fe8666d9edb72a4c84e2d9e0e78d6bb547c4226b24499971e6443a6e",
                "403ad6e87d116d2ed7dcbeb892452814508698b4b95be9e50ff537fb7adb3591",
                "6519f493da6ce3c671889a4814dbfc2a424f33b015029525fc7e26d928289008",
            ]
        );
    })
    .await
}
