//! Async JSON-RPC client for Bitcoin Core over plain HTTP/1.1.
//!
//! One TCP connection per call (`Connection: close`), so a long poll never blocks a
//! `submitblock`. Replies are bounded ([`RpcConfig::max_reply_bytes`]) and every failure is an
//! [`RpcError`] with a one-line message; no reply makes it panic.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin::Network;
use serde_json::{json, Value};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::block::{PayoutError, PayoutScript};
use super::http::{self, HttpError};
use super::template::{BlockTemplate, TemplateError};

/// Bitcoin Core's `RPC_CLIENT_IN_INITIAL_DOWNLOAD`.
pub const RPC_IN_INITIAL_DOWNLOAD: i64 = -10;
/// Bitcoin Core's `RPC_IN_WARMUP` (node still loading).
pub const RPC_IN_WARMUP: i64 = -28;

/// Why an RPC call failed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The node's URL could not be understood.
    #[error("invalid node URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Nothing listens at the node's address.
    #[error("connection to node at {addr} refused (is bitcoind running with -server and the right RPC port?)")]
    ConnectionRefused {
        /// `host:port` tried.
        addr: String,
    },
    /// Connecting failed for another reason.
    #[error("cannot connect to node at {addr}: {source}")]
    Connect {
        /// `host:port` tried.
        addr: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The connection broke while talking to the node.
    #[error("I/O error talking to node: {0}")]
    Io(#[from] std::io::Error),
    /// No reply within the allowed time.
    #[error("node did not answer {method} within {after:?}")]
    Timeout {
        /// The RPC method called.
        method: String,
        /// The time allowed.
        after: Duration,
    },
    /// The cookie file could not be read or parsed.
    #[error("cannot use RPC cookie file {path}: {reason}")]
    Cookie {
        /// Path of the cookie file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// HTTP 401: wrong user/password or stale cookie.
    #[error("node rejected the RPC credentials (HTTP 401 Unauthorized): check rpcuser/rpcpassword or the cookie file")]
    Unauthorized,
    /// The node is still syncing the chain (RPC error -10, or `initialblockdownload` true).
    #[error("node is in initial block download; wait until it has synced: {message}")]
    InitialBlockDownload {
        /// The node's message.
        message: String,
    },
    /// The payout address is for another network than the node's chain.
    #[error("payout address {address} is not valid on the node's network {network}")]
    WrongNetwork {
        /// The address as given.
        address: String,
        /// The node's network.
        network: Network,
    },
    /// The payout address does not parse.
    #[error("invalid payout address {address:?}: {reason}")]
    InvalidAddress {
        /// The address as given.
        address: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The node answered with a JSON-RPC error object.
    #[error("node returned RPC error {code}: {message}")]
    Rpc {
        /// JSON-RPC error code.
        code: i64,
        /// JSON-RPC error message.
        message: String,
    },
    /// A non-success HTTP status without a JSON-RPC error body.
    #[error("node answered HTTP {status} {reason}")]
    HttpStatus {
        /// HTTP status code.
        status: u16,
        /// Reason phrase.
        reason: String,
    },
    /// The reply is not valid HTTP/1.x.
    #[error("malformed HTTP reply from node: {0}")]
    BadHttp(String),
    /// The reply ended before its announced length (or before its head was complete).
    #[error("truncated reply from node: got {got} bytes{}", expected.map(|e| format!(" of {e}")).unwrap_or_default())]
    Truncated {
        /// Announced body length, if known.
        expected: Option<usize>,
        /// Bytes received.
        got: usize,
    },
    /// The reply is larger than [`RpcConfig::max_reply_bytes`].
    #[error("reply from node exceeds the {limit}-byte limit")]
    ReplyTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The body is not JSON, or not a JSON-RPC reply object.
    #[error("malformed JSON reply from node: {0}")]
    BadJson(String),
    /// The JSON-RPC reply lacks a field or has one of the wrong type.
    #[error("reply to {method} lacks or has an invalid field `{field}`")]
    BadField {
        /// The RPC method called.
        method: String,
        /// The field.
        field: String,
    },
    /// The `getblocktemplate` result is not a usable template.
    #[error("unusable block template from node: {0}")]
    Template(#[from] TemplateError),
}

impl RpcError {
    /// Whether retrying later may help (connection problems, timeouts, a syncing or starting
    /// node), as opposed to configuration errors (credentials, address, network).
    pub fn is_transient(&self) -> bool {
        match self {
            RpcError::ConnectionRefused { .. }
            | RpcError::Connect { .. }
            | RpcError::Io(_)
            | RpcError::Timeout { .. }
            | RpcError::InitialBlockDownload { .. }
            | RpcError::Truncated { .. } => true,
            RpcError::Rpc { code, .. } => *code == RPC_IN_WARMUP || *code == -9,
            RpcError::HttpStatus { status, .. } => *status == 503,
            _ => false,
        }
    }

    fn from_http(e: HttpError) -> Self {
        match e {
            HttpError::Io(e) => RpcError::Io(e),
            HttpError::Malformed(m) => RpcError::BadHttp(m),
            HttpError::Truncated { expected, got } => RpcError::Truncated { expected, got },
            HttpError::TooLarge { limit } => RpcError::ReplyTooLarge { limit },
            HttpError::Closed => RpcError::BadHttp("connection closed without a reply".into()),
        }
    }
}

/// How to authenticate to the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcAuth {
    /// No `Authorization` header.
    None,
    /// `rpcuser` / `rpcpassword` (or an `rpcauth` entry).
    UserPass {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// The `.cookie` file Bitcoin Core writes (`__cookie__:password`); read on every call, so a
    /// node restart (new cookie) is picked up.
    CookieFile(PathBuf),
}

impl RpcAuth {
    fn header(&self) -> Result<Option<String>, RpcError> {
        let pair = match self {
            RpcAuth::None => return Ok(None),
            RpcAuth::UserPass { user, password } => format!("{user}:{password}"),
            RpcAuth::CookieFile(path) => read_cookie(path)?,
        };
        Ok(Some(format!("Basic {}", http::base64(pair.as_bytes()))))
    }
}

/// The largest cookie file read (Bitcoin Core's is 75 bytes).
pub const MAX_COOKIE_BYTES: u64 = 4096;

/// Reads a cookie file and returns its `user:password` line. Only a regular file is opened (a
/// FIFO would block, a device like `/dev/zero` never end), and at most [`MAX_COOKIE_BYTES`] + 1
/// bytes of it are read.
fn read_cookie(path: &PathBuf) -> Result<String, RpcError> {
    use std::io::Read as _;
    let err = |reason: String| RpcError::Cookie {
        path: path.clone(),
        reason,
    };
    let too_large = || {
        err(format!(
            "file is too large to be a cookie (over {MAX_COOKIE_BYTES} bytes)"
        ))
    };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if !meta.is_file() {
        return Err(err(format!(
            "not a regular file (a {}); give the .cookie file the node writes",
            file_kind(&meta.file_type())
        )));
    }
    if meta.len() > MAX_COOKIE_BYTES {
        return Err(too_large());
    }
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    // The file may have been replaced since the check: the read is bounded all the same.
    let mut bytes = Vec::new();
    file.take(MAX_COOKIE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(e.to_string()))?;
    if bytes.len() as u64 > MAX_COOKIE_BYTES {
        return Err(too_large());
    }
    let text = String::from_utf8(bytes).map_err(|_| err("not UTF-8 text".into()))?;
    let line = text.lines().next().unwrap_or("").trim();
    match line.split_once(':') {
        Some((user, pass)) if !user.is_empty() && !pass.is_empty() => Ok(line.to_string()),
        _ => Err(err("expected `user:password`".into())),
    }
}

/// What a file that is not a regular file is, for the cookie error.
fn file_kind(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if kind.is_fifo() {
            return "FIFO";
        }
        if kind.is_char_device() {
            return "character device";
        }
        if kind.is_block_device() {
            return "block device";
        }
        if kind.is_socket() {
            return "socket";
        }
    }
    if kind.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

/// JSON-RPC protocol version of the requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonRpcVersion {
    /// JSON-RPC 1.0 (Bitcoin Core's legacy mode; errors come with HTTP 500/404).
    #[default]
    V1,
    /// JSON-RPC 2.0 (Bitcoin Core 28+; errors come with HTTP 200).
    V2,
}

/// Where and how to reach the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcConfig {
    /// `host:port` of the node's RPC server.
    pub addr: String,
    /// HTTP path (`/`, or `/wallet/<name>`).
    pub path: String,
    /// Authentication.
    pub auth: RpcAuth,
    /// JSON-RPC version of the requests.
    pub version: JsonRpcVersion,
    /// Limit on connecting.
    pub connect_timeout: Duration,
    /// Limit on an ordinary call, from connecting to the end of the reply.
    pub request_timeout: Duration,
    /// Limit on a long-poll `getblocktemplate`.
    pub longpoll_timeout: Duration,
    /// Largest accepted reply body.
    pub max_reply_bytes: usize,
}

impl RpcConfig {
    /// A configuration for `url` (`http://host:port[/path]` or `host:port`) with default
    /// limits: connect 5 s, call 30 s, long poll 10 min, reply 64 MiB.
    pub fn new(url: &str, auth: RpcAuth) -> Result<Self, RpcError> {
        let bad = |reason: &str| RpcError::InvalidUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let rest = if let Some(r) = url.strip_prefix("http://") {
            r
        } else if url.starts_with("https://") {
            return Err(bad(
                "HTTPS is not supported; Bitcoin Core's RPC is plain HTTP",
            ));
        } else if url.contains("://") {
            return Err(bad("only http:// URLs are supported"));
        } else {
            url
        };
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if hostport.contains('@') {
            return Err(bad("put credentials in the auth settings, not the URL"));
        }
        let port_ok = hostport
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if !port_ok {
            return Err(bad("expected host:port"));
        }
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("path contains whitespace"));
        }
        Ok(RpcConfig {
            addr: hostport.to_string(),
            path: path.to_string(),
            auth,
            version: JsonRpcVersion::V1,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            longpoll_timeout: Duration::from_secs(600),
            max_reply_bytes: 64 << 20,
        })
    }
}

