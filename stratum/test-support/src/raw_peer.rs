//! A raw line-oriented TCP peer for scripted tests: a pool that misbehaves, or a miner that does.

use std::net::SocketAddr;
use std::time::Duration;

use hashforge_stratum::messages::ServerMessage;
use hashforge_stratum::{Job, Share};

/// A raw line-oriented TCP peer for scripted tests.
pub struct RawPeer {
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>>,
    wr: tokio::net::tcp::OwnedWriteHalf,
}

impl RawPeer {
    pub fn new(tcp: tokio::net::TcpStream) -> Self {
        use tokio::io::AsyncBufReadExt;
        let (rd, wr) = tcp.into_split();
        Self {
            lines: tokio::io::BufReader::new(rd).lines(),
            wr,
        }
    }

    pub async fn connect(addr: SocketAddr) -> Self {
        Self::new(tokio::net::TcpStream::connect(addr).await.expect("connect"))
    }

    /// This end's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.wr
            .local_addr()
            .expect("a connected socket has an address")
    }

    /// Writes raw bytes (errors ignored: the peer may have hung up on purpose).
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        let _ = self.wr.write_all(bytes).await;
        let _ = self.wr.flush().await;
    }

    pub async fn send(&mut self, v: serde_json::Value) {
        self.send_raw(format!("{v}\n").as_bytes()).await;
    }

    /// Next line as JSON; `None` when the other side closed (5 s limit).
    pub async fn recv(&mut self) -> Option<serde_json::Value> {
        let line = tokio::time::timeout(Duration::from_secs(5), self.lines.next_line())
            .await
            .expect("timed out waiting for a line")
            .ok()??;
        Some(serde_json::from_str(&line).expect("peer sent JSON"))
    }

    /// Reads until a message with a `method` equal to `m` (notifications from a pool).
    pub async fn recv_method(&mut self, m: &str) -> serde_json::Value {
        loop {
            let v = self.recv().await.expect("connection open");
            if v["method"] == m {
                return v;
            }
        }
    }

    /// Reads until the response with this id, remembering notifies seen meanwhile.
    pub async fn recv_response(
        &mut self,
        id: u64,
        notifies: &mut Vec<serde_json::Value>,
    ) -> serde_json::Value {
        loop {
            let v = self.recv().await.expect("connection open");
            if v["id"] == id && v.get("method").is_none() {
                return v;
            }
            if v["method"] == "mining.notify" || v["method"] == "mining.set_difficulty" {
                notifies.push(v);
            }
        }
    }
}

/// A scripted pool's side of the client handshake: how [`RawPeer::serve_handshake`] answers.
#[derive(Clone, Debug)]
pub struct PoolScript {
    /// The version-rolling mask granted to `mining.configure`; `None` refuses rolling.
    pub mask: Option<String>,
    /// The subscription (session) id in the subscribe result.
    pub session: String,
    /// The extranonce1 (hex) in the subscribe result.
    pub extranonce1: String,
    /// A `mining.set_difficulty` sent after the subscribe result, if any.
    pub difficulty: Option<serde_json::Value>,
    /// The first job: its id and the extranonce2 size of its synthetic template.
    pub job: String,
    pub template_extranonce_size: usize,
}

impl Default for PoolScript {
    /// Rolling with mask `1fffe000`, session `abcd`, extranonce1 `deadbeef`, difficulty 0.5,
    /// job `j1`.
    fn default() -> Self {
        PoolScript {
            mask: Some("1fffe000".into()),
            session: "abcd".into(),
            extranonce1: "deadbeef".into(),
            difficulty: Some(serde_json::json!(0.5)),
            job: "j1".into(),
            template_extranonce_size: 8,
        }
    }
}

/// What the client sent during [`RawPeer::serve_handshake`].
#[derive(Clone, Debug)]
pub struct Handshake {
    /// The methods the client sent, in order.
    pub methods: Vec<String>,
    /// The params of its `mining.subscribe`.
    pub subscribe: serde_json::Value,
}

impl RawPeer {
    /// The next client to connect to `listener` (5 s limit).
    pub async fn accept(listener: &tokio::net::TcpListener) -> Self {
        let (tcp, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept())
            .await
            .expect("the client connects")
            .expect("accept");
        Self::new(tcp)
    }

    /// Sends a successful response to request `id`.
    pub async fn reply(&mut self, id: serde_json::Value, result: serde_json::Value) {
        self.send(serde_json::json!({"id": id, "result": result, "error": null}))
            .await;
    }

    /// Sends a notification (a request with a null id).
    pub async fn notify(&mut self, method: &str, params: serde_json::Value) {
        self.send(serde_json::json!({"id": null, "method": method, "params": params}))
            .await;
    }

