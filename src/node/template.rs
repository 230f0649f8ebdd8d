//! The typed result of `getblocktemplate` (BIP 22/23, as Bitcoin Core returns it).

use bitcoin::consensus::encode::deserialize;
use bitcoin::hashes::Hash;
use bitcoin::{BlockHash, Transaction, Txid, Wtxid};
use hashforge_bitcoin::{hex, CompactTarget, Target};
use serde_json::Value;

/// Why a `getblocktemplate` result could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The reply is not a JSON object.
    #[error("block template is not a JSON object")]
    NotAnObject,
    /// A required field is absent (or null).
    #[error("block template lacks field `{0}`")]
    MissingField(&'static str),
    /// A field has the wrong type or an invalid value.
    #[error("block template field `{field}` is invalid: {reason}")]
    InvalidField {
        /// JSON name of the field (`transactions[3].data` for nested ones).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The easiest proof-of-work limit of any chain (regtest's, bits `207fffff`): a template whose
/// target is above it is nonsense.
pub const POW_LIMIT_BITS: u32 = 0x207f_ffff;
/// The highest block height a template may have: 500 000 000 and above are timestamps in a
/// lock time, no chain gets there.
pub const MAX_TEMPLATE_HEIGHT: u32 = 499_999_999;
/// The consensus limit of block weight (4 million weight units); a template's transactions
/// must fit in it (and in its own `weightlimit`, if lower).
pub const MAX_BLOCK_WEIGHT: u64 = 4_000_000;
/// The most transactions a block could hold (each weighs at least 240 units, 60 bytes), checked
/// before any is decoded.
pub const MAX_TEMPLATE_TRANSACTIONS: usize = (MAX_BLOCK_WEIGHT / 240) as usize;

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> TemplateError {
    TemplateError::InvalidField {
        field: field.into(),
        reason: reason.into(),
    }
}

/// One transaction of a block template, in template order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateTransaction {
    /// Full (witness) serialization, exactly as it goes into the block.
    pub data: Vec<u8>,
    /// Transaction id (checked against `data`).
    pub txid: Txid,
    /// Witness transaction id, the template's `hash` (checked against `data`).
    pub wtxid: Wtxid,
    /// Fee in satoshis, if the template gives it.
    pub fee: Option<u64>,
    /// Signature operation cost, if the template gives it.
    pub sigops: Option<u64>,
    /// Weight as computed from `data`.
    pub weight: u64,
    /// 1-based indexes of the template transactions this one spends from.
    pub depends: Vec<u32>,
}

impl TemplateTransaction {
    /// Whether the transaction carries witness data (`txid != wtxid`).
    pub fn has_witness(&self) -> bool {
        self.txid.to_byte_array() != self.wtxid.to_byte_array()
    }
}

/// A block template from `getblocktemplate`, with hashes in internal byte order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockTemplate {
    /// Block version for the header.
    pub version: u32,
    /// Hash of the block this one builds on.
    pub previous_block_hash: BlockHash,
    /// Transactions to include after the coinbase, in order.
    pub transactions: Vec<TemplateTransaction>,
    /// Total the coinbase may pay out (subsidy plus fees), in satoshis.
    pub coinbase_value: u64,
    /// Network target; a block hash must be at most this.
    pub target: Target,
    /// Compact form of the target, for the header.
    pub bits: CompactTarget,
    /// Node's current time (seconds since the epoch).
    pub cur_time: u32,
    /// Earliest valid header time.
    pub min_time: u32,
    /// Height of the block to build.
    pub height: u32,
    /// `scriptPubKey` of the witness commitment output, if the node supplied it.
    pub default_witness_commitment: Option<Vec<u8>>,
    /// Maximum serialized block size, if given.
    pub size_limit: Option<u64>,
    /// Maximum block weight, if given.
    pub weight_limit: Option<u64>,
    /// Maximum signature operation cost, if given.
    pub sigop_limit: Option<u64>,
    /// Identifier to pass back to long-poll for the next template.
    pub longpoll_id: Option<String>,
    /// Consensus rules the template relies on (`csv`, `!segwit`, `taproot`, ...).
    pub rules: Vec<String>,
}

fn field<'a>(obj: &'a serde_json::Map<String, Value>, name: &'static str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn required<'a>(
    obj: &'a serde_json::Map<String, Value>,
    name: &'static str,
) -> Result<&'a Value, TemplateError> {
    field(obj, name).ok_or(TemplateError::MissingField(name))
}

