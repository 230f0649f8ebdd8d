//! Coinbase, merkle tree, header and block assembly from a [`BlockTemplate`].
//!
//! The coinbase is version 2 with one input (null prevout, sequence `ffffffff`) whose scriptSig
//! is `push(BIP 34 height) ‖ push(extranonce) ‖ [push(tag)]`, output 0 paying the template's
//! `coinbasevalue` to the payout script, output 1 (segwit templates) the 0-sat witness
//! commitment, a witness of one 32-byte zero item (the witness reserved value), locktime 0.

use std::str::FromStr;

use bitcoin::address::{Address, NetworkUnchecked};
use bitcoin::hashes::Hash;
use bitcoin::{BlockHash, Network, Script, ScriptBuf, Txid};

use super::template::BlockTemplate;
use hashforge_bitcoin::{merkle, sha256d, CompactTarget, Header, Target};

/// Bitcoin Core's limit on the coinbase scriptSig length (`bad-cb-length`).
pub const MAX_COINBASE_SCRIPT_SIG: usize = 100;
/// Bitcoin Core's lower limit on the coinbase scriptSig length.
pub const MIN_COINBASE_SCRIPT_SIG: usize = 2;
/// Prefix of a witness commitment output script: `OP_RETURN`, push 36, `aa21a9ed`.
pub const WITNESS_COMMITMENT_PREFIX: [u8; 6] = [0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];

/// Why a payout address cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayoutError {
    /// The text is not a Bitcoin address.
    #[error("invalid payout address {address:?}: {reason}")]
    Invalid {
        /// The address as given.
        address: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The address is valid, but for another network than the node's.
    #[error("payout address {address} is not valid on {network} (the node's network)")]
    WrongNetwork {
        /// The address as given.
        address: String,
        /// The network it was checked against.
        network: Network,
    },
}

/// The `scriptPubKey` the coinbase pays to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PayoutScript(ScriptBuf);

impl PayoutScript {
    /// Decodes an address of any type (P2PKH, P2SH, P2WPKH, P2WSH, P2TR, future witness
    /// versions) and checks it belongs to `network`.
    pub fn from_address(address: &str, network: Network) -> Result<Self, PayoutError> {
        let trimmed = address.trim();
        let unchecked =
            Address::<NetworkUnchecked>::from_str(trimmed).map_err(|e| PayoutError::Invalid {
                address: trimmed.to_string(),
                reason: e.to_string(),
            })?;
        let checked =
            unchecked
                .require_network(network)
                .map_err(|_| PayoutError::WrongNetwork {
                    address: trimmed.to_string(),
                    network,
                })?;
        Ok(PayoutScript(checked.script_pubkey()))
    }

    /// Uses a raw `scriptPubKey` as is.
    pub fn from_script(script: ScriptBuf) -> Self {
        PayoutScript(script)
    }

    /// The script bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The script.
    pub fn script(&self) -> &Script {
        &self.0
    }
}

/// Coinbase choices made by the miner rather than the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoinbaseOptions {
    /// Length of the extranonce area the limits are checked for at construction (default 8).
    pub extranonce_len: usize,
    /// Bytes pushed after the extranonce (`--coinbase-tag`); empty for none.
    pub tag: Vec<u8>,
}

impl Default for CoinbaseOptions {
    fn default() -> Self {
        CoinbaseOptions {
            extranonce_len: 8,
            tag: Vec::new(),
        }
    }
}

