//! [`NodeFeed`]: keeps a Stratum server supplied with work from a Bitcoin Core node and
//! submits the blocks its workers find.
//!
//! Two tasks run per feed:
//!
//! - the *poller* asks the node for templates with a [`TemplatePoller`] (long polling, falling
//!   back to interval polling) and retries every failure with exponential backoff, one log line
//!   per failure;
//! - the *feed* turns each changed template into a [`BlockBuilder`] and a Stratum [`Template`]
//!   (pushed with `clean_jobs` on a new previous block, as a plain update at most every
//!   [`NodeFeedOptions::update_interval`] on new transactions), and for every found block
//!   (from the server's own block stream, [`ServerHandle::take_blocks`], never behind share
//!   events) assembles the block and submits it in a task of its own: blocks are submitted
//!   concurrently, a slow node holds up neither the next block nor new work. Each submission is
//!   retried ([`NodeFeedOptions::submit_attempts`]); one that still fails is logged at ERROR
//!   with the block's hex, so the operator can resubmit it. Then the feed asks for a fresh
//!   template right away.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitcoin::hashes::Hash;
use bitcoin::{BlockHash, Txid};
use hashforge_stratum::text::Escaped;
use hashforge_stratum::{FoundBlock, ServerEvent, ServerHandle, Template};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use crate::node::{
    BlockBuilder, BlockError, BlockTemplate, CoinbaseOptions, PayoutScript, RpcClient, RpcError,
    SubmitOutcome, TemplatePoller,
};

/// Builders kept for blocks found on recent templates.
const MAX_BUILDERS: usize = 32;
/// Block reports kept in [`FeedStats::recent_blocks`].
const MAX_REPORTS: usize = 64;

/// Settings of a [`NodeFeed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFeedOptions {
    /// Bytes pushed in the coinbase scriptSig after the extranonce (`--coinbase-tag`); empty for
    /// none.
    pub coinbase_tag: Vec<u8>,
    /// Polling period when long polling is unavailable (and the minimum wait after a long poll
    /// that answered at once with an unchanged template).
    pub poll_interval: Duration,
    /// How long to poll by interval after a failed long poll before long polling again.
    pub longpoll_retry: Duration,
    /// Shortest time between two non-clean updates (same previous block, new transactions).
    /// A new previous block is always pushed at once.
    pub update_interval: Duration,
    /// First delay before retrying a failed `getblocktemplate`; doubles on each failure.
    pub retry_initial: Duration,
    /// Longest delay between retries.
    pub retry_max: Duration,
    /// Attempts at `submitblock` for one block before giving up (at least 1).
    pub submit_attempts: u32,
}

impl Default for NodeFeedOptions {
    /// Tag `/hashforge/`, poll every 5 s without long polling, retry long polling after 60 s,
    /// non-clean updates at most every 30 s, retries from 1 s up to 30 s, 5 submit attempts.
    fn default() -> Self {
        NodeFeedOptions {
            coinbase_tag: b"/hashforge/".to_vec(),
            poll_interval: Duration::from_secs(5),
            longpoll_retry: Duration::from_secs(60),
            update_interval: Duration::from_secs(30),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(30),
            submit_attempts: 5,
        }
    }
}

/// Why a [`NodeFeed`] could not start.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The first `getblocktemplate` failed (node unreachable, bad credentials, syncing…).
    #[error("cannot get a block template from the node: {0}")]
    Node(RpcError),
    /// The node's template cannot be turned into work (e.g. the coinbase tag is too long).
    #[error("cannot build work from the node's block template: {0}")]
    Block(BlockError),
}

impl From<RpcError> for FeedError {
    fn from(e: RpcError) -> Self {
        FeedError::Node(e)
    }
}

impl From<BlockError> for FeedError {
    fn from(e: BlockError) -> Self {
        FeedError::Block(e)
    }
}

/// What became of a block a worker found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockOutcome {
    /// `submitblock` accepted it.
    Accepted,
    /// `submitblock` rejected it with this BIP 22 reason.
    Rejected(String),
    /// It could not be assembled or submitted (the error, one line).
    Failed(String),
}

/// One block found by a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockReport {
    /// Block hash.
    pub hash: BlockHash,
    /// Height of the block (0 when its template was unknown).
    pub height: u32,
    /// Worker that found it.
    pub worker: String,
    /// Server template id it was found on.
    pub template_id: u64,
    /// What the node said.
    pub outcome: BlockOutcome,
    /// When the node's answer came (or the submission failed).
    pub answered_at: std::time::SystemTime,
}

