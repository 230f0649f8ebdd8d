//! `template_block`: a template parsed from the input goes through `BlockBuilder` to a coinbase,
//! merkle root, header and full block.
//!
//! Input layout: byte 0 = extranonce length (0..=255), byte 1 = coinbase tag length, byte 2 =
//! payout script kind (P2WPKH, P2PKH, P2TR, or the tag bytes as a raw script), then the tag,
//! then the `getblocktemplate` JSON.
//!
//! Invariants: nothing panics; whenever the builder accepts a template, the block it assembles
//! deserializes (rust-bitcoin) to the header it was given, the coinbase it reports and the
//! template's transactions; the merkle root and txids agree; the coinbase scriptSig is 2..=100
//! bytes and starts with the BIP 34 height; the block respects the template's size and weight
//! limits; a witness commitment the builder computed itself is valid.

use bitcoin::consensus::encode::{deserialize, serialize};
use bitcoin::hashes::Hash;
use bitcoin::{Block, ScriptBuf};
use hashforge::node::block::bip34_height_push;
use hashforge::node::{BlockBuilder, BlockError, BlockTemplate, CoinbaseOptions, PayoutScript};
use hashforge_bitcoin::{merkle, sha256d};

/// One fuzz input.
pub fn run(data: &[u8]) {
    let [en_len, tag_len, kind, rest @ ..] = data else {
        return;
    };
    let (tag, json) = rest.split_at(usize::from(*tag_len).min(rest.len()));
    let Ok(text) = std::str::from_utf8(json) else {
        return;
    };
    let Ok(template) = BlockTemplate::from_json_str(text) else {
        return;
    };
    let payout = PayoutScript::from_script(ScriptBuf::from_bytes(match kind % 4 {
        // The fixtures' regtest address.
        0 => ::hex::decode("00142a99aa51ee1c817fb4c2b0c07f83f7bdb6e2e25c").unwrap(),
        1 => ::hex::decode("76a9142a99aa51ee1c817fb4c2b0c07f83f7bdb6e2e25c88ac").unwrap(),
        2 => ::hex::decode("51200102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20")
            .unwrap(),
        _ => tag.to_vec(),
    }));
    let options = CoinbaseOptions {
        extranonce_len: usize::from(*en_len),
        tag: tag.to_vec(),
    };
    match BlockBuilder::new(&template, &payout, &options) {
        Ok(b) => block(&template, &b, &options, payout.as_bytes()),
        Err(BlockError::BadWitnessCommitment) => {
            assert!(template.default_witness_commitment.is_some())
        }
        Err(_) => {}
    }
}

fn block(t: &BlockTemplate, b: &BlockBuilder, options: &CoinbaseOptions, payout: &[u8]) {
    let extranonce: Vec<u8> = (0..options.extranonce_len).map(|i| i as u8).collect();
    let (c1, c2) = b
        .coinbase_parts(extranonce.len())
        .expect("the length the builder checked");
    let base = b.coinbase_tx_base(&extranonce).unwrap();
    assert_eq!(base, [c1.as_slice(), &extranonce, c2.as_slice()].concat());
    let txid = b.coinbase_txid(&extranonce).unwrap();
    assert_eq!(txid.to_byte_array(), sha256d(&base));
    let root = b.merkle_root(&extranonce).unwrap();
    let mut leaves = vec![txid.to_byte_array()];
    leaves.extend(t.transactions.iter().map(|tx| tx.txid.to_byte_array()));
    assert_eq!(root, merkle::root(&leaves), "merkle root");

    let header = b
        .header(&extranonce, b.time(), 0x1234_5678)
        .expect("checked length");
    assert_eq!(header.merkle_root, root);
    assert_eq!(header.prev_blockhash, b.prev_hash_bytes());
    assert_eq!(header.bits.0, t.bits.0);
    let bytes = b.assemble_block(&header, &extranonce).unwrap();
    assert_eq!(
        bytes[..80],
        header.to_bytes(),
        "block starts with the header built"
    );

    let block: Block = deserialize(&bytes).expect("the assembled block deserializes");
    assert_eq!(serialize(&block.header)[..], header.to_bytes()[..]);
    assert_eq!(block.txdata.len() as u64, b.tx_count());
    let coinbase = &block.txdata[0];
    assert!(coinbase.is_coinbase());
    assert_eq!(serialize(coinbase), b.coinbase_tx(&extranonce).unwrap());
    assert_eq!(coinbase.compute_txid(), txid);
    assert_eq!(coinbase.output[0].value.to_sat(), t.coinbase_value);
    assert_eq!(coinbase.output[0].script_pubkey.as_bytes(), payout);
    let script_sig = coinbase.input[0].script_sig.as_bytes();
    assert!(
        (2..=100).contains(&script_sig.len()),
        "scriptSig {}",
        script_sig.len()
    );
    assert!(script_sig.starts_with(&bip34_height_push(t.height)));
    for (tx, ttx) in block.txdata[1..].iter().zip(&t.transactions) {
        assert_eq!(serialize(tx), ttx.data);
    }
    assert_eq!(
        block.compute_merkle_root().map(|r| r.to_byte_array()),
        Some(root)
    );
    if let Some(limit) = t.size_limit {
        assert!(
            bytes.len() as u64 <= limit,
            "size {} > {limit}",
            bytes.len()
        );
    }
    if let Some(limit) = t.weight_limit {
        let w = block.weight().to_wu();
        assert!(w <= limit, "weight {w} > {limit}");
    }
    match (&t.default_witness_commitment, b.witness_commitment()) {
        (Some(given), Some(used)) => assert_eq!(given.as_slice(), used),
        (Some(_), None) => panic!("the template's witness commitment was dropped"),
        (None, Some(_)) => assert!(
            block.check_witness_commitment(),
            "computed witness commitment is invalid"
        ),
        (None, None) => assert!(!t.segwit_active()),
    }
}
