//! Solo mining: our Stratum server on 127.0.0.1 fed with the node's templates (the same
//! [`NodeFeed`] as `hashforge serve`), with share difficulty never below the network's, so
//! every share the miner sends is a block, submitted to the node at once.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use hashforge_stratum::{Server, ServerConfig, ServerHandle, VardiffConfig};

use crate::node::{PayoutScript, RpcClient};
use crate::pool::{FeedStats, NodeFeed, NodeFeedHandle, NodeFeedOptions};

/// Where solo shares start on a chain whose network difficulty is lower (test chains).
const SOLO_START_DIFFICULTY: f64 = 0.01;

/// The in-process solo pool.
pub struct SoloPool {
    server: Arc<ServerHandle>,
    feed: NodeFeedHandle,
}

impl SoloPool {
    pub async fn start(
        rpc: RpcClient,
        payout: PayoutScript,
        coinbase_tag: Vec<u8>,
    ) -> Result<Self> {
        let template = rpc
            .get_block_template()
            .await
            .context("first getblocktemplate")?;
        let network = template.target.difficulty();
        // Shares never easier than the network target, so each one is a block; on a test chain
        // (regtest: about every second hash is a block) vardiff raises it to a sane share rate.
        let config = ServerConfig {
            start_difficulty: network.max(SOLO_START_DIFFICULTY),
            min_difficulty: network,
            max_difficulty: network.max(ServerConfig::default().max_difficulty),
            vardiff: Some(VardiffConfig {
                target_interval: Duration::from_secs(2),
                retarget_interval: Duration::from_secs(6),
            }),
            ..ServerConfig::default()
        };
        let (server, events) = Server::bind("127.0.0.1:0".parse()?, config)
            .await
            .context("starting the local solo pool")?;
        let server = Arc::new(server);
        let options = NodeFeedOptions {
            coinbase_tag,
            ..NodeFeedOptions::default()
        };
        let feed = NodeFeed::start(rpc, payout, options, server.clone(), events).await?;
        Ok(SoloPool { server, feed })
    }

    /// The URL the miner connects to.
    pub fn url(&self) -> String {
        format!("stratum+tcp://{}", self.server.local_addr())
    }

    /// Templates received and blocks found, submitted, accepted.
    pub fn stats(&self) -> FeedStats {
        self.feed.stats()
    }

    pub async fn shutdown(self) {
        self.feed.stop().await;
        self.server.shutdown().await;
    }
}
