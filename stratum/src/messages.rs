//! Typed Stratum v1 messages: requests, notifications and responses, both directions.
//!
//! Parsing is strict about the fields a miner or pool relies on and lenient about the rest
//! (extra params are ignored, numbers may arrive as strings where pools do that).

use serde_json::{json, Value};

use crate::error::{MessageError, RejectReason};

/// Method names.
pub mod method {
    #![allow(missing_docs)]
    pub const CONFIGURE: &str = "mining.configure";
    pub const SUBSCRIBE: &str = "mining.subscribe";
    pub const AUTHORIZE: &str = "mining.authorize";
    pub const SUGGEST_DIFFICULTY: &str = "mining.suggest_difficulty";
    pub const EXTRANONCE_SUBSCRIBE: &str = "mining.extranonce.subscribe";
    pub const SUBMIT: &str = "mining.submit";
    pub const NOTIFY: &str = "mining.notify";
    pub const SET_DIFFICULTY: &str = "mining.set_difficulty";
    pub const SET_EXTRANONCE: &str = "mining.set_extranonce";
    pub const SET_VERSION_MASK: &str = "mining.set_version_mask";
    pub const RECONNECT: &str = "client.reconnect";
    pub const SHOW_MESSAGE: &str = "client.show_message";
    pub const GET_VERSION: &str = "client.get_version";
    pub const PING: &str = "mining.ping";
}

/// One JSON-RPC-ish line, before method-specific parsing.
#[derive(Debug, Clone, PartialEq)]
pub enum RawMessage {
    /// A request or notification (`id` is `null` for notifications).
    Request {
        /// Request id (`Value::Null` for notifications).
        id: Value,
        /// Method name.
        method: String,
        /// Params (`Value::Null` when absent).
        params: Value,
    },
    /// A response to an earlier request.
    Response(Response),
}

impl RawMessage {
    /// Parses a line of text.
    pub fn parse_line(line: &str) -> Result<Self, MessageError> {
        let v: Value =
            serde_json::from_str(line).map_err(|e| MessageError::new("json", e.to_string()))?;
        Self::from_value(v)
    }

    /// Classifies a JSON value.
    pub fn from_value(v: Value) -> Result<Self, MessageError> {
        let Value::Object(mut obj) = v else {
            return Err(MessageError::new("message", "not a JSON object"));
        };
        let id = obj.remove("id").unwrap_or(Value::Null);
        if let Some(m) = obj.get("method") {
            let method = m
                .as_str()
                .ok_or_else(|| MessageError::new("message", "method is not a string"))?
                .to_string();
            let params = obj.remove("params").unwrap_or(Value::Null);
            return Ok(RawMessage::Request { id, method, params });
        }
        if !obj.contains_key("result") && !obj.contains_key("error") {
            return Err(MessageError::new(
                "message",
                "neither method nor result/error",
            ));
        }
        let result = obj.remove("result").unwrap_or(Value::Null);
        let mut error = obj.get("error").and_then(parse_error);
        if error.is_none() && result == Value::Bool(false) {
            let msg = obj
                .get("reject-reason")
                .and_then(Value::as_str)
                .unwrap_or("rejected (result false)");
            error = Some(RejectReason {
                code: None,
                message: msg.to_string(),
            });
        }
        Ok(RawMessage::Response(Response { id, result, error }))
    }
}

/// Normalises every error shape seen in the wild; `None` for `null`.
pub fn parse_error(e: &Value) -> Option<RejectReason> {
    match e {
        Value::Null => None,
        Value::Array(a) => {
            let code = a.first().and_then(value_as_i64);
            let message = a
                .get(1)
                .map(value_to_text)
                .unwrap_or_else(|| "error".to_string());
            Some(RejectReason { code, message })
        }
        Value::Object(o) => {
            let code = o.get("code").and_then(value_as_i64);
            let message = o
                .get("message")
                .or_else(|| o.get("msg"))
                .map(value_to_text)
                .unwrap_or_else(|| e.to_string());
            Some(RejectReason { code, message })
        }
        Value::String(s) => Some(RejectReason {
            code: None,
            message: s.clone(),
        }),
        other => Some(RejectReason {
            code: value_as_i64(other),
            message: other.to_string(),
        }),
    }
}

fn value_to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn value_as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A response: `result`, plus a normalised error (which also covers ckpool's
/// `"reject-reason"` with `"result": false`).
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The id of the request answered.
    pub id: Value,
    /// The raw result.
    pub result: Value,
    /// The error, if any (in any wire shape).
    pub error: Option<RejectReason>,
}

