//! The embedded pool: our Stratum server on 127.0.0.1 with a synthetic template, so
//! `hashforge mine` with no pool shows accepted shares at once.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use hashforge_stratum::{Server, ServerConfig, ServerEvent, ServerHandle, Template, VardiffConfig};
use tokio::task::JoinHandle;

/// The running embedded pool.
pub struct EmbeddedPool {
    pub handle: Arc<ServerHandle>,
    task: JoinHandle<()>,
}

impl EmbeddedPool {
    /// Binds on 127.0.0.1 (port 0: any free port) and serves a synthetic template, refreshed (not
    /// clean) every `refresh`. Vardiff aims at a share every `share_interval` per connection.
    pub async fn start(
        start_difficulty: f64,
        share_interval: Duration,
        refresh: Duration,
    ) -> Result<Self> {
        let config = ServerConfig {
            start_difficulty,
            min_difficulty: 1e-6,
            vardiff: Some(VardiffConfig {
                target_interval: share_interval,
                retarget_interval: share_interval * 3,
            }),
            ..ServerConfig::default()
        };
        let (handle, mut events) = Server::bind("127.0.0.1:0".parse()?, config)
            .await
            .context("starting the embedded pool")?;
        let handle = Arc::new(handle);
        let extranonce = handle.extranonce_size();
        handle.new_template(synthetic(extranonce), true);
        let h = handle.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(refresh);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        h.new_template(synthetic(extranonce), false);
                    }
                    ev = events.recv() => match ev {
                        Some(ServerEvent::BlockFound(b)) => {
                            tracing::debug!(worker = %hashforge_stratum::text::Escaped(&b.worker), "embedded pool: share meets the synthetic network target");
                        }
                        Some(_) => {}
                        None => break,
                    }
                }
            }
        });
        tracing::info!("embedded pool listening on {}", handle.local_addr());
        Ok(EmbeddedPool { handle, task })
    }

    /// The URL a miner connects to.
    pub fn url(&self) -> String {
        format!("stratum+tcp://{}", self.handle.local_addr())
    }

    pub async fn shutdown(self) {
        self.handle.shutdown().await;
        self.task.abort();
    }
}

/// A synthetic template whose network target no share reaches in practice (difficulty 2^32), so
/// the embedded pool reports shares, not "blocks".
fn synthetic(extranonce_size: usize) -> Template {
    Template {
        network_target: crate::Target::from_difficulty(4_294_967_296.0)
            .expect("2^32 is a valid difficulty"),
        ..Template::synthetic(extranonce_size)
    }
}
