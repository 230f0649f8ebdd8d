//! A local stand-in for Bitcoin Core's JSON-RPC server that replays recorded block templates.
//!
//! Meant for tests (this crate's and end-to-end tests of `hashforge serve`): it listens on
//! `127.0.0.1` on a port the OS picks, checks basic auth like Bitcoin Core (HTTP 401 with an
//! empty body), answers `getblocktemplate` (holding long polls until a new template is pushed
//! or [`ReplayConfig::longpoll_hold`] passes), `getblockchaininfo` and `submitblock` (recording
//! each submitted block), and can be told to misbehave on the next request ([`Fault`]) or on a
//! seeded random schedule ([`Chaos`]: a flaky node for soak tests).
//!
//! The server stops when the [`ReplayNode`] is dropped; connections idle for
//! [`ReplayConfig::idle_timeout`] are closed, so nothing outlives a test.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use hashforge::node::http;

/// Largest request body accepted (a 4 MB block is 8 MB of hex).
const MAX_REQUEST_BYTES: usize = 32 << 20;

/// Settings of a [`ReplayNode`].
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    /// Expected `user`/`password`; `None` accepts any or no credentials.
    pub credentials: Option<(String, String)>,
    /// `chain` reported by `getblockchaininfo` (`main`, `test`, `testnet4`, `signet`, `regtest`).
    pub chain: String,
    /// Templates (`getblocktemplate` results); the first is current at start.
    pub templates: Vec<Value>,
    /// Longest a long poll is held before it is answered with the current template.
    pub longpoll_hold: Duration,
    /// Whether an accepted `submitblock` moves on to the next queued template.
    pub advance_on_submit: bool,
    /// Forced `submitblock` answer: `None` to answer as [`validate_blocks`](Self::validate_blocks)
    /// decides, or a reject reason to answer regardless of the block.
    pub submit_reply: Option<String>,
    /// Whether `submitblock` checks the block against the current template (decoding, previous
    /// block, bits, proof of work, merkle root, witness commitment, BIP 34 height, coinbase
    /// amount, duplicates) and answers Bitcoin Core's reject reason; if false every block is
    /// accepted.
    pub validate_blocks: bool,
    /// A connection with no request for this long is closed.
    pub idle_timeout: Duration,
    /// How long `submitblock` takes to answer (a busy node validating a block); zero for at
    /// once.
    pub submit_delay: Duration,
    /// A seeded random schedule of faults on every request; `None` for a well-behaved node.
    pub chaos: Option<Chaos>,
}

/// A flaky node: each request (any method, after the credentials check) misbehaves with
/// chance `rate`, in one of [`Chaos::FAULTS`] kinds drawn uniformly: HTTP 500, the connection
/// dropped without an answer, a slow answer (up to `max_delay`, then the normal one), bytes
/// that are not HTTP, a body that is not JSON, a truncated body, a JSON-RPC error. Except for
/// the slow answer, a faulty request is not carried out (a `submitblock` is not recorded).
/// The draws come from one generator seeded with `seed`, in request order.
#[derive(Debug, Clone)]
pub struct Chaos {
    /// Seeds the schedule.
    pub seed: u64,
    /// Chance that a request misbehaves.
    pub rate: f64,
    /// Chance for a `submitblock` request, when it differs from `rate` (higher, so that a
    /// soak sees blocks whose every retry fails).
    pub submit_rate: Option<f64>,
    /// Longest delay of a slow answer.
    pub max_delay: Duration,
}

impl Chaos {
    /// The kinds of misbehaviour, as counted in [`ReplayNode::chaos_counts`].
    pub const FAULTS: [&'static str; 7] = [
        "http-500",
        "dropped",
        "slow",
        "garbage-http",
        "malformed-json",
        "truncated-body",
        "rpc-error",
    ];

    fn draw(&self, method: &str, rng: &mut StdRng) -> Option<Fault> {
        let rate = match (method, self.submit_rate) {
            ("submitblock", Some(r)) => r,
            _ => self.rate,
        };
        if !rng.gen_bool(rate.clamp(0.0, 1.0)) {
            return None;
        }
        Some(match rng.gen_range(0..Self::FAULTS.len()) {
            0 => Fault::HttpStatus(500),
            1 => Fault::Close,
            2 => Fault::Slow(rng.gen_range(Duration::ZERO..=self.max_delay)),
            3 => Fault::GarbageHttp,
            4 => Fault::MalformedJson,
            5 => Fault::TruncatedBody,
            _ => Fault::RpcError {
                code: -32603,
                message: "Internal error (chaos)".into(),
            },
        })
    }
}