impl Response {
    /// The request id as a number, when it is one.
    pub fn id_u64(&self) -> Option<u64> {
        match &self.id {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// `Ok(result)` for a success, `Err(reason)` for any error or a `false` result.
    pub fn outcome(&self) -> Result<&Value, RejectReason> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(&self.result),
        }
    }
}

/// Decodes a hex u32 written big-endian (`"20000000"`, `"0a029ed1"`), 1..=8 digits.
pub fn parse_hex_u32(s: &str, what: &str) -> Result<u32, MessageError> {
    if s.is_empty() || s.len() > 8 {
        return Err(MessageError::new(what, format!("bad u32 hex {s:?}")));
    }
    u32::from_str_radix(s, 16).map_err(|_| MessageError::new(what, format!("bad u32 hex {s:?}")))
}

/// Decodes arbitrary hex bytes.
pub fn parse_hex_bytes(s: &str, what: &str) -> Result<Vec<u8>, MessageError> {
    hex::decode(s).map_err(|_| MessageError::new(what, "bad hex"))
}

fn parse_hex_32(s: &str, what: &str) -> Result<[u8; 32], MessageError> {
    let v = parse_hex_bytes(s, what)?;
    v.try_into()
        .map_err(|_| MessageError::new(what, "expected 32 bytes"))
}

fn param<'a>(params: &'a Value, i: usize, what: &str) -> Result<&'a Value, MessageError> {
    params
        .as_array()
        .ok_or_else(|| MessageError::new(what, "params is not an array"))?
        .get(i)
        .ok_or_else(|| MessageError::new(what, format!("missing param {i}")))
}

fn param_str<'a>(params: &'a Value, i: usize, what: &str) -> Result<&'a str, MessageError> {
    param(params, i, what)?
        .as_str()
        .ok_or_else(|| MessageError::new(what, format!("param {i} is not a string")))
}

fn as_difficulty(v: &Value, what: &str) -> Result<f64, MessageError> {
    let d = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    match d {
        Some(d) if d.is_finite() && d > 0.0 => Ok(d),
        _ => Err(MessageError::new(what, format!("bad difficulty {v}"))),
    }
}

/// `mining.notify` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    /// Job id (opaque).
    pub job_id: String,
    /// Previous block hash exactly as the notify's hex decodes (each 4-byte word byte-swapped
    /// relative to the header); see [`crate::job::prevhash_to_header`].
    pub prevhash: [u8; 32],
    /// Coinbase part before the extranonces.
    pub coinb1: Vec<u8>,
    /// Coinbase part after the extranonces.
    pub coinb2: Vec<u8>,
    /// Merkle branch, each hash in internal byte order.
    pub merkle_branch: Vec<[u8; 32]>,
    /// Block version.
    pub version: u32,
    /// Compact network target.
    pub nbits: u32,
    /// Block time.
    pub ntime: u32,
    /// Whether previous jobs are invalid.
    pub clean_jobs: bool,
}