/// Counters of a running [`NodeFeed`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedStats {
    /// Templates pushed to the server.
    pub templates: u64,
    /// Of those, pushed with `clean_jobs` (new previous block).
    pub clean_templates: u64,
    /// Height of the block being worked on.
    pub height: Option<u32>,
    /// Previous block of the current work.
    pub previous_block: Option<BlockHash>,
    /// Transactions (besides the coinbase) in the current work.
    pub transactions: usize,
    /// Server template id of the current work.
    pub template_id: Option<u64>,
    /// Blocks found by workers.
    pub blocks_found: u64,
    /// Blocks sent to the node with `submitblock` (answered).
    pub blocks_submitted: u64,
    /// Blocks the node accepted.
    pub blocks_accepted: u64,
    /// Blocks the node rejected.
    pub blocks_rejected: u64,
    /// Blocks that could not be assembled or submitted.
    pub blocks_failed: u64,
    /// Blocks found on a previous block that the node already has one of ours on (a second
    /// block at the same height can only be an orphan): not submitted.
    pub blocks_superseded: u64,
    /// Failed RPC calls to the node (each was logged and retried).
    pub node_errors: u64,
    /// Templates that could not be turned into work.
    pub template_errors: u64,
    /// The last node or template error, one line.
    pub last_error: Option<String>,
    /// The most recent blocks found, oldest first (at most 64).
    pub recent_blocks: Vec<BlockReport>,
}

/// Feeds a Stratum server with work from a node; see the [module docs](crate::pool).
#[derive(Debug)]
pub struct NodeFeed;

impl NodeFeed {
    /// Fetches a first template from `rpc`, pushes it to `server` (clean jobs) and starts the
    /// feed in the background on the current Tokio runtime.
    ///
    /// The coinbase pays `payout` (see [`RpcClient::check_ready`]) and leaves an extranonce
    /// area of [`ServerHandle::extranonce_size`] bytes (extranonce1 ‖ extranonce2).
    /// `events` must be the event stream returned with `server` by
    /// [`hashforge_stratum::Server::bind`]: the feed consumes it.
    ///
    /// Fails when the first `getblocktemplate` fails (node unreachable, bad credentials,
    /// initial block download…) or its template cannot be turned into work; after that, every
    /// error is logged and retried and the feed runs until [`NodeFeedHandle::stop`] (or the
    /// server's event stream ends).
    pub async fn start(
        rpc: RpcClient,
        payout: PayoutScript,
        options: NodeFeedOptions,
        server: Arc<ServerHandle>,
        events: mpsc::Receiver<ServerEvent>,
    ) -> Result<NodeFeedHandle, FeedError> {
        let mut poller = TemplatePoller::new(rpc.clone(), options.poll_interval)
            .with_longpoll_retry(options.longpoll_retry);
        let first = poller.next().await?;
        let extranonce_size = server.extranonce_size();
        let coinbase = CoinbaseOptions {
            extranonce_len: extranonce_size,
            tag: options.coinbase_tag.clone(),
        };

        let (stats_tx, stats_rx) = watch::channel(FeedStats::default());
        let stats = Arc::new(stats_tx);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (template_tx, template_rx) = mpsc::channel(8);
        let blocks = server.take_blocks();

        let mut feed = Feed {
            rpc,
            payout,
            options: options.clone(),
            server,
            coinbase,
            extranonce_size,
            builders: VecDeque::new(),
            current: None,
            last_push: Instant::now(),
            pending: None,
            won_on: Arc::new(Mutex::new(None)),
            gates: Arc::default(),
            stats: stats.clone(),
            fresh_work: template_tx.clone(),
        };
        let key = TemplateKey::of(&first);
        feed.push(first, key, true)?;
        let poller = tokio::spawn(poll_templates(poller, template_tx, stats, options));
        let main = tokio::spawn(feed.run(events, blocks, template_rx, shutdown_rx));
        Ok(NodeFeedHandle {
            stats: stats_rx,
            shutdown: shutdown_tx,
            main: Some(main),
            poller: Some(poller),
        })
    }
}

/// Controls a running [`NodeFeed`]; dropping it stops the feed abruptly, [`stop`](Self::stop)
/// stops it cleanly.
#[derive(Debug)]
pub struct NodeFeedHandle {
    stats: watch::Receiver<FeedStats>,
    shutdown: watch::Sender<bool>,
    main: Option<JoinHandle<()>>,
    poller: Option<JoinHandle<()>>,
}

