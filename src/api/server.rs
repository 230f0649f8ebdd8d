//! The API server: the routes of `mine` and `serve` on axum, bound before anything is served
//! (so a busy port is an error at start), stopped with the command.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{middleware, Json, Router};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::auth::{self, Access};
use super::history::{self, History, Sampler};
use super::{
    dashboard, json, metrics, ApiConfig, ApiError, MinerSource, ServerSource, MAX_BODY_BYTES,
};

/// A running API; [`ApiHandle::shutdown`] stops it (dropping it stops it too).
#[derive(Debug)]
pub struct ApiHandle {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl ApiHandle {
    /// The bound address (with the port chosen when `listen` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, lets the requests under way finish, and returns.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ApiHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// The data a command's API serves.
pub enum ApiSource {
    Miner(MinerSource),
    Server(ServerSource),
}

/// Starts a command's API and those of both commands (see [`start`]): for `mine`,
/// `GET /api/v1/summary`, `/api/v1/backends`, `/api/v1/pools`, `/metrics` and
/// `POST /api/v1/pause`, `/api/v1/resume`; for `serve`, `GET /api/v1/summary`,
/// `/api/v1/workers`, `/api/v1/blocks` and `/metrics`.
pub async fn start_api(config: &ApiConfig, source: ApiSource) -> Result<ApiHandle, ApiError> {
    let (router, sample): (Router, Sampler) = match source {
        ApiSource::Miner(source) => {
            let source = Arc::new(source);
            let monitor = source.monitor.clone();
            let sample: Sampler = Box::new(move || {
                let status = monitor.snapshot().state.status;
                (status.total.rates.rate_10s, status.counters.accepted)
            });
            let routes = [
                ("/api/v1/summary", get(miner_summary)),
                ("/api/v1/backends", get(miner_backends)),
                ("/api/v1/pools", get(miner_pools)),
                ("/api/v1/pause", post(pause)),
                ("/api/v1/resume", post(resume)),
                ("/metrics", get(miner_metrics)),
            ];
            (routed(source, routes), sample)
        }
        ApiSource::Server(source) => {
            let source = Arc::new(source);
            let server = source.server.clone();
            let sample: Sampler = Box::new(move || {
                let rate = server.stats().iter().map(|w| w.hashrate).sum();
                (rate, server.totals().accepted)
            });
            let routes = [
                ("/api/v1/summary", get(server_summary)),
                ("/api/v1/workers", get(server_workers)),
                ("/api/v1/blocks", get(server_blocks)),
                ("/metrics", get(server_metrics)),
            ];
            (routed(source, routes), sample)
        }
    };
    start(config, router, sample).await
}

/// A router of `routes` (path, handlers) on `state`.
fn routed<S: Clone + Send + Sync + 'static>(
    state: S,
    routes: impl IntoIterator<Item = (&'static str, MethodRouter<S>)>,
) -> Router {
    routes
        .into_iter()
        .fold(Router::new(), |r, (path, handlers)| r.route(path, handlers))
        .with_state(state)
}

/// Adds the routes of both commands to `router`: `GET /api/v1/history` (the chart's points,
/// sampled by a task that stops with the API) and the dashboard at `GET /`. The dashboard
/// holds no data, so it is served without the token (its script sends one given in the URL's
/// `#token=`); everything else passes [`auth::check`].
async fn start(config: &ApiConfig, router: Router, sample: Sampler) -> Result<ApiHandle, ApiError> {
    let access = Access::new(config)?;
    let history = Arc::new(History::new());
    let router = router
        .merge(routed(
            history.clone(),
            [("/api/v1/history", get(history_points))],
        ))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(access, auth::check))
        .route("/", get(dashboard::page))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ApiError::Bind {
            addr: config.listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| ApiError::Bind {
        addr: config.listen,
        source,
    })?;
    let (stop, mut stopped) = watch::channel(false);
    history::spawn_sampler(history, sample, stopped.clone());
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!("the API stopped: {e}");
        }
    });
    Ok(ApiHandle {
        local_addr,
        stop,
        task: Some(task),
    })
}

async fn history_points(State(h): State<Arc<History>>) -> Json<history::HistoryJson> {
    Json(h.json())
}

async fn not_found() -> Response {
    let body = Json(serde_json::json!({ "error": "no such endpoint" }));
    (StatusCode::NOT_FOUND, body).into_response()
}

async fn miner_summary(State(s): State<Arc<MinerSource>>) -> Json<json::MinerSummary> {
    Json(json::MinerSummary::new(&s, &s.monitor.snapshot()))
}

async fn miner_backends(State(s): State<Arc<MinerSource>>) -> Json<json::Backends> {
    Json(json::Backends::new(&s.monitor.snapshot()))
}

async fn miner_pools(State(s): State<Arc<MinerSource>>) -> Json<json::Pools> {
    Json(json::Pools::new(&s.monitor.snapshot()))
}

async fn pause(State(s): State<Arc<MinerSource>>) -> Json<json::Paused> {
    s.monitor.pause();
    Json(json::Paused { paused: true })
}

async fn resume(State(s): State<Arc<MinerSource>>) -> Json<json::Paused> {
    s.monitor.resume();
    Json(json::Paused { paused: false })
}

fn metrics_response(text: String) -> Response {
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}

async fn miner_metrics(State(s): State<Arc<MinerSource>>) -> Response {
    metrics_response(metrics::miner(&s, &s.monitor.snapshot()))
}

async fn server_summary(State(s): State<Arc<ServerSource>>) -> Json<json::ServerSummary> {
    let workers = s.server.stats();
    let feed = s.feed.borrow().clone();
    Json(json::ServerSummary::new(
        s.server.local_addr().to_string(),
        s.started.elapsed().as_secs_f64(),
        s.server.connections(),
        &workers,
        &s.server.totals(),
        &feed,
    ))
}

async fn server_workers(State(s): State<Arc<ServerSource>>) -> Json<json::Workers> {
    Json(json::Workers::new(&s.server.stats()))
}

async fn server_blocks(State(s): State<Arc<ServerSource>>) -> Json<json::Blocks> {
    Json(json::Blocks::new(&s.feed.borrow().recent_blocks))
}

async fn server_metrics(State(s): State<Arc<ServerSource>>) -> Response {
    let workers = s.server.stats();
    let feed = s.feed.borrow().clone();
    metrics_response(metrics::server(
        s.started.elapsed().as_secs_f64(),
        s.server.connections(),
        &workers,
        &s.server.totals(),
        &feed,
    ))
}