impl Notify {
    /// Parses `mining.notify` params.
    pub fn parse(params: &Value) -> Result<Self, MessageError> {
        const W: &str = method::NOTIFY;
        let branch = param(params, 4, W)?
            .as_array()
            .ok_or_else(|| MessageError::new(W, "merkle branch is not an array"))?
            .iter()
            .map(|b| {
                b.as_str()
                    .ok_or_else(|| MessageError::new(W, "branch entry is not a string"))
                    .and_then(|s| parse_hex_32(s, W))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let clean_jobs = match param(params, 8, W)? {
            Value::Bool(b) => *b,
            _ => return Err(MessageError::new(W, "clean_jobs is not a bool")),
        };
        let job_id = match param(params, 0, W)? {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(MessageError::new(W, "job id is not a string")),
        };
        Ok(Notify {
            job_id,
            prevhash: parse_hex_32(param_str(params, 1, W)?, W)?,
            coinb1: parse_hex_bytes(param_str(params, 2, W)?, W)?,
            coinb2: parse_hex_bytes(param_str(params, 3, W)?, W)?,
            merkle_branch: branch,
            version: parse_hex_u32(param_str(params, 5, W)?, W)?,
            nbits: parse_hex_u32(param_str(params, 6, W)?, W)?,
            ntime: parse_hex_u32(param_str(params, 7, W)?, W)?,
            clean_jobs,
        })
    }

    /// Encodes as `mining.notify` params.
    pub fn to_params(&self) -> Value {
        json!([
            self.job_id,
            hex::encode(self.prevhash),
            hex::encode(&self.coinb1),
            hex::encode(&self.coinb2),
            self.merkle_branch
                .iter()
                .map(hex::encode)
                .collect::<Vec<_>>(),
            format!("{:08x}", self.version),
            format!("{:08x}", self.nbits),
            format!("{:08x}", self.ntime),
            self.clean_jobs,
        ])
    }
}

/// `mining.submit` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submit {
    /// Worker name.
    pub user: String,
    /// Job id.
    pub job_id: String,
    /// Extranonce2 bytes.
    pub extranonce2: Vec<u8>,
    /// ntime.
    pub ntime: u32,
    /// Nonce (sent as big-endian hex of the u32, as cpuminer does).
    pub nonce: u32,
    /// Version bits (`rolled & mask`), only when version rolling was negotiated.
    pub version_bits: Option<u32>,
}

impl Submit {
    /// Parses `mining.submit` params.
    pub fn parse(params: &Value) -> Result<Self, MessageError> {
        const W: &str = method::SUBMIT;
        let version_bits = match params.as_array().and_then(|a| a.get(5)) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(parse_hex_u32(s, W)?),
            Some(_) => return Err(MessageError::new(W, "version bits is not a string")),
        };
        Ok(Submit {
            user: param_str(params, 0, W)?.to_string(),
            job_id: param_str(params, 1, W)?.to_string(),
            extranonce2: parse_hex_bytes(param_str(params, 2, W)?, W)?,
            ntime: parse_hex_u32(param_str(params, 3, W)?, W)?,
            nonce: parse_hex_u32(param_str(params, 4, W)?, W)?,
            version_bits,
        })
    }

    /// Encodes as `mining.submit` params.
    pub fn to_params(&self) -> Value {
        let mut p = vec![
            json!(self.user),
            json!(self.job_id),
            json!(hex::encode(&self.extranonce2)),
            json!(format!("{:08x}", self.ntime)),
            json!(format!("{:08x}", self.nonce)),
        ];
        if let Some(v) = self.version_bits {
            p.push(json!(format!("{v:08x}")));
        }
        Value::Array(p)
    }
}

/// A request from a miner to a pool.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientRequest {
    /// `mining.configure` (BIP 310), version-rolling only.
    Configure {
        /// Requested extensions.
        extensions: Vec<String>,
        /// Requested version-rolling mask.
        version_mask: Option<u32>,
        /// Requested minimum number of rollable bits.
        min_bit_count: Option<u32>,
    },
    /// `mining.subscribe`.
    Subscribe {
        /// User agent.
        user_agent: Option<String>,
        /// Session id to resume.
        session_id: Option<String>,
    },
    /// `mining.authorize`.
    Authorize {
        /// Worker name.
        user: String,
        /// Password.
        password: String,
    },
    /// `mining.suggest_difficulty`.
    SuggestDifficulty(f64),
    /// `mining.extranonce.subscribe`.
    ExtranonceSubscribe,
    /// `mining.submit`.
    Submit(Submit),
    /// Any other method (a pool answers it with an error).
    Unknown(String),
}

impl ClientRequest {
    /// Method name.
    pub fn method(&self) -> &str {
        match self {
            Self::Configure { .. } => method::CONFIGURE,
            Self::Subscribe { .. } => method::SUBSCRIBE,
            Self::Authorize { .. } => method::AUTHORIZE,
            Self::SuggestDifficulty(_) => method::SUGGEST_DIFFICULTY,
            Self::ExtranonceSubscribe => method::EXTRANONCE_SUBSCRIBE,
            Self::Submit(_) => method::SUBMIT,
            Self::Unknown(m) => m,
        }
    }

    /// Encodes params.
    pub fn params(&self) -> Value {
        match self {
            Self::Configure {
                extensions,
                version_mask,
                min_bit_count,
            } => {
                let mut o = serde_json::Map::new();
                if let Some(m) = version_mask {
                    o.insert("version-rolling.mask".into(), json!(format!("{m:08x}")));
                }
                if let Some(c) = min_bit_count {
                    o.insert("version-rolling.min-bit-count".into(), json!(c));
                }
                json!([extensions, o])
            }
            Self::Subscribe {
                user_agent,
                session_id,
            } => match (user_agent, session_id) {
                (Some(ua), Some(s)) => json!([ua, s]),
                (Some(ua), None) => json!([ua]),
                // The session id is positional: keep its place with a null user agent.
                (None, Some(s)) => json!([null, s]),
                (None, None) => json!([]),
            },
            Self::Authorize { user, password } => json!([user, password]),
            Self::SuggestDifficulty(d) => json!([d]),
            Self::ExtranonceSubscribe | Self::Unknown(_) => json!([]),
            Self::Submit(s) => s.to_params(),
        }
    }