/// What `getblockchaininfo` tells about the node.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainInfo {
    /// The network (from `chain`: `main`, `test`, `testnet4`, `signet`, `regtest`).
    pub network: Network,
    /// Height of the best validated block.
    pub blocks: u64,
    /// Height of the best known header.
    pub headers: u64,
    /// Hash of the best block, display hex.
    pub best_block_hash: String,
    /// Whether the node is in initial block download.
    pub initial_block_download: bool,
    /// Estimated verification progress, 0 to 1.
    pub verification_progress: f64,
}

/// The node's answer to `submitblock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// `null`: the block was accepted.
    Accepted,
    /// A BIP 22 reason string (`duplicate`, `high-hash`, `bad-txnmrklroot`, `inconclusive`, ...).
    Rejected(String),
}

/// Async JSON-RPC client for one node. Clones share the request id counter; calls may run
/// concurrently (each opens its own connection).
#[derive(Debug, Clone)]
pub struct RpcClient {
    config: Arc<RpcConfig>,
    next_id: Arc<AtomicU64>,
}

impl RpcClient {
    /// A client for this configuration (nothing is connected until the first call).
    pub fn new(config: RpcConfig) -> Self {
        RpcClient {
            config: Arc::new(config),
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RpcConfig {
        &self.config
    }

    /// Calls `method` with `params` (a JSON array) and returns its `result`, within the
    /// configured request timeout.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        self.call_with_timeout(method, params, self.config.request_timeout)
            .await
    }

    /// Calls `method` with `params` and returns its `result`, within `timeout`.
    pub async fn call_with_timeout(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, RpcError> {
        match tokio::time::timeout(timeout, self.call_inner(method, params)).await {
            Ok(r) => r,
            Err(_) => Err(RpcError::Timeout {
                method: method.to_string(),
                after: timeout,
            }),
        }
    }

    async fn call_inner(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = match self.config.version {
            JsonRpcVersion::V1 => {
                json!({"jsonrpc": "1.0", "id": id, "method": method, "params": params})
            }
            JsonRpcVersion::V2 => {
                json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
            }
        };
        let body = serde_json::to_vec(&body).map_err(|e| RpcError::BadJson(e.to_string()))?;
        let auth = self.config.auth.header()?;

        let addr = &self.config.addr;
        let stream =
            match tokio::time::timeout(self.config.connect_timeout, TcpStream::connect(addr)).await
            {
                Err(_) => {
                    return Err(RpcError::Connect {
                        addr: addr.clone(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("no answer within {:?}", self.config.connect_timeout),
                        ),
                    })
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Err(RpcError::ConnectionRefused { addr: addr.clone() })
                }
                Ok(Err(e)) => {
                    return Err(RpcError::Connect {
                        addr: addr.clone(),
                        source: e,
                    })
                }
                Ok(Ok(s)) => s,
            };
        let _ = stream.set_nodelay(true);
        let mut stream = BufReader::new(stream);

        let mut request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nAccept: application/json\r\nUser-Agent: hashforge/{}\r\nContent-Length: {}\r\n",
            self.config.path,
            addr,
            env!("CARGO_PKG_VERSION"),
            body.len()
        );
        if let Some(a) = auth {
            request.push_str("Authorization: ");
            request.push_str(&a);
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        let inner = stream.get_mut();
        inner.write_all(request.as_bytes()).await?;
        inner.write_all(&body).await?;
        inner.flush().await?;

        let limit = self.config.max_reply_bytes;
        let head = http::read_head(&mut stream)
            .await
            .map_err(RpcError::from_http)?;
        let (status, reason) = head.status().map_err(RpcError::from_http)?;
        if status == 401 {
            return Err(RpcError::Unauthorized);
        }
        let reply = http::read_body(&mut stream, &head, limit, true)
            .await
            .map_err(RpcError::from_http)?;
        parse_reply(method, id, status, reason, &reply)
    }

    /// `getblocktemplate {"rules":["segwit"]}`.
    pub async fn get_block_template(&self) -> Result<BlockTemplate, RpcError> {
        let v = self
            .call("getblocktemplate", json!([{"rules": ["segwit"]}]))
            .await?;
        Ok(BlockTemplate::from_json(&v)?)
    }

    /// `getblocktemplate` with `longpollid`: the node holds the call until it has a new
    /// template (new tip, or changed mempool after a while). Bounded by
    /// [`RpcConfig::longpoll_timeout`].
    pub async fn get_block_template_longpoll(
        &self,
        longpoll_id: &str,
    ) -> Result<BlockTemplate, RpcError> {
        let v = self
            .call_with_timeout(
                "getblocktemplate",
                json!([{"rules": ["segwit"], "longpollid": longpoll_id}]),
                self.config.longpoll_timeout,
            )
            .await?;
        Ok(BlockTemplate::from_json(&v)?)
    }

    /// `submitblock <hex>` with a full serialized block.
    pub async fn submit_block(&self, block: &[u8]) -> Result<SubmitOutcome, RpcError> {
        let v = self
            .call("submitblock", json!([hex::encode(block)]))
            .await?;
        match v {
            Value::Null => Ok(SubmitOutcome::Accepted),
            Value::String(s) => Ok(SubmitOutcome::Rejected(s)),
            _ => Err(RpcError::BadField {
                method: "submitblock".into(),
                field: "result".into(),
            }),
        }
    }

    /// `getblockchaininfo`.
    pub async fn get_blockchain_info(&self) -> Result<ChainInfo, RpcError> {
        let v = self.call("getblockchaininfo", json!([])).await?;
        let bad = |field: &str| RpcError::BadField {
            method: "getblockchaininfo".into(),
            field: field.into(),
        };
        let chain = v
            .get("chain")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("chain"))?;
        let network = Network::from_core_arg(chain).map_err(|_| bad("chain"))?;
        let u = |f: &str| v.get(f).and_then(Value::as_u64).ok_or_else(|| bad(f));
        Ok(ChainInfo {
            network,
            blocks: u("blocks")?,
            headers: u("headers")?,
            best_block_hash: v
                .get("bestblockhash")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("bestblockhash"))?
                .to_string(),
            initial_block_download: v
                .get("initialblockdownload")
                .and_then(Value::as_bool)
                .ok_or_else(|| bad("initialblockdownload"))?,
            verification_progress: v
                .get("verificationprogress")
                .and_then(Value::as_f64)
                .unwrap_or(0.0),
        })
    }