impl ReplayConfig {
    /// Regtest, no credentials, these templates, long polls held up to 30 s.
    pub fn new(templates: Vec<Value>) -> Self {
        ReplayConfig {
            credentials: None,
            chain: "regtest".into(),
            templates,
            longpoll_hold: Duration::from_secs(30),
            advance_on_submit: false,
            submit_reply: None,
            validate_blocks: true,
            idle_timeout: Duration::from_secs(30),
            submit_delay: Duration::ZERO,
            chaos: None,
        }
    }

    /// Requires these basic-auth credentials.
    pub fn with_credentials(mut self, user: &str, password: &str) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }
}

/// A misbehaviour for the next request (after the credentials check).
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with a JSON-RPC error object.
    RpcError {
        /// Error code.
        code: i64,
        /// Error message.
        message: String,
    },
    /// Answer with this `result` instead of the normal one.
    Result(Value),
    /// Answer HTTP 200 with a body that is not JSON.
    MalformedJson,
    /// Announce a longer `Content-Length` than sent, then close.
    TruncatedBody,
    /// Answer bytes that are not HTTP, then close.
    GarbageHttp,
    /// Answer this HTTP status with an empty body.
    HttpStatus(u16),
    /// Close the connection without answering.
    Close,
    /// Wait this long, then answer normally.
    Slow(Duration),
}

impl Fault {
    /// The name of its kind (see [`Chaos::FAULTS`]).
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::HttpStatus(_) => "http-500",
            Fault::Close => "dropped",
            Fault::Slow(_) => "slow",
            Fault::GarbageHttp => "garbage-http",
            Fault::MalformedJson => "malformed-json",
            Fault::TruncatedBody => "truncated-body",
            Fault::RpcError { .. } => "rpc-error",
            Fault::Result(_) => "result",
        }
    }
}

/// One request the node received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// JSON-RPC method.
    pub method: String,
    /// JSON-RPC params.
    pub params: Value,
}

#[derive(Debug)]
struct State {
    templates: Vec<Value>,
    current: usize,
    faults: VecDeque<Fault>,
    ibd: bool,
    submit_reply: Option<String>,
    submitted: Vec<String>,
    accepted: Vec<bitcoin::BlockHash>,
    requests: Vec<RecordedRequest>,
    /// The chaos schedule and its generator.
    chaos: Option<Chaos>,
    rng: StdRng,
    /// Faults the chaos schedule injected, by "method kind".
    chaos_counts: BTreeMap<String, u64>,
}

#[derive(Debug)]
struct Shared {
    config: ReplayConfig,
    state: Mutex<State>,
    generation: watch::Sender<u64>,
    submissions: watch::Sender<usize>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves usable data: keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.generation.send_modify(|g| *g += 1);
    }
}