    /// The full request object with the given id.
    pub fn to_request(&self, id: u64) -> Value {
        json!({"id": id, "method": self.method(), "params": self.params()})
    }

    /// Parses a request a pool received.
    pub fn parse(method_name: &str, params: &Value) -> Result<Self, MessageError> {
        let arr = |what: &str| -> Result<&Vec<Value>, MessageError> {
            match params {
                Value::Array(a) => Ok(a),
                _ => Err(MessageError::new(what, "params is not an array")),
            }
        };
        Ok(match method_name {
            method::CONFIGURE => {
                let a = arr(method::CONFIGURE)?;
                let extensions = a
                    .first()
                    .and_then(Value::as_array)
                    .ok_or_else(|| MessageError::new(method::CONFIGURE, "missing extensions"))?
                    .iter()
                    .filter_map(|e| e.as_str().map(str::to_string))
                    .collect();
                let opts = a.get(1).and_then(Value::as_object);
                let version_mask = match opts.and_then(|o| o.get("version-rolling.mask")) {
                    Some(Value::String(s)) => Some(parse_hex_u32(s, method::CONFIGURE)?),
                    _ => None,
                };
                let min_bit_count = opts
                    .and_then(|o| o.get("version-rolling.min-bit-count"))
                    .and_then(Value::as_u64)
                    .map(|c| c.min(32) as u32);
                Self::Configure {
                    extensions,
                    version_mask,
                    min_bit_count,
                }
            }
            method::SUBSCRIBE => {
                let a = match params {
                    Value::Null => &Vec::new(),
                    _ => arr(method::SUBSCRIBE)?,
                };
                Self::Subscribe {
                    user_agent: a.first().and_then(Value::as_str).map(str::to_string),
                    session_id: a.get(1).and_then(Value::as_str).map(str::to_string),
                }
            }
            method::AUTHORIZE => Self::Authorize {
                user: param_str(params, 0, method::AUTHORIZE)?.to_string(),
                password: params
                    .get(1)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            },
            method::SUGGEST_DIFFICULTY => Self::SuggestDifficulty(as_difficulty(
                param(params, 0, method::SUGGEST_DIFFICULTY)?,
                method::SUGGEST_DIFFICULTY,
            )?),
            method::EXTRANONCE_SUBSCRIBE => Self::ExtranonceSubscribe,
            method::SUBMIT => Self::Submit(Submit::parse(params)?),
            other => Self::Unknown(other.to_string()),
        })
    }
}

/// Result of `mining.subscribe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeResult {
    /// Subscription id of the `mining.notify` subscription (the session id to resume with).
    pub session_id: Option<String>,
    /// Extranonce1 bytes.
    pub extranonce1: Vec<u8>,
    /// Extranonce2 size in bytes.
    pub extranonce2_size: usize,
}

impl SubscribeResult {
    /// Parses the `result` of a subscribe response.
    pub fn parse(result: &Value) -> Result<Self, MessageError> {
        const W: &str = "mining.subscribe result";
        let a = result
            .as_array()
            .ok_or_else(|| MessageError::new(W, "not an array"))?;
        let subs = a.first().ok_or_else(|| MessageError::new(W, "empty"))?;
        let en1 = a
            .get(1)
            .and_then(Value::as_str)
            .ok_or_else(|| MessageError::new(W, "missing extranonce1"))?;
        let size = a
            .get(2)
            .and_then(Value::as_u64)
            .filter(|s| (1..=32).contains(s))
            .ok_or_else(|| MessageError::new(W, "bad extranonce2 size"))?;
        Ok(Self {
            session_id: session_from_subscriptions(subs),
            extranonce1: parse_hex_bytes(en1, W)?,
            extranonce2_size: size as usize,
        })
    }

    /// Encodes as a subscribe `result`.
    pub fn to_result(&self) -> Value {
        let sid = self.session_id.clone().unwrap_or_default();
        json!([
            [["mining.set_difficulty", sid], ["mining.notify", sid]],
            hex::encode(&self.extranonce1),
            self.extranonce2_size
        ])
    }
}