    /// Plays a pool through the client's handshake as `script` says: answers configure,
    /// subscribe (then sends the difficulty and the first job) and authorize, and returns once
    /// authorize is answered.
    pub async fn serve_handshake(&mut self, script: &PoolScript) -> Handshake {
        use serde_json::json;
        let mut methods = Vec::new();
        let mut subscribe = serde_json::Value::Null;
        loop {
            let v = self.recv().await.expect("client line");
            let method = v["method"].as_str().unwrap_or_default().to_string();
            let id = v["id"].clone();
            methods.push(method.clone());
            match method.as_str() {
                "mining.configure" => {
                    let r = match &script.mask {
                        Some(mask) => {
                            json!({"version-rolling": true, "version-rolling.mask": mask})
                        }
                        None => json!({"version-rolling": false}),
                    };
                    self.reply(id, r).await;
                }
                "mining.subscribe" => {
                    subscribe = v["params"].clone();
                    let notify = json!([["mining.notify", script.session]]);
                    self.reply(id, json!([notify, script.extranonce1, 4])).await;
                    if let Some(d) = &script.difficulty {
                        self.notify("mining.set_difficulty", json!([d])).await;
                    }
                    let n = hashforge_stratum::Template::synthetic(script.template_extranonce_size)
                        .notify(script.job.clone(), true);
                    self.notify("mining.notify", n.to_params()).await;
                }
                "mining.authorize" => {
                    self.reply(id, json!(true)).await;
                    return Handshake { methods, subscribe };
                }
                _ => {}
            }
        }
    }
}

/// What a miner gets from [`RawPeer::session`].
#[derive(Clone, Debug)]
pub struct Session {
    pub extranonce1: Vec<u8>,
    /// The session id (to resume with).
    pub id: String,
    /// The first job, at the difficulty set before it.
    pub job: hashforge_stratum::Job,
    /// Whether that job cleaned the earlier ones.
    pub clean: bool,
}

impl RawPeer {
    /// Plays a miner against a pool server: subscribes (resuming `resume` if given) and
    /// authorizes `user`, and waits for the first job.
    pub async fn session(&mut self, resume: Option<&str>, user: &str) -> Session {
        use serde_json::json;
        let params = match resume {
            Some(s) => json!(["test/1", s]),
            None => json!(["test/1"]),
        };
        let mut seen = Vec::new();
        self.send(json!({"id": 1, "method": "mining.subscribe", "params": params}))
            .await;
        let r = self.recv_response(1, &mut seen).await;
        let extranonce1 = hex::decode(r["result"][1].as_str().expect("extranonce1")).expect("hex");
        let id = r["result"][0][0][1]
            .as_str()
            .expect("session id")
            .to_string();
        self.send(json!({"id": 2, "method": "mining.authorize", "params": [user, "x"]}))
            .await;
        assert_eq!(self.recv_response(2, &mut seen).await["result"], true);
        while !seen.iter().any(|v| v["method"] == "mining.notify") {
            seen.push(self.recv().await.expect("a job"));
        }
        let clean = seen
            .iter()
            .rfind(|v| v["method"] == "mining.notify")
            .and_then(|v| v["params"][8].as_bool())
            .expect("clean_jobs");
        let job = last_job(&seen, &extranonce1, None);
        Session {
            extranonce1,
            id,
            job,
            clean,
        }
    }
}

/// The last job among `seen` (a pool's notifications), at the difficulty last set before it,
/// with an extranonce2 of 8 bytes and the version rolling `mask` granted.
pub fn last_job(seen: &[serde_json::Value], extranonce1: &[u8], mask: Option<u32>) -> Job {
    let mut difficulty = 0.0;
    let mut job = None;
    for v in seen {
        match ServerMessage::parse_line(&v.to_string()).expect("parse") {
            ServerMessage::SetDifficulty(d) => difficulty = d,
            ServerMessage::Notify(n) => job = Some((n, difficulty)),
            _ => {}
        }
    }
    let (notify, difficulty) = job.expect("a job was sent");
    Job::new(notify, extranonce1.to_vec(), 8, difficulty, mask)
}

/// The error code of a response (`-1` when it has none).
pub fn error_code(v: &serde_json::Value) -> i64 {
    v["error"][0].as_i64().unwrap_or(-1)
}

/// A `mining.submit` request for `share` as `user`, with the rolled version bits if given.
pub fn submit_request(
    id: u64,
    user: &str,
    share: &Share,
    version_bits: Option<u32>,
) -> serde_json::Value {
    let mut p = vec![
        serde_json::json!(user),
        serde_json::json!(share.job_id),
        serde_json::json!(hex::encode(&share.extranonce2)),
        serde_json::json!(format!("{:08x}", share.ntime)),
        serde_json::json!(format!("{:08x}", share.nonce)),
    ];
    if let Some(b) = version_bits {
        p.push(serde_json::json!(format!("{b:08x}")));
    }
    serde_json::json!({"id": id, "method": "mining.submit", "params": p})
}