impl NodeFeedHandle {
    /// A snapshot of the counters.
    pub fn stats(&self) -> FeedStats {
        self.stats.borrow().clone()
    }

    /// A receiver that sees every change of the counters (e.g. to wait for a block with
    /// [`watch::Receiver::wait_for`]).
    pub fn subscribe(&self) -> watch::Receiver<FeedStats> {
        self.stats.clone()
    }

    /// Whether the feed is still running (it ends on [`stop`](Self::stop) or when the server's
    /// event stream closes).
    pub fn is_running(&self) -> bool {
        self.main.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the feed: any block submission under way completes, a pending long poll is
    /// abandoned. The server keeps running.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(p) = self.poller.take() {
            p.abort();
            let _ = p.await;
        }
        if let Some(m) = self.main.take() {
            let _ = m.await;
        }
    }
}

impl Drop for NodeFeedHandle {
    fn drop(&mut self) {
        for task in [self.poller.take(), self.main.take()].into_iter().flatten() {
            task.abort();
        }
    }
}

/// The Stratum template for a block builder: the coinbase split around an extranonce area of
/// `extranonce_size` bytes (the server's extranonce1 size + extranonce2 size), the merkle
/// branch, the header fields and the network target.
pub fn stratum_template(
    builder: &BlockBuilder,
    extranonce_size: usize,
) -> Result<Template, BlockError> {
    let (coinb1, coinb2) = builder.coinbase_parts(extranonce_size)?;
    Ok(Template {
        prev_hash: builder.prev_hash_bytes(),
        version: builder.version(),
        nbits: builder.bits(),
        ntime: builder.time(),
        coinb1,
        coinb2,
        merkle_branch: builder.merkle_branch().to_vec(),
        network_target: builder.target(),
    })
}

/// What makes two templates the same work (the time is left out: it changes on every call).
#[derive(Debug, Clone, PartialEq, Eq)]
struct TemplateKey {
    prev: BlockHash,
    height: u32,
    version: u32,
    bits: u32,
    coinbase_value: u64,
    txids: Vec<Txid>,
}

impl TemplateKey {
    fn of(t: &BlockTemplate) -> Self {
        TemplateKey {
            prev: t.previous_block_hash,
            height: t.height,
            version: t.version,
            bits: t.bits.0,
            coinbase_value: t.coinbase_value,
            txids: t.txids(),
        }
    }
}

fn record_error(stats: &watch::Sender<FeedStats>, line: String, node: bool) {
    stats.send_modify(|s| {
        if node {
            s.node_errors += 1;
        } else {
            s.template_errors += 1;
        }
        s.last_error = Some(line);
    });
}

/// Asks the node for templates forever, forwarding each to the feed.
async fn poll_templates(
    mut poller: TemplatePoller,
    templates: mpsc::Sender<BlockTemplate>,
    stats: Arc<watch::Sender<FeedStats>>,
    options: NodeFeedOptions,
) {
    let mut delay = options.retry_initial;
    let mut last_id: Option<String> = None;
    loop {
        let asked = Instant::now();
        match poller.next().await {
            Ok(t) => {
                delay = options.retry_initial;
                let unchanged = t.longpoll_id.is_some() && t.longpoll_id == last_id;
                last_id.clone_from(&t.longpoll_id);
                if templates.send(t).await.is_err() {
                    return;
                }
                // A node that answers long polls at once without a change must not make us
                // spin.
                if unchanged && asked.elapsed() < Duration::from_secs(1) {
                    tokio::time::sleep(options.poll_interval).await;
                }
            }
            Err(e) => {
                warn!("node: getblocktemplate failed: {e}; retrying in {delay:?}");
                record_error(&stats, format!("getblocktemplate: {e}"), true);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(options.retry_max.max(options.retry_initial));
            }
        }
    }
}