/// Picks the `mining.notify` subscription id, accepting `[[m,id],…]` and a bare `[m,id]`.
fn session_from_subscriptions(subs: &Value) -> Option<String> {
    let pairs: Vec<&Value> = match subs.as_array() {
        Some(a) if a.first().map(Value::is_array).unwrap_or(false) => a.iter().collect(),
        Some(_) => vec![subs],
        None => return None,
    };
    let id_of = |p: &Value| p.get(1).and_then(Value::as_str).map(str::to_string);
    pairs
        .iter()
        .find(|p| p.get(0).and_then(Value::as_str) == Some(method::NOTIFY))
        .and_then(|p| id_of(p))
        .or_else(|| pairs.first().and_then(|p| id_of(p)))
}

/// Result of `mining.configure` for version rolling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigureResult {
    /// Granted mask; `None` when version rolling was refused.
    pub version_mask: Option<u32>,
}

impl ConfigureResult {
    /// Parses the `result` of a configure response.
    pub fn parse(result: &Value) -> Result<Self, MessageError> {
        const W: &str = "mining.configure result";
        let o = result
            .as_object()
            .ok_or_else(|| MessageError::new(W, "not an object"))?;
        let granted = o.get("version-rolling").and_then(Value::as_bool) == Some(true);
        if !granted {
            return Ok(Self { version_mask: None });
        }
        let mask = match o.get("version-rolling.mask") {
            Some(Value::String(s)) => parse_hex_u32(s, W)?,
            _ => return Err(MessageError::new(W, "missing version-rolling.mask")),
        };
        Ok(Self {
            version_mask: Some(mask),
        })
    }
}

/// A message from a pool to a miner, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    /// `mining.notify`.
    Notify(Notify),
    /// `mining.set_difficulty`.
    SetDifficulty(f64),
    /// `mining.set_extranonce`.
    SetExtranonce {
        /// New extranonce1.
        extranonce1: Vec<u8>,
        /// New extranonce2 size.
        extranonce2_size: usize,
    },
    /// `mining.set_version_mask`.
    SetVersionMask(u32),
    /// `client.reconnect` (all params optional).
    Reconnect {
        /// Host to connect to (`None`: same host).
        host: Option<String>,
        /// Port (`None`: same port).
        port: Option<u16>,
        /// Seconds to wait before reconnecting.
        wait: Option<u64>,
    },
    /// `client.show_message`.
    ShowMessage(String),
    /// `client.get_version` (must be answered).
    GetVersion {
        /// Request id.
        id: Value,
    },
    /// `mining.ping` (must be answered with "pong").
    Ping {
        /// Request id.
        id: Value,
    },
    /// A response to one of our requests.
    Response(Response),
    /// A method we do not know.
    Unknown {
        /// Request id.
        id: Value,
        /// Method name.
        method: String,
    },
}

impl ServerMessage {
    /// Parses one line from a pool.
    pub fn parse_line(line: &str) -> Result<Self, MessageError> {
        Self::from_raw(RawMessage::parse_line(line)?)
    }

    /// Types a [`RawMessage`] from a pool.
    pub fn from_raw(raw: RawMessage) -> Result<Self, MessageError> {
        let (id, m, params) = match raw {
            RawMessage::Response(r) => return Ok(Self::Response(r)),
            RawMessage::Request { id, method, params } => (id, method, params),
        };
        Ok(match m.as_str() {
            method::NOTIFY => Self::Notify(Notify::parse(&params)?),
            method::SET_DIFFICULTY => Self::SetDifficulty(as_difficulty(
                param(&params, 0, method::SET_DIFFICULTY)?,
                method::SET_DIFFICULTY,
            )?),
            method::SET_EXTRANONCE => {
                const W: &str = method::SET_EXTRANONCE;
                let size = param(&params, 1, W)?
                    .as_u64()
                    .filter(|s| (1..=32).contains(s))
                    .ok_or_else(|| MessageError::new(W, "bad extranonce2 size"))?;
                Self::SetExtranonce {
                    extranonce1: parse_hex_bytes(param_str(&params, 0, W)?, W)?,
                    extranonce2_size: size as usize,
                }
            }
            method::SET_VERSION_MASK => Self::SetVersionMask(parse_hex_u32(
                param_str(&params, 0, method::SET_VERSION_MASK)?,
                method::SET_VERSION_MASK,
            )?),
            method::RECONNECT => {
                const W: &str = method::RECONNECT;
                let a = params.as_array().cloned().unwrap_or_default();
                let host = match a.first() {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) if s.is_empty() => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(_) => return Err(MessageError::new(W, "host is not a string")),
                };
                let port = match a.get(1) {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(
                        value_as_i64(v)
                            .and_then(|p| u16::try_from(p).ok())
                            .filter(|p| *p != 0)
                            .ok_or_else(|| MessageError::new(W, "bad port"))?,
                    ),
                };
                let wait = match a.get(2) {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(
                        value_as_i64(v)
                            .and_then(|w| u64::try_from(w).ok())
                            .ok_or_else(|| MessageError::new(W, "bad wait"))?,
                    ),
                };
                Self::Reconnect { host, port, wait }
            }
            method::SHOW_MESSAGE => {
                Self::ShowMessage(params.get(0).map(value_to_text).unwrap_or_default())
            }
            method::GET_VERSION => Self::GetVersion { id },
            method::PING => Self::Ping { id },
            _ => Self::Unknown { id, method: m },
        })
    }
}

