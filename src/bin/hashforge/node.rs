//! Connecting to a Bitcoin Core node from the command line (`mine --node`, `serve`).

use anyhow::{bail, Context, Result};
use tracing::info;

use super::cli::NodeArgs;
use hashforge::node::{ChainInfo, PayoutScript, RpcAuth, RpcClient, RpcConfig};

/// A node that answered, is synced, and is on the payout address's network.
pub struct Node {
    pub rpc: RpcClient,
    pub chain: ChainInfo,
    pub payout: PayoutScript,
    pub address: String,
}

pub async fn connect(args: &NodeArgs) -> Result<Node> {
    let (Some(url), Some(address)) = (&args.node, &args.address) else {
        bail!("give --node URL and --address ADDR");
    };
    let auth = match (&args.rpc_cookie, &args.rpc_user, &args.rpc_pass) {
        (Some(path), _, _) => RpcAuth::CookieFile(path.clone()),
        (None, Some(user), Some(password)) => RpcAuth::UserPass {
            user: user.clone(),
            password: password.clone(),
        },
        _ => bail!("give --rpc-cookie FILE, or --rpc-user USER and --rpc-pass PASSWORD"),
    };
    let rpc = RpcClient::new(RpcConfig::new(url, auth)?);
    let (chain, payout) = rpc
        .check_ready(address)
        .await
        .with_context(|| format!("node {url}"))?;
    info!(
        "node {url} ready: {} chain at height {}",
        chain.network, chain.blocks
    );
    Ok(Node {
        rpc,
        chain,
        payout,
        address: address.clone(),
    })
}