/// State of the feed task.
struct Feed {
    rpc: RpcClient,
    payout: PayoutScript,
    options: NodeFeedOptions,
    server: Arc<ServerHandle>,
    coinbase: CoinbaseOptions,
    extranonce_size: usize,
    /// Builders of recent templates, by server template id, oldest first.
    builders: VecDeque<(u64, Arc<BlockBuilder>)>,
    /// The work the server hands out now.
    current: Option<TemplateKey>,
    /// When work was last pushed.
    last_push: Instant,
    /// A non-clean update waiting for `update_interval` to pass.
    pending: Option<BlockTemplate>,
    /// The previous-block hash (header order) of the last block of ours the node accepted.
    won_on: Arc<Mutex<Option<[u8; 32]>>>,
    /// One gate per previous-block hash: a block waits (up to [`SIBLING_WAIT`]) for the
    /// answer to another one on the same tip, and is not sent if that one was accepted.
    gates: Arc<Mutex<Gates>>,
    stats: Arc<watch::Sender<FeedStats>>,
    /// Where a submission task puts the template it fetched after its block.
    fresh_work: mpsc::Sender<BlockTemplate>,
}

/// Held while a block is submitted; one per tip.
type Gate = Arc<tokio::sync::Mutex<()>>;

/// The gates of the last [`MAX_GATES`] tips, by previous-block hash.
type Gates = VecDeque<([u8; 32], Gate)>;

/// The most tips whose submission gates are kept (older ones have long been answered).
const MAX_GATES: usize = 16;

/// How long a block waits for the node's answer to another block of ours on the same tip
/// before it is submitted anyway.
const SIBLING_WAIT: Duration = Duration::from_secs(2);

/// True (logged and counted) when the node already accepted a block of ours on the tip that
/// `found` extends: a second block at that height can only be an orphan, so it is not sent.
fn superseded(
    won_on: &Mutex<Option<[u8; 32]>>,
    stats: &watch::Sender<FeedStats>,
    found: &FoundBlock,
    hash: BlockHash,
) -> bool {
    if *lock(won_on) != Some(found.template.prev_hash) {
        return false;
    }
    info!(
        "block {hash} found by {}: not submitted, we already have a block at this height",
        Escaped(&found.worker)
    );
    stats.send_modify(|s| {
        s.blocks_found += 1;
        s.blocks_superseded += 1;
    });
    true
}

