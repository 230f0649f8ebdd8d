//! Solo mining against a Bitcoin Core node.
//!
//! The pieces a solo-mining driver or a Stratum server needs to work from a full node:
//!
//! - [`rpc`]: an async JSON-RPC (1.0 or 2.0) client over plain HTTP/1.1 with basic or cookie
//!   authentication: `getblocktemplate` (with long polling), `submitblock`, `getblockchaininfo`,
//!   with typed errors ([`RpcError`]).
//! - [`template`]: the typed `getblocktemplate` result ([`BlockTemplate`]).
//! - [`block`]: the coinbase, merkle branch, header and full block built from a template
//!   ([`BlockBuilder`]), and the payout script ([`PayoutScript`]).
//!
//! Byte order: hashes are kept in Bitcoin's internal byte order (the order they are hashed and
//! serialized in); the reversed "display" hex of RPC replies is converted at the edge.
//!
//! ```no_run
//! use std::time::Duration;
//! use hashforge::node::{
//!     BlockBuilder, CoinbaseOptions, RpcAuth, RpcClient, RpcConfig, SubmitOutcome,
//!     TemplatePoller,
//! };
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = RpcAuth::CookieFile("/home/me/.bitcoin/regtest/.cookie".into());
//! let client = RpcClient::new(RpcConfig::new("http://127.0.0.1:18443", auth)?);
//! // Fails on a syncing node or an address of another network.
//! let (_info, payout) = client.check_ready("bcrt1q92v6550wrjqhldxwc2cvqlqm77wmzufv4dq433").await?;
//! let options = CoinbaseOptions { extranonce_len: 8, tag: b"/hashforge/".to_vec() };
//! let mut templates = TemplatePoller::new(client.clone(), Duration::from_secs(5));
//! loop {
//!     let template = templates.next().await?; // long polls after the first
//!     let work = BlockBuilder::new(&template, &payout, &options)?;
//!     // Stratum: coinb1/coinb2, merkle branch, version, prevhash, bits, time.
//!     let (_coinb1, _coinb2) = work.coinbase_parts(8)?;
//!     let _branch = work.merkle_branch();
//!     let extranonce = [0u8; 8];
//!     for nonce in 0..=u32::MAX {
//!         let header = work.header(&extranonce, work.time(), nonce)?;
//!         if work.meets_target(&header) {
//!             let block = work.assemble_block(&header, &extranonce)?;
//!             if let SubmitOutcome::Rejected(reason) = client.submit_block(&block).await? {
//!                 eprintln!("block rejected: {reason}");
//!             }
//!             break;
//!         }
//!     }
//! }
//! # }
//! ```

pub mod block;
pub mod http;
pub mod rpc;
pub mod template;

pub use block::{BlockBuilder, BlockError, CoinbaseOptions, PayoutError, PayoutScript};
pub use rpc::{
    ChainInfo, JsonRpcVersion, PollMode, RpcAuth, RpcClient, RpcConfig, RpcError, SubmitOutcome,
    TemplatePoller,
};
pub use template::{BlockTemplate, TemplateError, TemplateTransaction};