fn as_u64(v: &Value, name: &str) -> Result<u64, TemplateError> {
    v.as_u64()
        .ok_or_else(|| invalid(name, "expected a non-negative integer"))
}

fn as_u32(v: &Value, name: &str) -> Result<u32, TemplateError> {
    u32::try_from(as_u64(v, name)?).map_err(|_| invalid(name, "out of range"))
}

fn as_str<'a>(v: &'a Value, name: &str) -> Result<&'a str, TemplateError> {
    v.as_str().ok_or_else(|| invalid(name, "expected a string"))
}

fn hex_bytes(v: &Value, name: &str) -> Result<Vec<u8>, TemplateError> {
    hex::decode(as_str(v, name)?, "data")
        .map_err(|e| invalid(name, format!("bad hex: {}", e.reason)))
}

/// A 32-byte hash or target given as display (reversed) hex, returned in internal byte order.
fn display_hash(v: &Value, name: &str) -> Result<[u8; 32], TemplateError> {
    hex::decode_display(as_str(v, name)?, "hash").map_err(|e| invalid(name, e.reason))
}

fn optional_u64(
    obj: &serde_json::Map<String, Value>,
    name: &'static str,
) -> Result<Option<u64>, TemplateError> {
    field(obj, name).map(|v| as_u64(v, name)).transpose()
}

impl BlockTemplate {
    /// Parses the `result` of `getblocktemplate`.
    ///
    /// Every transaction's `data` is decoded and its `txid` and `hash` checked against it, and
    /// `target` against `bits`, so a corrupted template is refused here rather than producing
    /// an invalid block later.
    pub fn from_json(value: &Value) -> Result<Self, TemplateError> {
        let obj = value.as_object().ok_or(TemplateError::NotAnObject)?;

        let version_raw = required(obj, "version")?;
        let version = match version_raw.as_i64() {
            Some(v) if (i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&v) => v as u32,
            _ => return Err(invalid("version", "expected a 32-bit integer")),
        };
        let previous_block_hash = BlockHash::from_byte_array(display_hash(
            required(obj, "previousblockhash")?,
            "previousblockhash",
        )?);

        let bits_bytes = hex_bytes(required(obj, "bits")?, "bits")?;
        let bits_arr: [u8; 4] = bits_bytes
            .try_into()
            .map_err(|_| invalid("bits", "expected 4 bytes"))?;
        let bits = CompactTarget(u32::from_be_bytes(bits_arr));
        let target_from_bits =
            Target::from_compact(bits).map_err(|e| invalid("bits", e.to_string()))?;
        let target = match field(obj, "target") {
            Some(v) => {
                let t = Target::from_le_bytes(&display_hash(v, "target")?);
                if t != target_from_bits {
                    return Err(invalid("target", "does not match bits"));
                }
                t
            }
            None => target_from_bits,
        };
        if target == Target::from_limbs([0; 4]) {
            return Err(invalid(
                "bits",
                "the target is zero: no block could ever meet it",
            ));
        }
        let pow_limit = Target::from_compact(CompactTarget(POW_LIMIT_BITS))
            .expect("the regtest limit is a valid target");
        if target > pow_limit {
            return Err(invalid(
                "bits",
                format!("the target is above every chain's proof-of-work limit (bits {POW_LIMIT_BITS:08x})"),
            ));
        }

        let cur_time = as_u32(required(obj, "curtime")?, "curtime")?;
        let min_time = match field(obj, "mintime") {
            Some(v) => as_u32(v, "mintime")?,
            None => 0,
        };
        let height = as_u32(required(obj, "height")?, "height")?;
        if !(1..=MAX_TEMPLATE_HEIGHT).contains(&height) {
            return Err(invalid(
                "height",
                format!(
                    "{height} is not the height of a block to mine (1 to {MAX_TEMPLATE_HEIGHT})"
                ),
            ));
        }
        let coinbase_value = as_u64(required(obj, "coinbasevalue")?, "coinbasevalue")?;
        if coinbase_value > 21_000_000 * 100_000_000 {
            return Err(invalid("coinbasevalue", "more than 21 million BTC"));
        }

        let default_witness_commitment = field(obj, "default_witness_commitment")
            .map(|v| hex_bytes(v, "default_witness_commitment"))
            .transpose()?;
        let longpoll_id = field(obj, "longpollid")
            .map(|v| as_str(v, "longpollid").map(str::to_string))
            .transpose()?;
        let rules = match field(obj, "rules") {
            Some(v) => v
                .as_array()
                .ok_or_else(|| invalid("rules", "expected an array"))?
                .iter()
                .map(|r| as_str(r, "rules").map(str::to_string))
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };

        let txs = required(obj, "transactions")?
            .as_array()
            .ok_or_else(|| invalid("transactions", "expected an array"))?;
        if txs.len() > MAX_TEMPLATE_TRANSACTIONS {
            return Err(invalid(
                "transactions",
                format!(
                    "{} transactions, more than a block holds ({MAX_TEMPLATE_TRANSACTIONS})",
                    txs.len()
                ),
            ));
        }
        let transactions = txs
            .iter()
            .enumerate()
            .map(|(i, tx)| parse_transaction(i, tx))
            .collect::<Result<Vec<_>, _>>()?;
        let weight_limit = optional_u64(obj, "weightlimit")?;
        let max_weight = weight_limit.map_or(MAX_BLOCK_WEIGHT, |l| l.min(MAX_BLOCK_WEIGHT));
        let weight: u64 = transactions.iter().map(|t| t.weight).sum();
        if weight > max_weight {
            return Err(invalid(
                "transactions",
                format!(
                    "{} transactions weigh {weight} units, more than a block holds ({max_weight})",
                    transactions.len()
                ),
            ));
        }

        Ok(BlockTemplate {
            version,
            previous_block_hash,
            transactions,
            coinbase_value,
            target,
            bits,
            cur_time,
            min_time,
            height,
            default_witness_commitment,
            size_limit: optional_u64(obj, "sizelimit")?,
            weight_limit,
            sigop_limit: optional_u64(obj, "sigoplimit")?,
            longpoll_id,
            rules,
        })
    }

