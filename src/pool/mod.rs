//! The serving side: our Stratum v1 server with the work it hands out. ("Pool" here is always
//! ours; the remote pools `mine` connects to are the protocol crate's client side.)
//!
//! - [`SoloPool`] (`solo`): the server plus a [`NodeFeed`], started together; `hashforge serve`
//!   runs it for a fleet and `mine --node` runs it in-process for the local miner.
//! - [`EmbeddedPool`] (`embedded`): the server with a synthetic template, for `mine` with no pool.
//! - [`status`]: the status block `serve` prints.
//!
//! [`NodeFeed`] drives a [`hashforge_stratum::ServerHandle`] from a node: it polls block
//! templates (long polling, with interval polling as a fallback), turns each into a Stratum
//! [`Template`](hashforge_stratum::Template) paying the configured address, pushes it to the
//! server (clean jobs on a new previous block, plain updates on new transactions), and submits
//! every block a worker finds straight to the node.
//!
//! It is used by `hashforge serve` (a pool for a fleet of miners) and can equally run on an
//! in-process server on `127.0.0.1:0` that a local miner connects to:
//!
//! ```no_run
//! use std::sync::Arc;
//! use hashforge::node::{RpcAuth, RpcClient, RpcConfig};
//! use hashforge::pool::{NodeFeed, NodeFeedOptions};
//! use hashforge_stratum::{Server, ServerConfig};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let auth = RpcAuth::CookieFile("/home/me/.bitcoin/regtest/.cookie".into());
//! let rpc = RpcClient::new(RpcConfig::new("http://127.0.0.1:18443", auth)?);
//! let (_info, payout) = rpc.check_ready("bcrt1q92v6550wrjqhldxwc2cvqlqm77wmzufv4dq433").await?;
//! let (server, events) = Server::bind("127.0.0.1:0".parse()?, ServerConfig::default()).await?;
//! let server = Arc::new(server);
//! let feed = NodeFeed::start(rpc, payout, NodeFeedOptions::default(), server.clone(), events)
//!     .await?;
//! // Miners connect to stratum+tcp://{server.local_addr()} …
//! let stats = feed.stats();
//! println!("{} templates, {} blocks accepted", stats.templates, stats.blocks_accepted);
//! feed.stop().await;
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod embedded;
mod node_feed;
pub mod solo;
pub mod status;

pub use embedded::EmbeddedPool;
pub use node_feed::{
    stratum_template, BlockOutcome, BlockReport, FeedError, FeedStats, NodeFeed, NodeFeedHandle,
    NodeFeedOptions,
};
pub use solo::SoloPool;
