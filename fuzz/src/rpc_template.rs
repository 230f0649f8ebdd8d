//! `rpc_template`: what the RPC client reads from a node. The input is read as an HTTP reply
//! (`node::http::read_head`, `Head::status`, `read_body` with a small body limit), its body as a
//! JSON-RPC reply and its `result` as a `getblocktemplate` result; the whole input is also given
//! to `BlockTemplate::from_json_str` directly.
//!
//! Invariants: nothing panics; a body is never longer than the limit and has exactly the
//! announced `Content-Length`; an accepted template is consistent (target = bits, dependencies
//! point backwards, every transaction's ids match its data).

use bitcoin::consensus::encode::deserialize;
use bitcoin::Transaction;
use hashforge::node::http::{read_body, read_head};
use hashforge::node::BlockTemplate;
use hashforge::Target;
use serde_json::Value;

use super::poll::block_on;

/// The largest body the target reads (the client's own default is far larger).
const BODY_LIMIT: usize = 256 * 1024;

/// One fuzz input.
pub fn run(data: &[u8]) {
    http_reply(data);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(t) = BlockTemplate::from_json_str(text) {
            template(&t);
        }
    }
}

fn http_reply(data: &[u8]) {
    let mut rest = data;
    let Ok(head) = block_on(read_head(&mut rest)) else {
        return;
    };
    assert!(!head.start_line.is_empty());
    let _ = head.connection_close();
    let status = head.status();
    if let Ok((code, _reason)) = &status {
        assert!((100..=599).contains(code));
    }
    let length = head.header("content-length").map(str::to_string);
    let chunked = head
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    // A request (no length, not until EOF) has an empty body unless it is chunked.
    let mut again = rest;
    if let Ok(b) = block_on(read_body(&mut again, &head, BODY_LIMIT, false)) {
        assert!(b.len() <= BODY_LIMIT);
        if length.is_none() && !chunked {
            assert!(b.is_empty());
        }
    }
    let Ok(body) = block_on(read_body(&mut rest, &head, BODY_LIMIT, true)) else {
        return;
    };
    assert!(body.len() <= BODY_LIMIT, "body of {} bytes", body.len());
    if let (Some(l), false) = (&length, chunked) {
        assert_eq!(Ok(body.len()), l.parse::<usize>(), "Content-Length {l}");
    }
    if status.is_err() {
        return;
    }
    let Ok(reply) = serde_json::from_slice::<Value>(&body) else {
        return;
    };
    let result = reply.get("result").unwrap_or(&reply);
    if let Ok(t) = BlockTemplate::from_json(result) {
        template(&t);
    }
}

fn template(t: &BlockTemplate) {
    assert_eq!(Target::from_compact(t.bits), Ok(t.target));
    assert!(t.header_time() >= t.cur_time && t.header_time() >= t.min_time);
    assert!(t.coinbase_value <= 21_000_000 * 100_000_000);
    for (i, tx) in t.transactions.iter().enumerate() {
        assert!(
            tx.depends.iter().all(|&d| d >= 1 && (d as usize) <= i),
            "transaction {i} depends on {:?}",
            tx.depends
        );
        let parsed: Transaction = deserialize(&tx.data).expect("template data was checked");
        assert_eq!(parsed.compute_txid(), tx.txid);
        assert_eq!(parsed.compute_wtxid(), tx.wtxid);
        assert_eq!(parsed.weight().to_wu(), tx.weight);
    }
    assert_eq!(t.txids().len(), t.transactions.len());
    let _ = t.segwit_active();
}
