//! Block building against real Bitcoin Core 30.3 regtest templates (see tests/fixtures).

use bitcoin::consensus::encode::deserialize;
use bitcoin::hashes::Hash;
use bitcoin::{Address, Block, Network, ScriptBuf, Transaction};
use hashforge::node::block::{
    witness_commitment_script, BlockBuilder, BlockError, CoinbaseOptions, PayoutError, PayoutScript,
};
use hashforge::node::{BlockTemplate, TemplateError};
use hashforge_bitcoin::merkle::{self, fold_branch};
use hashforge_bitcoin::{sha256d, Header};
use serde_json::Value;

const TAG: &[u8] = b"/hashforge-fixture/";

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json_fixture(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

fn display_hex(bytes: [u8; 32]) -> String {
    let mut b = bytes;
    b.reverse();
    hex::encode(b)
}

/// Set A: templates and the blocks built from them, accepted by Bitcoin Core.
const SET_A: [(&str, &str); 3] = [
    (
        "gbt-regtest-h201-empty.json",
        "block-regtest-h201-empty.json",
    ),
    ("gbt-regtest-h203-7tx.json", "block-regtest-h203-7tx.json"),
    ("gbt-regtest-h204-60tx.json", "block-regtest-h204-60tx.json"),
];

/// Set B: templates and the block Bitcoin Core mined itself from the same mempool.
const SET_B: [(&str, &str); 3] = [
    ("gbt-regtest-empty.json", "block-regtest-empty.hex"),
    ("gbt-regtest-6tx.json", "block-regtest-6tx.hex"),
    ("gbt-regtest-60tx.json", "block-regtest-60tx.hex"),
];

fn fixture_options() -> CoinbaseOptions {
    CoinbaseOptions {
        extranonce_len: 8,
        tag: TAG.to_vec(),
    }
}

fn regtest_payout() -> PayoutScript {
    PayoutScript::from_address(
        "bcrt1q92v6550wrjqhldxwc2cvqlqm77wmzufv4dq433",
        Network::Regtest,
    )
    .unwrap()
}

#[test]
fn set_a_blocks_are_rebuilt_byte_for_byte() {
    for (gbt, blk) in SET_A {
        let template = BlockTemplate::from_json(&json_fixture(gbt)).unwrap();
        let expected = json_fixture(blk);
        let s = |k: &str| expected[k].as_str().unwrap().to_string();

        let payout = PayoutScript::from_address(&s("payout_address"), Network::Regtest).unwrap();
        assert_eq!(
            hex::encode(payout.as_bytes()),
            s("payout_script_pubkey"),
            "{gbt}"
        );

        let builder = BlockBuilder::new(&template, &payout, &fixture_options()).unwrap();
        let extranonce = [0u8; 8];
        assert_eq!(
            hex::encode(builder.coinbase_tx(&extranonce).unwrap()),
            s("coinbase_hex"),
            "{gbt}: coinbase"
        );
        assert_eq!(
            builder.coinbase_txid(&extranonce).unwrap().to_string(),
            s("coinbase_txid"),
            "{gbt}: coinbase txid"
        );
        let root = builder.merkle_root(&extranonce).unwrap();
        assert_eq!(display_hex(root), s("merkleroot"), "{gbt}: merkle root");

        let nonce = expected["nonce"].as_u64().unwrap() as u32;
        assert_eq!(builder.time(), template.cur_time);
        let header = builder.header(&extranonce, builder.time(), nonce).unwrap();
        assert_eq!(
            header.block_hash().to_string(),
            s("hash"),
            "{gbt}: block hash"
        );
        assert!(builder.meets_target(&header), "{gbt}: target");

        let block = builder.assemble_block(&header, &extranonce).unwrap();
        assert_eq!(hex::encode(&block), s("hex"), "{gbt}: block");
        assert_eq!(block.len() as u64, expected["size"].as_u64().unwrap());

        let decoded: Block = deserialize(&block).unwrap();
        assert_eq!(
            decoded.weight().to_wu(),
            expected["weight"].as_u64().unwrap()
        );
        assert_eq!(
            decoded.txdata.len() as u64,
            expected["tx_count"].as_u64().unwrap()
        );
        assert!(decoded.check_merkle_root());
        assert!(decoded.check_witness_commitment());
        assert_eq!(
            decoded.bip34_block_height().unwrap(),
            u64::from(template.height)
        );
        assert_eq!(builder.tx_count(), expected["tx_count"].as_u64().unwrap());
    }
}

#[test]
fn stratum_parts_hash_to_the_coinbase_txid_and_fold_to_the_root() {
    for (gbt, blk) in SET_A {
        let template = BlockTemplate::from_json(&json_fixture(gbt)).unwrap();
        let expected = json_fixture(blk);
        let builder = BlockBuilder::new(&template, &regtest_payout(), &fixture_options()).unwrap();
        let (coinb1, coinb2) = builder.coinbase_parts(8).unwrap();
        let coinbase = [coinb1.as_slice(), &[0u8; 8], coinb2.as_slice()].concat();
        // Non-witness serialization: decodes as a transaction without witness.
        let tx: Transaction = deserialize(&coinbase).unwrap();
        assert!(tx.input[0].witness.is_empty());
        assert!(tx.is_coinbase());
        let txid = sha256d(&coinbase);
        assert_eq!(
            display_hex(txid),
            expected["coinbase_txid"].as_str().unwrap()
        );
        let root = fold_branch(txid, builder.merkle_branch());
        assert_eq!(display_hex(root), expected["merkleroot"].as_str().unwrap());
        assert_eq!(
            builder.merkle_branch().len(),
            (template.transactions.len() + 1)
                .next_power_of_two()
                .trailing_zeros() as usize
        );

        // Header fields for mining.notify, endianness converted at the edge.
        assert_eq!(builder.version(), template.version);
        assert_eq!(
            display_hex(builder.prev_hash_bytes()),
            json_fixture(gbt)["previousblockhash"].as_str().unwrap()
        );
        assert_eq!(
            format!("{:08x}", builder.bits()),
            json_fixture(gbt)["bits"].as_str().unwrap()
        );
        assert_eq!(
            builder.target().to_string(),
            json_fixture(gbt)["target"].as_str().unwrap()
        );

        // Another extranonce length: the scriptSig length byte follows.
        let (c1, c2) = builder.coinbase_parts(12).unwrap();
        let tx: Transaction =
            deserialize(&[c1.as_slice(), &[7u8; 12], c2.as_slice()].concat()).unwrap();
        assert_eq!(
            tx.compute_txid(),
            builder.coinbase_txid(&[7u8; 12]).unwrap()
        );
        let full: Transaction = deserialize(&builder.coinbase_tx(&[7u8; 12]).unwrap()).unwrap();
        assert_eq!(full.compute_txid(), tx.compute_txid());
        assert_eq!(full.input[0].witness.to_vec(), vec![vec![0u8; 32]]);
    }
}

#[test]
fn witness_commitment_is_computed_when_absent() {
    for (gbt, blk) in SET_A {
        let mut json = json_fixture(gbt);
        let template = BlockTemplate::from_json(&json).unwrap();
        let wtxids: Vec<[u8; 32]> = template
            .transactions
            .iter()
            .map(|t| t.wtxid.to_byte_array())
            .collect();
        assert_eq!(
            Some(witness_commitment_script(&wtxids)),
            template.default_witness_commitment,
            "{gbt}"
        );
        json.as_object_mut()
            .unwrap()
            .remove("default_witness_commitment");
        let without = BlockTemplate::from_json(&json).unwrap();
        assert!(without.default_witness_commitment.is_none());
        let builder = BlockBuilder::new(&without, &regtest_payout(), &fixture_options()).unwrap();
        let expected = json_fixture(blk);
        let nonce = expected["nonce"].as_u64().unwrap() as u32;
        let header = builder.header(&[0u8; 8], builder.time(), nonce).unwrap();
        let block = builder.assemble_block(&header, &[0u8; 8]).unwrap();
        assert_eq!(
            hex::encode(block),
            expected["hex"].as_str().unwrap(),
            "{gbt}"
        );
    }
}

#[test]
fn set_b_matches_the_blocks_bitcoin_core_mined() {
    for (gbt, blk) in SET_B {
        let json = json_fixture(gbt);
        let template = BlockTemplate::from_json(&json).unwrap();
        let raw = hex::decode(fixture(blk).trim()).unwrap();
        let block: Block = deserialize(&raw).unwrap();

        // Transactions: same list, same order, byte for byte.
        assert_eq!(block.txdata.len(), template.transactions.len() + 1, "{gbt}");
        for (tx, t) in block.txdata[1..].iter().zip(&template.transactions) {
            assert_eq!(tx.compute_txid(), t.txid);
            assert_eq!(tx.compute_wtxid(), t.wtxid);
            assert_eq!(bitcoin::consensus::serialize(tx), t.data);
            assert_eq!(tx.weight().to_wu(), t.weight);
        }
        for (t, j) in template
            .transactions
            .iter()
            .zip(json["transactions"].as_array().unwrap())
        {
            assert_eq!(t.fee, j["fee"].as_u64());
            assert_eq!(t.sigops, j["sigops"].as_u64());
            assert_eq!(Some(t.weight), j["weight"].as_u64());
        }

        // Merkle tree over the non-coinbase txids, folded with Core's coinbase txid.
        let txids: Vec<[u8; 32]> = template.txids().iter().map(|t| t.to_byte_array()).collect();
        let cb_txid = block.txdata[0].compute_txid().to_byte_array();
        let branch = merkle::branch(&txids);
        assert_eq!(
            fold_branch(cb_txid, &branch),
            block.header.merkle_root.to_byte_array()
        );
        let mut leaves = vec![cb_txid];
        leaves.extend(&txids);
        assert_eq!(
            merkle::root(&leaves),
            block.header.merkle_root.to_byte_array()
        );

        // Witness commitment: same structure and value as Core's coinbase output.
        let wtxids: Vec<[u8; 32]> = template
            .transactions
            .iter()
            .map(|t| t.wtxid.to_byte_array())
            .collect();
        let commitment = witness_commitment_script(&wtxids);
        assert_eq!(
            Some(&commitment),
            template.default_witness_commitment.as_ref()
        );
        let core_commitment = block.txdata[0]
            .output
            .iter()
            .rev()
            .find(|o| {
                o.script_pubkey
                    .as_bytes()
                    .starts_with(&[0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed])
            })
            .unwrap();
        assert_eq!(
            core_commitment.script_pubkey.as_bytes(),
            commitment.as_slice()
        );
        assert_eq!(core_commitment.value.to_sat(), 0);
        assert_eq!(
            block.txdata[0].input[0].witness.to_vec(),
            vec![vec![0u8; 32]]
        );
        // Core's coinbase pays the same total.
        let paid: u64 = block.txdata[0]
            .output
            .iter()
            .map(|o| o.value.to_sat())
            .sum();
        assert_eq!(paid, template.coinbase_value);

        // Header fields from the template.
        assert_eq!(block.header.version.to_consensus() as u32, template.version);
        assert_eq!(block.header.prev_blockhash, template.previous_block_hash);
        assert_eq!(block.header.bits.to_consensus(), template.bits.0);
        assert!(block.header.time >= template.min_time);
        assert_eq!(
            block.bip34_block_height().unwrap(),
            u64::from(template.height)
        );

        // Our own block for the same template is valid in the same ways.
        let builder =
            BlockBuilder::new(&template, &regtest_payout(), &CoinbaseOptions::default()).unwrap();
        let en = [0xabu8; 8];
        let header = builder.header(&en, builder.time(), 0).unwrap();
        let ours: Block = deserialize(&builder.assemble_block(&header, &en).unwrap()).unwrap();
        assert!(ours.check_merkle_root());
        assert!(ours.check_witness_commitment());
        assert_eq!(ours.txdata[1..], block.txdata[1..]);
        assert_eq!(
            ours.bip34_block_height().unwrap(),
            u64::from(template.height)
        );
        assert_eq!(
            ours.txdata[0].output[0].value.to_sat(),
            template.coinbase_value
        );
        assert_eq!(
            ours.header.block_hash().to_byte_array(),
            header.block_hash().0
        );
    }
}

#[test]
fn payout_addresses_of_every_type_and_network() {
    use bitcoin::key::Secp256k1;
    use bitcoin::secp256k1::SecretKey;
    use bitcoin::{CompressedPublicKey, PublicKey};

    let secp = Secp256k1::new();
    let sk = SecretKey::from_slice(&[0x11; 32]).unwrap();
    let pk = PublicKey::new(sk.public_key(&secp));
    let cpk = CompressedPublicKey(pk.inner);
    let (xonly, _) = sk.public_key(&secp).x_only_public_key();
    let redeem = ScriptBuf::new_p2wpkh(&cpk.wpubkey_hash());

    for network in [
        Network::Bitcoin,
        Network::Testnet,
        Network::Testnet4,
        Network::Signet,
        Network::Regtest,
    ] {
        let addresses = [
            Address::p2pkh(pk, network),
            Address::p2sh(&redeem, network).unwrap(),
            Address::p2wpkh(&cpk, network),
            Address::p2wsh(&redeem, network),
            Address::p2tr(&secp, xonly, None, network),
        ];
        for address in addresses {
            let text = address.to_string();
            let payout = PayoutScript::from_address(&text, network).unwrap();
            assert_eq!(payout.script(), address.script_pubkey().as_script());
            let wrong = if network == Network::Bitcoin {
                Network::Regtest
            } else {
                Network::Bitcoin
            };
            assert_eq!(
                PayoutScript::from_address(&text, wrong),
                Err(PayoutError::WrongNetwork {
                    address: text.clone(),
                    network: wrong
                })
            );
        }
    }
    let err = PayoutScript::from_address("not-an-address", Network::Regtest).unwrap_err();
    assert!(matches!(err, PayoutError::Invalid { .. }));
    assert!(err.to_string().contains("not-an-address"));
    // bcrt (regtest) is not testnet's tb.
    assert!(matches!(
        PayoutScript::from_address(
            "bcrt1q92v6550wrjqhldxwc2cvqlqm77wmzufv4dq433",
            Network::Testnet
        ),
        Err(PayoutError::WrongNetwork { .. })
    ));
}

fn template_with(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> BlockTemplate {
    let mut json = json_fixture("gbt-regtest-h203-7tx.json");
    edit(json.as_object_mut().unwrap());
    BlockTemplate::from_json(&json).unwrap()
}

#[test]
fn limits_and_script_sig_length_are_enforced() {
    let payout = regtest_payout();
    let t = template_with(|_| {});
    // scriptSig: 3 (height) + 1 + extranonce + 1 + 19 (tag) must stay <= 100; from 76 bytes
    // on, the extranonce needs OP_PUSHDATA1 (2 opcode bytes).
    assert!(BlockBuilder::new(
        &t,
        &payout,
        &CoinbaseOptions {
            extranonce_len: 75,
            tag: TAG.to_vec()
        }
    )
    .is_ok());
    assert_eq!(
        BlockBuilder::new(
            &t,
            &payout,
            &CoinbaseOptions {
                extranonce_len: 76,
                tag: TAG.to_vec()
            }
        ),
        Err(BlockError::ScriptSigLength { len: 101 })
    );
    let b = BlockBuilder::new(&t, &payout, &fixture_options()).unwrap();
    assert_eq!(
        b.coinbase_parts(90),
        Err(BlockError::ScriptSigLength { len: 115 })
    );
    assert!(b
        .assemble_block(&Header::from_bytes(&[0u8; 80]), &[0u8; 90])
        .is_err());
    let long_tag = CoinbaseOptions {
        extranonce_len: 8,
        tag: vec![b'x'; 100],
    };
    assert!(matches!(
        BlockBuilder::new(&t, &payout, &long_tag),
        Err(BlockError::ScriptSigLength { .. })
    ));

    // The fixture block weighs 7177 and is 2149 bytes: limits just above pass, below fail.
    let opts = fixture_options();
    let with_limit = |field: &str, limit: u64| {
        let t = template_with(|m| {
            m.insert(field.into(), limit.into());
        });
        BlockBuilder::new(&t, &payout, &opts)
    };
    assert!(with_limit("weightlimit", 7177).is_ok());
    assert_eq!(
        with_limit("weightlimit", 7176),
        Err(BlockError::WeightLimit {
            weight: 7177,
            limit: 7176
        })
    );
    assert!(with_limit("sizelimit", 2149).is_ok());
    assert_eq!(
        with_limit("sizelimit", 2148),
        Err(BlockError::SizeLimit {
            size: 2149,
            limit: 2148
        })
    );
    // Sigops: the template's transactions cost their `sigops`; a P2PKH payout adds 4.
    let total: u64 = t.transactions.iter().map(|x| x.sigops.unwrap()).sum();
    let p2pkh = PayoutScript::from_script(ScriptBuf::new_p2pkh(
        &bitcoin::PubkeyHash::from_byte_array([7; 20]),
    ));
    let tight = template_with(|m| {
        m.insert("sigoplimit".into(), (total + 3).into());
    });
    assert!(BlockBuilder::new(&tight, &payout, &opts).is_ok());
    assert_eq!(
        BlockBuilder::new(&tight, &p2pkh, &opts),
        Err(BlockError::SigopLimit {
            cost: total + 4,
            limit: total + 3
        })
    );
    // A default_witness_commitment that is not one.
    assert_eq!(
        BlockBuilder::new(
            &template_with(|m| {
                m.insert("default_witness_commitment".into(), "6a00".into());
            }),
            &payout,
            &opts
        ),
        Err(BlockError::BadWitnessCommitment)
    );
}

#[test]
fn header_time_respects_mintime_and_low_heights_use_small_ints() {
    let t = template_with(|m| {
        let cur = m["curtime"].as_u64().unwrap();
        m.insert("mintime".into(), (cur + 5).into());
        m.insert("height".into(), 5.into());
    });
    assert_eq!(t.header_time(), t.cur_time + 5);
    let b = BlockBuilder::new(&t, &regtest_payout(), &CoinbaseOptions::default()).unwrap();
    assert_eq!(b.time(), t.cur_time + 5);
    let tx: Transaction = deserialize(&b.coinbase_tx(&[0u8; 8]).unwrap()).unwrap();
    // OP_5, then the extranonce push.
    assert_eq!(&tx.input[0].script_sig.as_bytes()[..2], &[0x55, 0x08]);
}

#[test]
fn non_segwit_template_has_no_commitment_or_witness() {
    let t = template_with(|m| {
        m.remove("default_witness_commitment");
        m.insert("rules".into(), serde_json::json!(["csv"]));
        m.insert("transactions".into(), serde_json::json!([]));
    });
    let b = BlockBuilder::new(&t, &regtest_payout(), &CoinbaseOptions::default()).unwrap();
    assert!(b.witness_commitment().is_none());
    let (c1, c2) = b.coinbase_parts(8).unwrap();
    let base = [c1.as_slice(), &[1u8; 8], c2.as_slice()].concat();
    assert_eq!(b.coinbase_tx(&[1u8; 8]).unwrap(), base);
    let tx: Transaction = deserialize(&base).unwrap();
    assert_eq!(tx.output.len(), 1);
}

#[test]
fn malformed_templates_are_typed_errors() {
    let base = json_fixture("gbt-regtest-h203-7tx.json");
    let mut cases: Vec<(Value, &str)> = Vec::new();
    for field in [
        "version",
        "previousblockhash",
        "transactions",
        "coinbasevalue",
        "bits",
        "curtime",
        "height",
    ] {
        let mut j = base.clone();
        j.as_object_mut().unwrap().remove(field);
        cases.push((j, field));
    }
    for (j, field) in cases {
        assert_eq!(
            BlockTemplate::from_json(&j),
            Err(TemplateError::MissingField(match field {
                "version" => "version",
                "previousblockhash" => "previousblockhash",
                "transactions" => "transactions",
                "coinbasevalue" => "coinbasevalue",
                "bits" => "bits",
                "curtime" => "curtime",
                _ => "height",
            }))
        );
    }
    assert_eq!(
        BlockTemplate::from_json(&Value::Null),
        Err(TemplateError::NotAnObject)
    );
    let bad = |edit: &dyn Fn(&mut Value)| {
        let mut j = base.clone();
        edit(&mut j);
        BlockTemplate::from_json(&j).unwrap_err()
    };
    let e = bad(&|j| j["transactions"][2]["txid"] = Value::from("00".repeat(32)));
    assert!(e.to_string().contains("transactions[2].txid"), "{e}");
    let e = bad(&|j| j["transactions"][4]["hash"] = Value::from("11".repeat(32)));
    assert!(e.to_string().contains("transactions[4].hash"), "{e}");
    let e = bad(&|j| j["transactions"][0]["data"] = Value::from("0200zz"));
    assert!(e.to_string().contains("bad hex"), "{e}");
    let e = bad(&|j| j["transactions"][0]["data"] = Value::from("02000000"));
    assert!(e.to_string().contains("not a transaction"), "{e}");
    let e = bad(&|j| j["target"] = Value::from("00".repeat(32)));
    assert!(e.to_string().contains("does not match bits"), "{e}");
    let e = bad(&|j| j["previousblockhash"] = Value::from("abcd"));
    assert!(e.to_string().contains("32 bytes"), "{e}");
    let e = bad(&|j| j["height"] = Value::from(-1));
    assert!(e.to_string().contains("height"), "{e}");
    let e = bad(&|j| j["coinbasevalue"] = Value::from("lots"));
    assert!(e.to_string().contains("coinbasevalue"), "{e}");
    assert!(BlockTemplate::from_json_str("{\"version\": ").is_err());
    let e = bad(&|j| j["transactions"][1]["depends"] = serde_json::json!([2]));
    assert!(e.to_string().contains("transactions[1].depends"), "{e}");
    let e = bad(&|j| j["transactions"][1]["depends"] = serde_json::json!([0]));
    assert!(e.to_string().contains("earlier transaction"), "{e}");
    let t = BlockTemplate::from_json(&base).unwrap();
    assert_eq!(t.transactions[3].depends, vec![2]); // "transaction 4" of the README, 1-based
}