    /// Parses a JSON text holding the `result` of `getblocktemplate`.
    pub fn from_json_str(text: &str) -> Result<Self, TemplateError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| invalid("(template)", e.to_string()))?;
        Self::from_json(&value)
    }

    /// Header time to use: `curtime`, raised to `mintime` if needed.
    pub fn header_time(&self) -> u32 {
        self.cur_time.max(self.min_time)
    }

    /// Whether the template relies on segregated witness (rules `segwit` or `!segwit`).
    pub fn segwit_active(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.trim_start_matches('!') == "segwit")
            || self.default_witness_commitment.is_some()
    }

    /// The transaction ids, in template order.
    pub fn txids(&self) -> Vec<Txid> {
        self.transactions.iter().map(|t| t.txid).collect()
    }
}

fn parse_transaction(i: usize, value: &Value) -> Result<TemplateTransaction, TemplateError> {
    let name = |f: &str| format!("transactions[{i}].{f}");
    let obj = value
        .as_object()
        .ok_or_else(|| invalid(format!("transactions[{i}]"), "expected an object"))?;
    let data = hex_bytes(
        obj.get("data")
            .filter(|v| !v.is_null())
            .ok_or(TemplateError::MissingField("transactions[].data"))?,
        &name("data"),
    )?;
    let tx: Transaction =
        deserialize(&data).map_err(|e| invalid(name("data"), format!("not a transaction: {e}")))?;
    let txid = tx.compute_txid();
    let wtxid = tx.compute_wtxid();
    if let Some(v) = obj.get("txid").filter(|v| !v.is_null()) {
        if display_hash(v, &name("txid"))? != txid.to_byte_array() {
            return Err(invalid(name("txid"), "does not match data"));
        }
    }
    if let Some(v) = obj.get("hash").filter(|v| !v.is_null()) {
        if display_hash(v, &name("hash"))? != wtxid.to_byte_array() {
            return Err(invalid(name("hash"), "does not match data"));
        }
    }
    let opt = |f: &str| -> Result<Option<u64>, TemplateError> {
        obj.get(f)
            .filter(|v| !v.is_null())
            .map(|v| as_u64(v, &name(f)))
            .transpose()
    };
    let depends = match obj.get("depends").filter(|v| !v.is_null()) {
        Some(v) => v
            .as_array()
            .ok_or_else(|| invalid(name("depends"), "expected an array"))?
            .iter()
            .map(|d| as_u32(d, &name("depends")))
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    // 1-based indexes of earlier transactions only: a parent comes before its child.
    if let Some(d) = depends.iter().find(|&&d| d == 0 || d as usize > i) {
        return Err(invalid(
            name("depends"),
            format!("{d} is not the index of an earlier transaction"),
        ));
    }
    Ok(TemplateTransaction {
        txid,
        wtxid,
        fee: opt("fee")?,
        sigops: opt("sigops")?,
        weight: tx.weight().to_wu(),
        depends,
        data,
    })
}