    /// Checks the node is ready for mining to `payout_address`: asks `getblockchaininfo`,
    /// fails with [`RpcError::InitialBlockDownload`] while syncing and with
    /// [`RpcError::WrongNetwork`] if the address is for another network.
    pub async fn check_ready(
        &self,
        payout_address: &str,
    ) -> Result<(ChainInfo, PayoutScript), RpcError> {
        let info = self.get_blockchain_info().await?;
        let payout =
            PayoutScript::from_address(payout_address, info.network).map_err(|e| match e {
                PayoutError::WrongNetwork { address, network } => {
                    RpcError::WrongNetwork { address, network }
                }
                PayoutError::Invalid { address, reason } => {
                    RpcError::InvalidAddress { address, reason }
                }
            })?;
        if info.initial_block_download {
            return Err(RpcError::InitialBlockDownload {
                message: format!(
                    "at block {} of {} headers ({:.2}% verified)",
                    info.blocks,
                    info.headers,
                    info.verification_progress * 100.0
                ),
            });
        }
        Ok((info, payout))
    }
}

/// Turns an HTTP reply into the call's `result`.
fn parse_reply(
    method: &str,
    id: u64,
    status: u16,
    reason: String,
    body: &[u8],
) -> Result<Value, RpcError> {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            if status != 200 {
                return Err(RpcError::HttpStatus { status, reason });
            }
            return Err(RpcError::BadJson(if e.is_eof() {
                format!("body ends early ({} bytes): {e}", body.len())
            } else {
                e.to_string()
            }));
        }
    };
    let obj = match value {
        Value::Object(o) => o,
        _ if status != 200 => return Err(RpcError::HttpStatus { status, reason }),
        _ => return Err(RpcError::BadJson("reply is not a JSON object".into())),
    };
    match obj.get("error") {
        None | Some(Value::Null) => {}
        Some(Value::Object(err)) => {
            let code = err.get("code").and_then(Value::as_i64).unwrap_or(0);
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if code == RPC_IN_INITIAL_DOWNLOAD {
                return Err(RpcError::InitialBlockDownload { message });
            }
            return Err(RpcError::Rpc { code, message });
        }
        Some(other) => {
            return Err(RpcError::BadJson(format!(
                "`error` is neither null nor an object: {}",
                http::excerpt(&other.to_string())
            )))
        }
    }
    if status != 200 {
        return Err(RpcError::HttpStatus { status, reason });
    }
    match obj.get("id") {
        Some(Value::Number(n)) if n.as_u64() == Some(id) => {}
        _ => {
            return Err(RpcError::BadField {
                method: method.to_string(),
                field: "id".into(),
            })
        }
    }
    obj.get("result")
        .cloned()
        .ok_or_else(|| RpcError::BadField {
            method: method.to_string(),
            field: "result".into(),
        })
}