impl Feed {
    async fn run(
        mut self,
        mut events: mpsc::Receiver<ServerEvent>,
        mut blocks: Option<mpsc::UnboundedReceiver<FoundBlock>>,
        mut templates: mpsc::Receiver<BlockTemplate>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut submissions = JoinSet::new();
        loop {
            let due = self
                .pending
                .as_ref()
                .map(|_| self.last_push + self.options.update_interval);
            tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                b = next_block(&mut blocks), if blocks.is_some() => match b {
                    Some(b) => self.on_block(b, &mut submissions),
                    None => blocks = None,
                },
                Some(_) = submissions.join_next(), if !submissions.is_empty() => {}
                ev = events.recv() => match ev {
                    Some(ServerEvent::BlockFound(b)) => self.on_block(b, &mut submissions),
                    Some(ServerEvent::ShareRejected { worker, code, reason }) => {
                        debug!(
                            "share from {} rejected ({code}): {}",
                            Escaped(&worker),
                            Escaped(&reason)
                        );
                    }
                    Some(ServerEvent::ShareAccepted { .. }) => {}
                    None => {
                        debug!("server event stream closed; node feed stops");
                        break;
                    }
                },
                t = templates.recv() => match t {
                    Some(t) => self.offer(t),
                    None => break,
                },
                _ = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                    if let Some(t) = self.pending.take() {
                        let key = TemplateKey::of(&t);
                        self.push_or_log(t, key, false);
                    }
                }
            }
        }
        // Blocks already found are still submitted.
        if let Some(rx) = blocks.as_mut() {
            while let Ok(b) = rx.try_recv() {
                self.on_block(b, &mut submissions);
            }
        }
        while submissions.join_next().await.is_some() {}
        debug!("node feed stopped");
    }

    /// Considers a template from the node: pushes it if it is new work (at once on a new
    /// previous block, otherwise once `update_interval` has passed since the last push).
    fn offer(&mut self, t: BlockTemplate) {
        let key = TemplateKey::of(&t);
        if self.current.as_ref() == Some(&key) {
            // The node is back to (or still at) what the workers have.
            self.pending = None;
            return;
        }
        let clean = self.current.as_ref().is_none_or(|c| c.prev != key.prev);
        if !clean && Instant::now() < self.last_push + self.options.update_interval {
            debug!(
                "template with new transactions at height {} held until the update interval passes",
                t.height
            );
            self.pending = Some(t);
            return;
        }
        self.push_or_log(t, key, clean);
    }

    /// [`push`](Self::push), logging a template that cannot be used.
    fn push_or_log(&mut self, t: BlockTemplate, key: TemplateKey, clean: bool) {
        let height = t.height;
        if let Err(e) = self.push(t, key, clean) {
            error!("cannot build work from the template at height {height}: {e}; keeping the previous work");
            record_error(&self.stats, format!("template: {e}"), false);
        }
    }

    /// Builds and pushes a template to the server.
    fn push(&mut self, t: BlockTemplate, key: TemplateKey, clean: bool) -> Result<(), BlockError> {
        let builder = BlockBuilder::new(&t, &self.payout, &self.coinbase)?;
        let template = stratum_template(&builder, self.extranonce_size)?;
        let id = self.server.new_template(template, clean);
        self.pending = None;
        self.current = Some(key);
        self.last_push = Instant::now();
        info!(
            "new work: height {}, {} transactions, reward {:.8} BTC, previous block {}{}",
            t.height,
            t.transactions.len(),
            t.coinbase_value as f64 / 1e8,
            t.previous_block_hash,
            if clean {
                " (clean jobs)"
            } else {
                " (updated transactions)"
            }
        );
        self.builders.push_back((id, Arc::new(builder)));
        while self.builders.len() > MAX_BUILDERS {
            self.builders.pop_front();
        }
        self.stats.send_modify(|s| {
            s.templates += 1;
            if clean {
                s.clean_templates += 1;
            }
            s.height = Some(t.height);
            s.previous_block = Some(t.previous_block_hash);
            s.transactions = t.transactions.len();
            s.template_id = Some(id);
        });
        Ok(())
    }

    /// Assembles a found block and starts its submission (then fresh work) in a task of its
    /// own, so that a slow node delays neither other blocks nor templates.
    fn on_block(&mut self, found: FoundBlock, submissions: &mut JoinSet<()>) {
        let hash = BlockHash::from_byte_array(found.hash.0);
        // Found before the miners switched to the new tip: it would only be an orphan.
        if superseded(&self.won_on, &self.stats, &found, hash) {
            return;
        }
        let builder = self
            .builders
            .iter()
            .find(|(id, _)| *id == found.template_id)
            .map(|(_, b)| b.clone());
        let height = builder.as_ref().map_or(0, |b| b.height());
        let block = match builder {
            None => Err(format!("template {} is no longer known", found.template_id)),
            Some(builder) => {
                assemble(&builder, &found).map_err(|e| format!("cannot assemble: {e}"))
            }
        };
        let gate = {
            let mut gates = lock(&self.gates);
            let prev = found.template.prev_hash;
            match gates.iter().find(|(p, _)| *p == prev) {
                Some((_, gate)) => gate.clone(),
                None => {
                    let gate = Arc::new(tokio::sync::Mutex::new(()));
                    gates.push_back((prev, gate.clone()));
                    if gates.len() > MAX_GATES {
                        gates.pop_front();
                    }
                    gate
                }
            }
        };
        let task = Submission {
            rpc: self.rpc.clone(),
            options: self.options.clone(),
            stats: self.stats.clone(),
            won_on: self.won_on.clone(),
            gate,
            fresh_work: self.fresh_work.clone(),
        };
        submissions.spawn(task.run(found, hash, height, block));
    }
}

/// What a block's submission task needs.
struct Submission {
    rpc: RpcClient,
    options: NodeFeedOptions,
    stats: Arc<watch::Sender<FeedStats>>,
    won_on: Arc<Mutex<Option<[u8; 32]>>>,
    /// Held while this block is submitted (see [`Feed`]'s `gates`).
    gate: Gate,
    fresh_work: mpsc::Sender<BlockTemplate>,
}