/// A running replay node; stops when dropped.
#[derive(Debug)]
pub struct ReplayNode {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for ReplayNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReplayNode {
    /// Starts the node on `127.0.0.1`, on a port the OS picks.
    pub async fn start(config: ReplayConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = State {
            templates: config.templates.clone(),
            current: 0,
            faults: VecDeque::new(),
            ibd: false,
            submit_reply: config.submit_reply.clone(),
            submitted: Vec::new(),
            accepted: Vec::new(),
            requests: Vec::new(),
            chaos: config.chaos.clone(),
            rng: StdRng::seed_from_u64(config.chaos.as_ref().map_or(0, |c| c.seed)),
            chaos_counts: BTreeMap::new(),
        };
        let shared = Arc::new(Shared {
            config,
            state: Mutex::new(state),
            generation: watch::Sender::new(0),
            submissions: watch::Sender::new(0),
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(ReplayNode { addr, shared, task })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Adds a template and makes it current, answering held long polls.
    pub fn push_template(&self, template: Value) {
        {
            let mut s = self.shared.lock();
            s.templates.push(template);
            s.current = s.templates.len() - 1;
        }
        self.shared.bump();
    }

    /// Makes the next queued template current (answering held long polls); false if there is
    /// none.
    pub fn advance(&self) -> bool {
        let moved = advance(&self.shared.lock());
        if let Some(next) = moved {
            self.shared.lock().current = next;
            self.shared.bump();
        }
        moved.is_some()
    }

    /// Misbehaves on the next request (faults queue up, one per request).
    pub fn fail_next(&self, fault: Fault) {
        self.shared.lock().faults.push_back(fault);
    }

    /// Sets whether the node reports initial block download (`getblocktemplate` then fails
    /// with error -10 and `getblockchaininfo` says `initialblockdownload: true`).
    pub fn set_initial_block_download(&self, ibd: bool) {
        self.shared.lock().ibd = ibd;
    }

    /// Forces the `submitblock` answer: a reject reason, or `None` to go back to the normal
    /// answer (see [`ReplayConfig::validate_blocks`]).
    pub fn set_submit_reply(&self, reply: Option<String>) {
        self.shared.lock().submit_reply = reply;
    }

    /// Hex of every block received by `submitblock`, in order.
    pub fn submitted_blocks(&self) -> Vec<String> {
        self.shared.lock().submitted.clone()
    }

    /// Waits until at least `count` blocks have been submitted or `timeout` passes, and returns
    /// the hex of the blocks submitted so far.
    pub async fn wait_for_submissions(&self, count: usize, timeout: Duration) -> Vec<String> {
        let mut rx = self.shared.submissions.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|n| *n >= count)).await;
        self.submitted_blocks()
    }

    /// Hashes of the blocks `submitblock` accepted, in order.
    pub fn accepted_blocks(&self) -> Vec<bitcoin::BlockHash> {
        self.shared.lock().accepted.clone()
    }

    /// Starts (or with `None` stops) a chaos schedule from now on, seeded afresh (e.g. once
    /// the program under test has started: a node that fails its first call stops a start).
    pub fn set_chaos(&self, chaos: Option<Chaos>) {
        let mut s = self.shared.lock();
        s.rng = StdRng::seed_from_u64(chaos.as_ref().map_or(0, |c| c.seed));
        s.chaos = chaos;
    }

    /// Faults the chaos schedule ([`ReplayConfig::chaos`]) injected so far, by method and kind
    /// (`"submitblock dropped"` → count).
    pub fn chaos_counts(&self) -> BTreeMap<String, u64> {
        self.shared.lock().chaos_counts.clone()
    }

    /// Every well-formed, authenticated request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Writes a Bitcoin Core style cookie file (`user:password`) for the configured
    /// credentials; an error if none are configured.
    pub fn write_cookie(&self, path: &std::path::Path) -> std::io::Result<()> {
        let (user, pass) = self.shared.config.credentials.clone().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "no credentials configured",
            )
        })?;
        std::fs::write(path, format!("{user}:{pass}"))
    }
}

fn advance(state: &State) -> Option<usize> {
    (state.current + 1 < state.templates.len()).then_some(state.current + 1)
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(serve_connection(stream, Arc::clone(&shared)));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let mut stream = BufReader::new(stream);
    loop {
        let idle = shared.config.idle_timeout;
        let head = match tokio::time::timeout(idle, http::read_head(&mut stream)).await {
            Ok(Ok(h)) => h,
            _ => return,
        };
        let body = match http::read_body(&mut stream, &head, MAX_REQUEST_BYTES, false).await {
            Ok(b) => b,
            Err(_) => {
                let _ = respond(stream.get_mut(), 400, "Bad Request", b"", true).await;
                return;
            }
        };
        let close = head.connection_close() || head.start_line.ends_with("HTTP/1.0");
        let keep = handle_request(stream.get_mut(), &shared, &head, &body, close).await;
        if !keep || close {
            let _ = stream.get_mut().shutdown().await;
            return;
        }
    }
}