/// Why a block cannot be built from a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The coinbase scriptSig would be too short or too long for consensus.
    #[error("coinbase scriptSig would be {len} bytes; it must be 2 to 100 (shorten the coinbase tag or extranonce)")]
    ScriptSigLength {
        /// Resulting scriptSig length.
        len: usize,
    },
    /// The block would exceed the template's weight limit.
    #[error("block weight {weight} would exceed the template's limit {limit}")]
    WeightLimit {
        /// Block weight with the coinbase.
        weight: u64,
        /// `weightlimit` of the template.
        limit: u64,
    },
    /// The block would exceed the template's serialized size limit.
    #[error("block size {size} would exceed the template's limit {limit}")]
    SizeLimit {
        /// Serialized block size with the coinbase.
        size: u64,
        /// `sizelimit` of the template.
        limit: u64,
    },
    /// The block would exceed the template's signature operation limit.
    #[error("block sigop cost {cost} would exceed the template's limit {limit}")]
    SigopLimit {
        /// Sigop cost with the coinbase.
        cost: u64,
        /// `sigoplimit` of the template.
        limit: u64,
    },
    /// `default_witness_commitment` is not a witness commitment script.
    #[error("template's default_witness_commitment is not a witness commitment script")]
    BadWitnessCommitment,
}