/// A notification (`id: null`).
pub fn notification(method_name: &str, params: Value) -> Value {
    json!({"id": null, "method": method_name, "params": params})
}

/// A successful response.
pub fn response_ok(id: &Value, result: Value) -> Value {
    json!({"id": id, "result": result, "error": null})
}

/// An error response in the common `[code, message, null]` shape.
pub fn response_err(id: &Value, code: i64, message: &str) -> Value {
    json!({"id": id, "result": null, "error": [code, message, null]})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(line: &str) -> Option<RejectReason> {
        match RawMessage::parse_line(line) {
            Ok(RawMessage::Response(r)) => r.error,
            _ => None,
        }
    }

    #[test]
    fn error_shapes() {
        assert_eq!(
            reason(r#"{"id":4,"result":null,"error":[21,"Job not found",null]}"#),
            Some(RejectReason::new(21, "Job not found"))
        );
        assert_eq!(
            reason(r#"{"id":4,"result":null,"error":{"code":23,"message":"Low difficulty"}}"#),
            Some(RejectReason::new(23, "Low difficulty"))
        );
        let plain = reason(r#"{"id":4,"result":null,"error":"plain string"}"#);
        assert_eq!(
            plain.map(|r| (r.code, r.message)),
            Some((None, "plain string".into()))
        );
        let ck = reason(r#"{"reject-reason":"Above target","result":false,"error":null,"id":4}"#);
        assert_eq!(
            ck.map(|r| (r.kind(), r.message)),
            Some((
                crate::error::RejectKind::LowDifficulty,
                "Above target".into()
            ))
        );
        assert_eq!(reason(r#"{"result":true,"error":null,"id":4}"#), None);
    }

    #[test]
    fn submit_round_trip() {
        let s = Submit {
            user: "u".into(),
            job_id: "1".into(),
            extranonce2: vec![0xc7, 8, 0, 0],
            ntime: 0x64b3f3ec,
            nonce: 0x0a029ed1,
            version_bits: Some(0x2000),
        };
        let p = s.to_params();
        assert_eq!(
            p,
            json!(["u", "1", "c7080000", "64b3f3ec", "0a029ed1", "00002000"])
        );
        assert_eq!(Submit::parse(&p), Ok(s));
    }

    #[test]
    fn subscribe_keeps_a_session_id_without_user_agent() {
        // The stratum_server fuzz target's round trip: `[null, "sid"]` parsed, then encoded as `[]`.
        let req = ClientRequest::Subscribe {
            user_agent: None,
            session_id: Some("sid".into()),
        };
        assert_eq!(req.params(), json!([null, "sid"]));
        assert_eq!(ClientRequest::parse(req.method(), &req.params()), Ok(req));
    }

    #[test]
    fn reconnect_variants() {
        let m = ServerMessage::parse_line(
            r#"{"id":null,"method":"client.reconnect","params":["h",3333,"5"]}"#,
        );
        assert_eq!(
            m,
            Ok(ServerMessage::Reconnect {
                host: Some("h".into()),
                port: Some(3333),
                wait: Some(5)
            })
        );
        let m = ServerMessage::parse_line(r#"{"id":null,"method":"client.reconnect","params":[]}"#);
        assert_eq!(
            m,
            Ok(ServerMessage::Reconnect {
                host: None,
                port: None,
                wait: None
            })
        );
    }
}