/// Writes one response; returns whether the connection may be kept.
async fn respond(
    stream: &mut TcpStream,
    status: u16,
    reason: &str,
    body: &[u8],
    close: bool,
) -> bool {
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if status == 401 {
        head.push_str("WWW-Authenticate: Basic realm=\"jsonrpc\"\r\n");
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let ok = stream.write_all(head.as_bytes()).await.is_ok()
        && stream.write_all(body).await.is_ok()
        && stream.flush().await.is_ok();
    ok && !close
}

/// Handles one request; returns whether the connection may be kept.
async fn handle_request(
    stream: &mut TcpStream,
    shared: &Shared,
    head: &http::Head,
    body: &[u8],
    close: bool,
) -> bool {
    if let Some((user, pass)) = &shared.config.credentials {
        let expected = format!(
            "Basic {}",
            http::base64(format!("{user}:{pass}").as_bytes())
        );
        if head.header("authorization") != Some(expected.as_str()) {
            return respond(stream, 401, "Unauthorized", b"", close).await;
        }
    }
    let request: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => {
            let reply = json!({"result": null, "error": {"code": -32700, "message": "Parse error"}, "id": null});
            return respond(
                stream,
                500,
                "Internal Server Error",
                reply.to_string().as_bytes(),
                close,
            )
            .await;
        }
    };
    let v2 = request.get("jsonrpc").and_then(Value::as_str) == Some("2.0");
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let params = request.get("params").cloned().unwrap_or(json!([]));

    let fault = {
        let mut s = shared.lock();
        s.requests.push(RecordedRequest {
            method: method.clone(),
            params: params.clone(),
        });
        let queued = s.faults.pop_front();
        let drawn = match (&queued, s.chaos.clone()) {
            (None, Some(chaos)) => chaos.draw(&method, &mut s.rng),
            _ => None,
        };
        if let Some(f) = &drawn {
            *s.chaos_counts
                .entry(format!("{method} {}", f.kind()))
                .or_default() += 1;
        }
        queued.or(drawn)
    };
    let outcome: Result<Value, (i64, String)> = match fault {
        Some(Fault::RpcError { code, message }) => Err((code, message)),
        Some(Fault::Result(v)) => Ok(v),
        Some(Fault::MalformedJson) => {
            return respond(
                stream,
                200,
                "OK",
                b"{\"result\": {\"version\": 5,, ]",
                close,
            )
            .await
        }
        Some(Fault::TruncatedBody) => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"result\":{\"version\":";
            let _ = stream.write_all(head.as_bytes()).await;
            return false;
        }
        Some(Fault::GarbageHttp) => {
            let _ = stream
                .write_all(b"SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02garbage\r\n\r\n")
                .await;
            return false;
        }
        Some(Fault::HttpStatus(status)) => {
            return respond(stream, status, "Error", b"", close).await;
        }
        Some(Fault::Close) => return false,
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            dispatch(shared, &method, &params).await
        }
        None => dispatch(shared, &method, &params).await,
    };

    let (status, reply) = match outcome {
        Ok(result) if v2 => (200, json!({"jsonrpc": "2.0", "result": result, "id": id})),
        Ok(result) => (200, json!({"result": result, "error": null, "id": id})),
        Err((code, message)) => {
            let error = json!({"code": code, "message": message});
            if v2 {
                (200, json!({"jsonrpc": "2.0", "error": error, "id": id}))
            } else {
                let status = if code == -32601 { 404 } else { 500 };
                (status, json!({"result": null, "error": error, "id": id}))
            }
        }
    };
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Internal Server Error",
    };
    respond(stream, status, reason, reply.to_string().as_bytes(), close).await
}