impl Submission {
    /// Submits `block` (retried), logs and counts the outcome, then fetches fresh work.
    async fn run(
        self,
        found: FoundBlock,
        hash: BlockHash,
        height: u32,
        block: Result<Vec<u8>, String>,
    ) {
        let outcome = match block {
            Err(why) => {
                error!(
                    "block {hash} at height {height} found by {} NOT submitted: {why}; {}",
                    Escaped(&found.worker),
                    found.describe()
                );
                BlockOutcome::Failed(why)
            }
            Ok(block) => {
                // A block on the same tip may be in flight: wait a little for its answer, as
                // a second block at a height the node has accepted can only be an orphan. A
                // node slower than SIBLING_WAIT holds nothing back: the block goes anyway.
                let _turn = tokio::time::timeout(SIBLING_WAIT, self.gate.clone().lock_owned())
                    .await
                    .ok();
                if superseded(&self.won_on, &self.stats, &found, hash) {
                    return;
                }
                info!(
                    "block {hash} at height {height} found by {}: submitting",
                    Escaped(&found.worker)
                );
                let outcome = self.submit(&block).await;
                if outcome == BlockOutcome::Accepted {
                    *lock(&self.won_on) = Some(found.template.prev_hash);
                }
                match &outcome {
                    BlockOutcome::Accepted => info!(
                        "block {hash} at height {height} found by {}: accepted by the node",
                        Escaped(&found.worker)
                    ),
                    BlockOutcome::Rejected(reason) => warn!(
                        "block {hash} at height {height} found by {}: rejected by the node: {}",
                        Escaped(&found.worker),
                        Escaped(reason)
                    ),
                    BlockOutcome::Failed(e) => error!(
                        "block {hash} at height {height} found by {} NOT submitted: submitblock failed {} times: {e}; resubmit it by hand: submitblock {}",
                        Escaped(&found.worker),
                        self.options.submit_attempts.max(1),
                        hex::encode(&block)
                    ),
                }
                outcome
            }
        };
        let report = BlockReport {
            hash,
            height,
            worker: found.worker.clone(),
            template_id: found.template_id,
            outcome: outcome.clone(),
            answered_at: std::time::SystemTime::now(),
        };
        self.stats.send_modify(|s| {
            s.blocks_found += 1;
            match &outcome {
                BlockOutcome::Accepted => {
                    s.blocks_submitted += 1;
                    s.blocks_accepted += 1;
                }
                BlockOutcome::Rejected(_) => {
                    s.blocks_submitted += 1;
                    s.blocks_rejected += 1;
                }
                BlockOutcome::Failed(_) => s.blocks_failed += 1,
            }
            s.recent_blocks.push(report);
            if s.recent_blocks.len() > MAX_REPORTS {
                s.recent_blocks.remove(0);
            }
        });
        // The tip has (probably) moved: fresh work right away rather than when the long poll
        // answers.
        match self.rpc.get_block_template().await {
            Ok(t) => {
                let _ = self.fresh_work.send(t).await;
            }
            Err(e) => {
                warn!("node: getblocktemplate after a block failed: {e}; waiting for the poller");
                record_error(&self.stats, format!("getblocktemplate: {e}"), true);
            }
        }
    }

    /// `submitblock`, retried on errors (not on a reject) up to `submit_attempts` times.
    async fn submit(&self, block: &[u8]) -> BlockOutcome {
        let attempts = self.options.submit_attempts.max(1);
        let mut delay = Duration::from_millis(250);
        let mut attempt = 1;
        loop {
            match self.rpc.submit_block(block).await {
                Ok(SubmitOutcome::Accepted) => return BlockOutcome::Accepted,
                // An earlier attempt got through but its answer was lost.
                Ok(SubmitOutcome::Rejected(r)) if attempt > 1 && r == "duplicate" => {
                    return BlockOutcome::Accepted
                }
                Ok(SubmitOutcome::Rejected(r)) => return BlockOutcome::Rejected(r),
                Err(e) => {
                    record_error(&self.stats, format!("submitblock: {e}"), true);
                    if attempt == attempts {
                        return BlockOutcome::Failed(e.to_string());
                    }
                    warn!(
                        "node: submitblock failed (attempt {attempt} of {attempts}): {e}; retrying in {delay:?}"
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.options.retry_max.max(delay));
                    attempt += 1;
                }
            }
        }
    }
}

/// The next found block from the server's block stream (pending forever without one).
async fn next_block(
    blocks: &mut Option<mpsc::UnboundedReceiver<FoundBlock>>,
) -> Option<FoundBlock> {
    match blocks {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Locks a mutex, recovering from poisoning (the guarded value is a plain hash).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The full block for a found share: the builder's coinbase with `extranonce1 ‖ extranonce2`
/// must be the very coinbase the server hashed, else the header's merkle root is wrong.
fn assemble(builder: &BlockBuilder, found: &FoundBlock) -> Result<Vec<u8>, String> {
    let extranonce = [found.extranonce1.as_slice(), found.extranonce2.as_slice()].concat();
    let coinbase = builder
        .coinbase_tx_base(&extranonce)
        .map_err(|e| e.to_string())?;
    if coinbase != found.coinbase {
        return Err("the server's coinbase differs from the template's".into());
    }
    builder
        .assemble_block(&found.header, &extranonce)
        .map_err(|e| e.to_string())
}
