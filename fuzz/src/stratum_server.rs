//! `stratum_server`: what a pool reads from a miner. Arbitrary bytes go through the line decoder
//! (cap from the first byte) and each line through `RawMessage::parse_line` and
//! `ClientRequest::parse`; JSON lines also go straight into `Submit::parse`, and every submit is
//! checked against a job the way a pool would (header built from the job and the share).
//!
//! Invariants: nothing panics; every parsed request survives an encode/parse round trip (as
//! params and as a full JSON line).

use hashforge_stratum::codec::{encode_line, parse_json};
use hashforge_stratum::messages::{ClientRequest, RawMessage, Submit};
use hashforge_stratum::{Job, Notify};
use serde_json::Value;

use super::stratum_client::input_lines;

/// One fuzz input.
pub fn run(data: &[u8]) {
    for line in input_lines(data) {
        line_from_miner(&line);
    }
}

fn line_from_miner(line: &str) {
    if let Ok(RawMessage::Request { id, method, params }) = RawMessage::parse_line(line) {
        if let Ok(req) = ClientRequest::parse(&method, &params) {
            request(&req, &id);
        }
    }
    if let Ok(v) = parse_json(line) {
        if let Ok(s) = Submit::parse(&v) {
            submit(&s);
        }
    }
}

fn request(req: &ClientRequest, id: &Value) {
    let again = ClientRequest::parse(req.method(), &req.params());
    assert_eq!(again.as_ref(), Ok(req), "params round trip of {req:?}");
    // The wire form our client sends parses back to the same request.
    let wire = encode_line(&req.to_request(id.as_u64().unwrap_or(7)));
    let text = std::str::from_utf8(&wire).expect("JSON is UTF-8");
    assert!(text.ends_with('\n') && text.matches('\n').count() == 1);
    match RawMessage::parse_line(text.trim_end()) {
        Ok(RawMessage::Request { method, params, .. }) => {
            assert_eq!(method, req.method());
            let back = ClientRequest::parse(&method, &params);
            if let ClientRequest::SuggestDifficulty(d) = req {
                // JSON text keeps a float to within serde_json's parsing precision.
                match back {
                    Ok(ClientRequest::SuggestDifficulty(e)) => {
                        assert!(((e - d) / d).abs() < 1e-15, "{d} came back as {e}")
                    }
                    other => panic!("suggest_difficulty {d} came back as {other:?}"),
                }
            } else {
                assert_eq!(back.as_ref(), Ok(req), "wire round trip of {text}");
            }
        }
        other => panic!("our own request {text} parses as {other:?}"),
    }
    if let ClientRequest::Submit(s) = req {
        submit(s);
    }
}

/// The notify of the public-pool vector in `stratum/tests/vectors.rs`.
fn job() -> Job {
    let notify = Notify {
        job_id: "1".into(),
        prevhash: [0x11; 32],
        coinb1: ::hex::decode(
            "02000000010000000000000000000000000000000000000000000000000000000000000000ffffffff1903c943255c7075626c69632d706f6f6c5c",
        )
        .unwrap(),
        coinb2: ::hex::decode("ffffffff0100000000000000000000000000").unwrap(),
        merkle_branch: vec![[0x22; 32], [0x33; 32]],
        version: 0x2000_0000,
        nbits: 0x1924_95f8,
        ntime: 0x64b3_f3ec,
        clean_jobs: false,
    };
    Job::new(
        notify,
        vec![0xc7, 0x08, 0x00, 0x00],
        4,
        1e-3,
        Some(0x1fff_e000),
    )
}

fn submit(s: &Submit) {
    assert_eq!(
        Submit::parse(&s.to_params()).as_ref(),
        Ok(s),
        "submit round trip"
    );
    let job = job();
    let version = job.roll_version(s.version_bits.unwrap_or(0));
    match job.header(&s.extranonce2, s.ntime, s.nonce, version) {
        Ok(h) => {
            assert_eq!(s.extranonce2.len(), job.extranonce2_size);
            assert_eq!((h.time, h.nonce), (s.ntime, s.nonce));
            let (hash, _meets) = job.check_share(&h);
            assert_eq!(hash, h.block_hash());
        }
        Err(_) => assert_ne!(s.extranonce2.len(), job.extranonce2_size),
    }
}