/// The normal answer to a method.
async fn dispatch(shared: &Shared, method: &str, params: &Value) -> Result<Value, (i64, String)> {
    match method {
        "getblocktemplate" => {
            if shared.lock().ibd {
                return Err((
                    -10,
                    "Bitcoin Core is in initial sync and waiting for blocks...".into(),
                ));
            }
            let longpoll_id = params
                .get(0)
                .and_then(|p| p.get("longpollid"))
                .and_then(Value::as_str)
                .map(str::to_string);
            if let Some(id) = longpoll_id {
                let mut rx = shared.generation.subscribe();
                let same = current_template(shared)
                    .and_then(|t| {
                        t.get("longpollid")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .is_some_and(|cur| cur == id);
                if same {
                    let _ = tokio::time::timeout(shared.config.longpoll_hold, rx.changed()).await;
                }
            }
            current_template(shared).ok_or((-1, "no template loaded".into()))
        }
        "getblockchaininfo" => {
            let s = shared.lock();
            let t = s.templates.get(s.current);
            let height = t
                .and_then(|t| t.get("height"))
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .saturating_sub(1);
            let best = t
                .and_then(|t| t.get("previousblockhash"))
                .cloned()
                .unwrap_or(json!("00".repeat(32)));
            Ok(json!({
                "chain": shared.config.chain,
                "blocks": height,
                "headers": height,
                "bestblockhash": best,
                "initialblockdownload": s.ibd,
                "verificationprogress": if s.ibd { 0.5 } else { 1.0 },
            }))
        }
        "getbestblockhash" => {
            let s = shared.lock();
            s.templates
                .get(s.current)
                .and_then(|t| t.get("previousblockhash"))
                .cloned()
                .ok_or((-1, "no template loaded".into()))
        }
        "getblockcount" => {
            let s = shared.lock();
            Ok(json!(s
                .templates
                .get(s.current)
                .and_then(|t| t.get("height"))
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .saturating_sub(1)))
        }
        "submitblock" => {
            let Some(hex) = params.get(0).and_then(Value::as_str) else {
                return Err((-1, "submitblock \"hexdata\" ( \"dummy\" )".into()));
            };
            if !shared.config.submit_delay.is_zero() {
                tokio::time::sleep(shared.config.submit_delay).await;
            }
            let reply = {
                let mut s = shared.lock();
                s.submitted.push(hex.to_string());
                let verdict = match &s.submit_reply {
                    Some(forced) => Err(Some(forced.clone())),
                    None if shared.config.validate_blocks => {
                        let template = s.templates.get(s.current);
                        check_block(hex, template, &s.accepted)
                    }
                    None => Ok(block_hash_of_hex(hex)),
                };
                match verdict {
                    Ok(hash) => {
                        if let Some(hash) = hash {
                            s.accepted.push(hash);
                        }
                        Ok(Value::Null)
                    }
                    Err(Some(reason)) => Ok(Value::String(reason)),
                    Err(None) => Err((-22, "Block decode failed".to_string())),
                }
            };
            let accepted = matches!(reply, Ok(Value::Null));
            if accepted && shared.config.advance_on_submit {
                let next = advance(&shared.lock());
                if let Some(next) = next {
                    shared.lock().current = next;
                    shared.bump();
                }
            }
            shared.submissions.send_modify(|n| *n += 1);
            reply
        }
        _ => Err((-32601, "Method not found".into())),
    }
}

fn current_template(shared: &Shared) -> Option<Value> {
    let s = shared.lock();
    s.templates.get(s.current).cloned()
}

fn block_hash_of_hex(hex: &str) -> Option<bitcoin::BlockHash> {
    let bytes = hex::decode(hex).ok()?;
    let header: [u8; 80] = bytes.get(..80)?.try_into().ok()?;
    use bitcoin::hashes::Hash;
    Some(bitcoin::BlockHash::from_byte_array(
        hashforge::Header::from_bytes(&header).block_hash().0,
    ))
}

/// Checks a submitted block like Bitcoin Core would, as far as a template allows.
///
/// `Ok(hash)` accepts it; `Err(Some(reason))` rejects it with a BIP 22 reason;
/// `Err(None)` means it does not decode (Core answers RPC error -22).
fn check_block(
    hex: &str,
    template: Option<&Value>,
    accepted: &[bitcoin::BlockHash],
) -> Result<Option<bitcoin::BlockHash>, Option<String>> {
    use bitcoin::hashes::Hash;
    let reject = |r: &str| Err(Some(r.to_string()));
    let bytes = hex::decode(hex).map_err(|_| None)?;
    let block: bitcoin::Block =
        bitcoin::consensus::encode::deserialize(&bytes).map_err(|_| None)?;
    let hash = block.block_hash();
    if accepted.contains(&hash) {
        return reject("duplicate");
    }
    let Some(template) = template.map(hashforge::node::BlockTemplate::from_json) else {
        return reject("inconclusive");
    };
    let Ok(template) = template else {
        return reject("inconclusive");
    };
    if block.header.prev_blockhash != template.previous_block_hash {
        return reject("inconclusive-not-best-prevblk");
    }
    if block.header.bits.to_consensus() != template.bits.0 {
        return reject("bad-diffbits");
    }
    if !template
        .target
        .is_met_by(&hashforge::Hash256(hash.to_byte_array()))
    {
        return reject("high-hash");
    }
    if !block.txdata.first().is_some_and(|tx| tx.is_coinbase()) {
        return reject("bad-cb-missing");
    }
    if !block.check_merkle_root() {
        return reject("bad-txnmrklroot");
    }
    if !block.check_witness_commitment() {
        return reject("bad-witness-merkle-match");
    }
    if block.bip34_block_height().ok() != Some(u64::from(template.height)) {
        return reject("bad-cb-height");
    }
    let paid: u64 = block.txdata[0]
        .output
        .iter()
        .map(|o| o.value.to_sat())
        .sum();
    if paid > template.coinbase_value {
        return reject("bad-cb-amount");
    }
    if block.header.time < template.min_time {
        return reject("time-too-old");
    }
    Ok(Some(hash))
}