/// How a [`TemplatePoller`] currently gets templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollMode {
    /// Long polling with the previous template's `longpollid`.
    LongPoll,
    /// Plain `getblocktemplate` every poll interval (long polling failed or is unavailable).
    Interval,
}

/// Yields successive block templates: long polling when possible, otherwise polling every
/// `poll_interval`.
///
/// The first [`next`](TemplatePoller::next) returns a template at once. Later calls long-poll
/// with the previous `longpollid`; if that fails (other than bad credentials) the poller falls
/// back to a plain `getblocktemplate` every `poll_interval` and tries long polling again after
/// `longpoll_retry`.
#[derive(Debug)]
pub struct TemplatePoller {
    client: RpcClient,
    poll_interval: Duration,
    longpoll_retry: Duration,
    last_longpoll_id: Option<String>,
    started: bool,
    mode: PollMode,
    fallback_since: Option<Instant>,
    last_longpoll_error: Option<String>,
}

impl TemplatePoller {
    /// A poller on `client` (a clone of it: clones share the connection settings);
    /// `poll_interval` is the fallback polling period.
    pub fn new(client: RpcClient, poll_interval: Duration) -> Self {
        TemplatePoller {
            client,
            poll_interval,
            longpoll_retry: Duration::from_secs(60),
            last_longpoll_id: None,
            started: false,
            mode: PollMode::LongPoll,
            fallback_since: None,
            last_longpoll_error: None,
        }
    }

