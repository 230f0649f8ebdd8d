//! The HTTP API of `mine` and `serve`: JSON under `/api/v1/` and Prometheus metrics at
//! `/metrics`, served by axum on the Tokio runtime the command already runs. It knows nothing
//! of the command line: the binary gives it an [`ApiConfig`] and a source, [`MinerSource`]
//! (the miner's [`MinerMonitor`](crate::mining::MinerMonitor)) or [`ServerSource`] (our Stratum
//! server and its node feed).
//!
//! - [`server`]: binding, the routes of each command, shutdown
//! - [`auth`]: who may call what (the bearer token), checked before binding and per request
//! - [`json`]: the answers' shapes
//! - [`metrics`]: the Prometheus text (`prometheus-client`)
//! - [`history`]: the last hour of the hash rate (`GET /api/v1/history`)
//! - [`dashboard`]: the page at `GET /` (`dashboard.html`, embedded)
//!
//! Access: without a token the API serves its read-only (GET) endpoints on a loopback address
//! only, and answers every control (POST) endpoint with 401. With `token`, POSTs need
//! `Authorization: Bearer <token>`, and on a non-loopback address every request does. A
//! non-loopback address without a token is refused at start ([`ApiError::TokenRequired`]).
//!
//! Bounds: request bodies are capped at [`MAX_BODY_BYTES`] (no endpoint takes one); the lists
//! at [`json::MAX_LISTED_WORKERS`] workers (JSON) and [`metrics::MAX_WORKER_SERIES`] (metrics).
//! Connections are handled by axum's defaults (hyper HTTP/1.1, keep-alive, no connection
//! limit): the API is meant for loopback or a trusted network, behind the token.

pub mod auth;
pub mod dashboard;
pub mod history;
pub mod json;
pub mod metrics;
pub mod server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hashforge_stratum::ServerHandle;
use tokio::sync::watch;

use crate::mining::MinerMonitor;
use crate::pool::FeedStats;

pub use server::{start_api, ApiHandle, ApiSource};

/// The largest request body accepted, in bytes (no endpoint reads one).
pub const MAX_BODY_BYTES: usize = 1024;

/// The longest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 1024;

/// Where the API listens and the token it asks for.
#[derive(Clone)]
pub struct ApiConfig {
    pub listen: SocketAddr,
    /// The bearer token of control endpoints (and of every endpoint off loopback).
    pub token: Option<String>,
}

impl std::fmt::Debug for ApiConfig {
    /// The token is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("listen", &self.listen)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .finish()
    }
}

/// Why the API did not start.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the API on {0} is not on a loopback address: give it a token (--api-token) or listen on 127.0.0.1")]
    TokenRequired(SocketAddr),
    #[error("the API token must be 1 to {MAX_TOKEN_BYTES} visible ASCII characters")]
    BadToken,
    #[error("the API cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// What `mine`'s API reads.
#[derive(Clone, Debug)]
pub struct MinerSource {
    pub monitor: Arc<MinerMonitor>,
    /// The kernel(s) hashing, e.g. `sha-ni-x4` or `sha-ni-x4+wgsl`.
    pub kernel: String,
    /// CPU worker threads.
    pub threads: usize,
}

/// What `serve`'s API reads.
#[derive(Clone)]
pub struct ServerSource {
    pub server: Arc<ServerHandle>,
    pub feed: watch::Receiver<FeedStats>,
    pub started: Instant,
}