/// Writes Bitcoin's CompactSize integer.
fn write_compact_size(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=0xfc => out.push(n as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xfe);
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

fn compact_size_len(n: u64) -> u64 {
    match n {
        0..=0xfc => 1,
        0xfd..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// The opcode(s) that push `len` bytes of data (without the data).
fn push_opcode(len: usize) -> Vec<u8> {
    match len {
        0..=75 => vec![len as u8],
        76..=255 => vec![0x4c, len as u8],
        256..=65535 => {
            let mut v = vec![0x4d];
            v.extend_from_slice(&(len as u16).to_le_bytes());
            v
        }
        _ => {
            let mut v = vec![0x4e];
            v.extend_from_slice(&(len as u32).to_le_bytes());
            v
        }
    }
}

/// `data` as a script push.
fn push_data(data: &[u8]) -> Vec<u8> {
    let mut v = push_opcode(data.len());
    v.extend_from_slice(data);
    v
}

/// The BIP 34 height as Bitcoin Core pushes it (`CScript() << height`): `OP_0`, `OP_1`..`OP_16`,
/// or a minimal script number push.
pub fn bip34_height_push(height: u32) -> Vec<u8> {
    match height {
        0 => vec![0x00],
        1..=16 => vec![0x50 + height as u8],
        _ => {
            let mut num = Vec::new();
            let mut h = height;
            while h > 0 {
                num.push((h & 0xff) as u8);
                h >>= 8;
            }
            if num.last().is_some_and(|b| b & 0x80 != 0) {
                num.push(0);
            }
            push_data(&num)
        }
    }
}

/// The witness commitment output script for a block whose non-coinbase transactions have
/// these wtxids, with the all-zero witness reserved value (BIP 141).
pub fn witness_commitment_script(wtxids: &[[u8; 32]]) -> Vec<u8> {
    let leaves: Vec<[u8; 32]> = std::iter::once([0u8; 32])
        .chain(wtxids.iter().copied())
        .collect();
    let commitment = merkle::hash_pair(&merkle::root(&leaves), &[0u8; 32]);
    let mut script = WITNESS_COMMITMENT_PREFIX.to_vec();
    script.extend_from_slice(&commitment);
    script
}

/// Everything needed to hand out work for one template and to assemble the block once a
/// header meets the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockBuilder {
    version: u32,
    prev_hash: BlockHash,
    bits: u32,
    time: u32,
    height: u32,
    target: Target,
    coinbase_value: u64,
    payout: PayoutScript,
    tag: Vec<u8>,
    witness_commitment: Option<Vec<u8>>,
    branch: Vec<[u8; 32]>,
    tx_count: u64,
    tx_data: Vec<u8>,
    tx_weight: u64,
    tx_sigops: Option<u64>,
    size_limit: Option<u64>,
    weight_limit: Option<u64>,
    sigop_limit: Option<u64>,
}

impl BlockBuilder {
    /// Prepares the block for `template` paying `payout`.
    ///
    /// Checks that the coinbase with `options.extranonce_len` extranonce bytes keeps the
    /// scriptSig within 2..=100 bytes and the block within the template's size, weight and
    /// sigop limits. Uses the template's `default_witness_commitment`, or computes it from the
    /// wtxids when the template is segwit but lacks one.
    pub fn new(
        template: &BlockTemplate,
        payout: &PayoutScript,
        options: &CoinbaseOptions,
    ) -> Result<Self, BlockError> {
        let witness_commitment = match &template.default_witness_commitment {
            Some(script) => {
                if script.len() != 38 || script[..6] != WITNESS_COMMITMENT_PREFIX {
                    return Err(BlockError::BadWitnessCommitment);
                }
                Some(script.clone())
            }
            None if template.segwit_active() => {
                let wtxids: Vec<[u8; 32]> = template
                    .transactions
                    .iter()
                    .map(|t| t.wtxid.to_byte_array())
                    .collect();
                Some(witness_commitment_script(&wtxids))
            }
            None => None,
        };
        let txids: Vec<[u8; 32]> = template
            .transactions
            .iter()
            .map(|t| t.txid.to_byte_array())
            .collect();
        let tx_data: Vec<u8> = template
            .transactions
            .iter()
            .flat_map(|t| t.data.iter().copied())
            .collect();
        // Saturating: the template's sigop counts are untrusted numbers, and a sum past u64::MAX
        // is over any limit anyway (tests/fixtures/fuzz/template_block/sigops-*).
        let tx_sigops = template
            .transactions
            .iter()
            .try_fold(0u64, |sum, t| Some(sum.saturating_add(t.sigops?)));
        let builder = BlockBuilder {
            version: template.version,
            prev_hash: template.previous_block_hash,
            bits: template.bits.0,
            time: template.header_time(),
            height: template.height,
            target: template.target,
            coinbase_value: template.coinbase_value,
            payout: payout.clone(),
            tag: options.tag.clone(),
            witness_commitment,
            branch: merkle::branch(&txids),
            tx_count: template.transactions.len() as u64,
            tx_data,
            tx_weight: template.transactions.iter().map(|t| t.weight).sum(),
            tx_sigops,
            size_limit: template.size_limit,
            weight_limit: template.weight_limit,
            sigop_limit: template.sigop_limit,
        };
        builder.check(options.extranonce_len)?;
        Ok(builder)
    }

    fn script_sig_len(&self, extranonce_len: usize) -> usize {
        let tag = if self.tag.is_empty() {
            0
        } else {
            push_opcode(self.tag.len()).len() + self.tag.len()
        };
        bip34_height_push(self.height).len()
            + push_opcode(extranonce_len).len()
            + extranonce_len
            + tag
    }

    /// Checks the scriptSig length and the template limits for this extranonce length.
    fn check(&self, extranonce_len: usize) -> Result<(), BlockError> {
        let len = self.script_sig_len(extranonce_len);
        if !(MIN_COINBASE_SCRIPT_SIG..=MAX_COINBASE_SCRIPT_SIG).contains(&len) {
            return Err(BlockError::ScriptSigLength { len });
        }
        let (coinb1, coinb2) = self.split(extranonce_len);
        let base = (coinb1.len() + extranonce_len + coinb2.len()) as u64;
        let witness = if self.witness_commitment.is_some() {
            2 + 1 + 1 + 32 // marker, flag, item count, item length, item
        } else {
            0
        };
        let head = 80 + compact_size_len(self.tx_count + 1);
        let size = head + base + witness + self.tx_data.len() as u64;
        let weight = 4 * head + 4 * base + witness + self.tx_weight;
        if let Some(limit) = self.size_limit {
            if size > limit {
                return Err(BlockError::SizeLimit { size, limit });
            }
        }
        if let Some(limit) = self.weight_limit {
            if weight > limit {
                return Err(BlockError::WeightLimit { weight, limit });
            }
        }
        if let (Some(limit), Some(tx_sigops)) = (self.sigop_limit, self.tx_sigops) {
            let mut coinbase = self.payout.script().count_sigops_legacy() as u64;
            if let Some(c) = &self.witness_commitment {
                coinbase += Script::from_bytes(c).count_sigops_legacy() as u64;
            }
            let cost = tx_sigops.saturating_add(4 * coinbase);
            if cost > limit {
                return Err(BlockError::SigopLimit { cost, limit });
            }
        }
        Ok(())
    }

    /// Non-witness coinbase split around the extranonce, without checks.
    fn split(&self, extranonce_len: usize) -> (Vec<u8>, Vec<u8>) {
        let mut c1 = Vec::with_capacity(64);
        c1.extend_from_slice(&2u32.to_le_bytes());
        c1.push(1); // input count
        c1.extend_from_slice(&[0u8; 32]);
        c1.extend_from_slice(&0xffff_ffffu32.to_le_bytes());
        c1.push(self.script_sig_len(extranonce_len) as u8);
        c1.extend_from_slice(&bip34_height_push(self.height));
        c1.extend_from_slice(&push_opcode(extranonce_len));

        let mut c2 = Vec::with_capacity(128);
        if !self.tag.is_empty() {
            c2.extend_from_slice(&push_data(&self.tag));
        }
        c2.extend_from_slice(&0xffff_ffffu32.to_le_bytes());
        let outputs = 1 + u64::from(self.witness_commitment.is_some());
        write_compact_size(&mut c2, outputs);
        c2.extend_from_slice(&self.coinbase_value.to_le_bytes());
        write_compact_size(&mut c2, self.payout.as_bytes().len() as u64);
        c2.extend_from_slice(self.payout.as_bytes());
        if let Some(c) = &self.witness_commitment {
            c2.extend_from_slice(&0u64.to_le_bytes());
            write_compact_size(&mut c2, c.len() as u64);
            c2.extend_from_slice(c);
        }
        c2.extend_from_slice(&0u32.to_le_bytes()); // locktime
        (c1, c2)
    }

    /// The non-witness coinbase split around an extranonce area of `extranonce_len` bytes, as
    /// Stratum's `coinb1` and `coinb2`: `sha256d(coinb1 ‖ extranonce ‖ coinb2)` is the coinbase
    /// txid.
    pub fn coinbase_parts(&self, extranonce_len: usize) -> Result<(Vec<u8>, Vec<u8>), BlockError> {
        self.check(extranonce_len)?;
        Ok(self.split(extranonce_len))
    }

    /// The coinbase without witness (what its txid hashes).
    pub fn coinbase_tx_base(&self, extranonce: &[u8]) -> Result<Vec<u8>, BlockError> {
        let (c1, c2) = self.coinbase_parts(extranonce.len())?;
        Ok([c1.as_slice(), extranonce, c2.as_slice()].concat())
    }

    /// The coinbase in full (witness) serialization, as it goes into the block.
    pub fn coinbase_tx(&self, extranonce: &[u8]) -> Result<Vec<u8>, BlockError> {
        let (c1, c2) = self.coinbase_parts(extranonce.len())?;
        if self.witness_commitment.is_none() {
            return Ok([c1.as_slice(), extranonce, c2.as_slice()].concat());
        }
        let mut tx = Vec::with_capacity(c1.len() + extranonce.len() + c2.len() + 36);
        tx.extend_from_slice(&c1[..4]);
        tx.extend_from_slice(&[0x00, 0x01]); // segwit marker and flag
        tx.extend_from_slice(&c1[4..]);
        tx.extend_from_slice(extranonce);
        tx.extend_from_slice(&c2[..c2.len() - 4]);
        tx.push(1); // one witness item
        tx.push(32);
        tx.extend_from_slice(&[0u8; 32]); // witness reserved value
        tx.extend_from_slice(&c2[c2.len() - 4..]);
        Ok(tx)
    }

    /// The coinbase txid for this extranonce.
    pub fn coinbase_txid(&self, extranonce: &[u8]) -> Result<Txid, BlockError> {
        Ok(Txid::from_byte_array(sha256d(
            &self.coinbase_tx_base(extranonce)?,
        )))
    }

    /// The merkle branch of the coinbase (internal byte order), each hash folded on the right.
    pub fn merkle_branch(&self) -> &[[u8; 32]] {
        &self.branch
    }

    /// The merkle root (internal byte order) for this extranonce.
    pub fn merkle_root(&self, extranonce: &[u8]) -> Result<[u8; 32], BlockError> {
        let txid = self.coinbase_txid(extranonce)?;
        Ok(merkle::fold_branch(txid.to_byte_array(), &self.branch))
    }

    /// The block header for this extranonce, header time and nonce.
    pub fn header(&self, extranonce: &[u8], time: u32, nonce: u32) -> Result<Header, BlockError> {
        Ok(Header {
            version: self.version,
            prev_blockhash: self.prev_hash.to_byte_array(),
            merkle_root: self.merkle_root(extranonce)?,
            time,
            bits: CompactTarget(self.bits),
            nonce,
        })
    }

    /// The full block (witness serialization) for `submitblock`: `header`, then the coinbase with
    /// `extranonce`, then the template's transactions.
    ///
    /// The header is used as given (a miner may have rolled its version or time).
    pub fn assemble_block(
        &self,
        header: &Header,
        extranonce: &[u8],
    ) -> Result<Vec<u8>, BlockError> {
        let coinbase = self.coinbase_tx(extranonce)?;
        let mut block = Vec::with_capacity(80 + 9 + coinbase.len() + self.tx_data.len());
        block.extend_from_slice(&header.to_bytes());
        write_compact_size(&mut block, self.tx_count + 1);
        block.extend_from_slice(&coinbase);
        block.extend_from_slice(&self.tx_data);
        Ok(block)
    }

    /// Header version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Hash of the previous block.
    pub fn prev_hash(&self) -> BlockHash {
        self.prev_hash
    }

    /// Hash of the previous block in internal byte order (as in the header).
    pub fn prev_hash_bytes(&self) -> [u8; 32] {
        self.prev_hash.to_byte_array()
    }

    /// Compact target (`nBits`) for the header.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Header time: the template's `curtime`, at least its `mintime`.
    pub fn time(&self) -> u32 {
        self.time
    }

    /// Height of the block.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Amount paid by coinbase output 0, in satoshis.
    pub fn coinbase_value(&self) -> u64 {
        self.coinbase_value
    }

    /// The network target.
    pub fn target(&self) -> Target {
        self.target
    }

    /// Whether a header's hash meets the network target.
    pub fn meets_target(&self, header: &Header) -> bool {
        self.target.is_met_by(&header.block_hash())
    }

    /// The witness commitment output script, if the block has one.
    pub fn witness_commitment(&self) -> Option<&[u8]> {
        self.witness_commitment.as_deref()
    }

    /// Number of transactions in the block, coinbase included.
    pub fn tx_count(&self) -> u64 {
        self.tx_count + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn height_push_matches_core() {
        assert_eq!(bip34_height_push(0), vec![0x00]);
        assert_eq!(bip34_height_push(1), vec![0x51]);
        assert_eq!(bip34_height_push(16), vec![0x60]);
        assert_eq!(bip34_height_push(17), vec![0x01, 0x11]);
        assert_eq!(bip34_height_push(127), vec![0x01, 0x7f]);
        assert_eq!(bip34_height_push(128), vec![0x02, 0x80, 0x00]);
        assert_eq!(bip34_height_push(201), vec![0x02, 0xc9, 0x00]);
        assert_eq!(bip34_height_push(840_000), vec![0x03, 0x40, 0xd1, 0x0c]);
    }
}
