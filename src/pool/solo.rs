//! `SoloPool`: our Stratum server and the [`NodeFeed`] that drives it, started together. It is
//! what `hashforge serve` runs for a fleet, and what `mine --node` runs in-process on
//! 127.0.0.1 for the local miner.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use hashforge_stratum::{Server, ServerConfig, ServerHandle, VardiffConfig};

use super::{FeedStats, NodeFeed, NodeFeedHandle, NodeFeedOptions};
use crate::node::{PayoutScript, RpcClient};

/// Where solo shares start on a chain whose network difficulty is lower (test chains).
const LOCAL_START_DIFFICULTY: f64 = 0.01;

/// A running server with its node feed.
pub struct SoloPool {
    server: Arc<ServerHandle>,
    feed: NodeFeedHandle,
}

impl SoloPool {
    /// Binds a server with `config` on `listen` and feeds it the node's templates; every block
    /// a worker finds goes to the node and pays `payout`.
    pub async fn start(
        rpc: RpcClient,
        payout: PayoutScript,
        listen: SocketAddr,
        config: ServerConfig,
        options: NodeFeedOptions,
    ) -> Result<Self> {
        let (server, events) = Server::bind(listen, config)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let server = Arc::new(server);
        let feed = NodeFeed::start(rpc, payout, options, server.clone(), events).await?;
        Ok(SoloPool { server, feed })
    }

    /// The in-process pool of `mine --node`, on 127.0.0.1: shares are never easier than the
    /// network target, so every share the miner sends is a block, submitted to the node at once.
    pub async fn local(
        rpc: RpcClient,
        payout: PayoutScript,
        coinbase_tag: Vec<u8>,
    ) -> Result<Self> {
        let template = rpc
            .get_block_template()
            .await
            .context("first getblocktemplate")?;
        let network = template.target.difficulty();
        // On a test chain (regtest: about every second hash is a block) vardiff raises the
        // difficulty to a sane share rate.
        let config = ServerConfig {
            start_difficulty: network.max(LOCAL_START_DIFFICULTY),
            min_difficulty: network,
            max_difficulty: network.max(ServerConfig::default().max_difficulty),
            vardiff: Some(VardiffConfig {
                target_interval: Duration::from_secs(2),
                retarget_interval: Duration::from_secs(6),
            }),
            ..ServerConfig::default()
        };
        let options = NodeFeedOptions {
            coinbase_tag,
            ..NodeFeedOptions::default()
        };
        Self::start(rpc, payout, "127.0.0.1:0".parse()?, config, options).await
    }

    /// The server (its address, workers and connections).
    pub fn server(&self) -> Arc<ServerHandle> {
        self.server.clone()
    }

    /// The URL a miner connects to over plain TCP.
    pub fn url(&self) -> String {
        format!("stratum+tcp://{}", self.server.local_addr())
    }

    /// Templates received and blocks found, submitted, accepted.
    pub fn stats(&self) -> FeedStats {
        self.feed.stats()
    }

    /// A receiver of the feed's counters as they change (for the HTTP API).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<FeedStats> {
        self.feed.subscribe()
    }

    /// Stops the feed (block submissions under way complete), then the server; returns the
    /// feed's final counters, with those submissions.
    pub async fn shutdown(self) -> FeedStats {
        let stats = self.feed.subscribe();
        self.feed.stop().await;
        self.server.shutdown().await;
        let last = stats.borrow().clone();
        last
    }
}
