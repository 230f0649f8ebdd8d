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
//! - [`replay`]: a small local JSON-RPC node that replays recorded templates, for tests.
//!
//! Byte order: hashes are kept in Bitcoin's internal byte order (the order they are hashed and
//! serialized in); the reversed "display" hex of RPC replies is converted at the edge.

pub mod block;
mod http;
pub mod replay;
pub mod rpc;
pub mod template;

pub use block::{BlockBuilder, BlockError, CoinbaseOptions, PayoutError, PayoutScript};
pub use rpc::{
    ChainInfo, JsonRpcVersion, RpcAuth, RpcClient, RpcConfig, RpcError, SubmitOutcome,
    TemplatePoller,
};
pub use template::{BlockTemplate, TemplateError, TemplateTransaction};

/// Double SHA-256, the hash used for txids, merkle nodes and block hashes.
pub fn sha256d(data: &[u8]) -> [u8; 32] {
    use bitcoin::hashes::{sha256d, Hash};
    sha256d::Hash::hash(data).to_byte_array()
}