    /// Sets how long to poll by interval before trying long polling again (default 60 s).
    pub fn with_longpoll_retry(mut self, retry: Duration) -> Self {
        self.longpoll_retry = retry;
        self
    }

    /// Whether the poller long-polls or polls by interval at the moment.
    pub fn mode(&self) -> PollMode {
        self.mode
    }

    /// Why the last long poll failed, if it did.
    pub fn last_longpoll_error(&self) -> Option<&str> {
        self.last_longpoll_error.as_deref()
    }

    /// The next template. Errors of plain `getblocktemplate` calls are returned; long-poll
    /// errors switch to interval polling instead (except [`RpcError::Unauthorized`]).
    pub async fn next(&mut self) -> Result<BlockTemplate, RpcError> {
        if self.mode == PollMode::Interval
            && self
                .fallback_since
                .is_some_and(|t| t.elapsed() >= self.longpoll_retry)
        {
            self.mode = PollMode::LongPoll;
        }
        let longpoll_id = match (self.started, self.mode, &self.last_longpoll_id) {
            (true, PollMode::LongPoll, Some(id)) => Some(id.clone()),
            _ => None,
        };
        let template = if !self.started {
            self.client.get_block_template().await?
        } else if let Some(id) = longpoll_id {
            match self.client.get_block_template_longpoll(&id).await {
                Ok(t) => t,
                Err(RpcError::Unauthorized) => return Err(RpcError::Unauthorized),
                Err(e) => {
                    self.last_longpoll_error = Some(e.to_string());
                    self.mode = PollMode::Interval;
                    self.fallback_since = Some(Instant::now());
                    tokio::time::sleep(self.poll_interval).await;
                    self.client.get_block_template().await?
                }
            }
        } else {
            tokio::time::sleep(self.poll_interval).await;
            self.client.get_block_template().await?
        };
        self.started = true;
        self.last_longpoll_id = template.longpoll_id.clone();
        Ok(template)
    }
}
