//! `stratum_client`: what a miner reads from a pool. Arbitrary bytes go through the line decoder
//! (with a small line cap taken from the first byte) and each line through the server-message
//! parser; lines that are JSON also go straight into the notify, subscribe-result and
//! configure-result parsers, and every notify becomes a job whose header is built.
//!
//! Invariants: nothing panics; the decoder's lines are within the cap, free of `\n` and not
//! blank; typed messages keep their documented ranges; `Notify` and `SubscribeResult` survive an
//! encode/parse round trip.

use hashforge_stratum::codec::{parse_json, LineReader};
use hashforge_stratum::messages::{ConfigureResult, SubscribeResult};
use hashforge_stratum::{Job, Notify, ServerMessage};
use serde_json::Value;

use super::poll::block_on;

/// One fuzz input.
pub fn run(data: &[u8]) {
    for line in input_lines(data) {
        line_from_pool(&line);
    }
}

/// The lines of a fuzz input as the decoder yields them: the first byte sets the line cap
/// (small caps exercise `LineTooLong`; 0 means the real default), the rest is the stream.
pub fn input_lines(data: &[u8]) -> Vec<String> {
    let Some((&cap, bytes)) = data.split_first() else {
        return Vec::new();
    };
    let max = match cap {
        0 => hashforge_stratum::codec::DEFAULT_MAX_LINE,
        c => usize::from(c) * 4,
    };
    read_lines(bytes, max)
}

/// Every line the decoder yields up to the end of the input or its first error (the client and
/// the server both drop the connection on a codec error, so nothing reads past one).
fn read_lines(bytes: &[u8], max: usize) -> Vec<String> {
    let mut reader = LineReader::new(bytes, max);
    let mut lines = Vec::new();
    // Each line takes at least its `\n`: the bound only guards against a decoder that loops.
    for _ in 0..=bytes.len() {
        match block_on(reader.read_line()) {
            Ok(None) => break,
            Ok(Some(line)) => {
                assert!(
                    line.len() <= max,
                    "line of {} bytes over cap {max}",
                    line.len()
                );
                assert!(!line.contains('\n'));
                assert!(!line.bytes().all(|b| b.is_ascii_whitespace()));
                lines.push(line);
            }
            Err(_) => break,
        }
    }
    lines
}

fn line_from_pool(line: &str) {
    match ServerMessage::parse_line(line) {
        Ok(ServerMessage::Notify(n)) => notify(n),
        Ok(ServerMessage::SetDifficulty(d)) => assert!(d.is_finite() && d > 0.0),
        Ok(ServerMessage::SetExtranonce {
            extranonce2_size, ..
        }) => assert!((1..=32).contains(&extranonce2_size)),
        Ok(ServerMessage::Reconnect { port, host, .. }) => {
            assert_ne!(port, Some(0));
            assert_ne!(host.as_deref(), Some(""));
        }
        Ok(ServerMessage::Response(r)) => {
            let _ = r.id_u64();
            let _ = r.outcome();
            result(&r.result);
        }
        Ok(_) | Err(_) => {}
    }
    if let Ok(v) = parse_json(line) {
        if let Ok(n) = Notify::parse(&v) {
            notify(n);
        }
        if let Some(params) = v.get("params") {
            if let Ok(n) = Notify::parse(params) {
                notify(n);
            }
        }
        result(&v);
    }
}

fn result(v: &Value) {
    if let Ok(s) = SubscribeResult::parse(v) {
        assert!((1..=32).contains(&s.extranonce2_size));
        // A pool that names no subscription id is re-encoded with an empty one.
        let expected = SubscribeResult {
            session_id: s.session_id.clone().or_else(|| Some(String::new())),
            ..s.clone()
        };
        assert_eq!(SubscribeResult::parse(&s.to_result()), Ok(expected));
    }
    let _ = ConfigureResult::parse(v);
}

fn notify(n: Notify) {
    assert_eq!(
        Notify::parse(&n.to_params()).as_ref(),
        Ok(&n),
        "notify round trip"
    );
    // A job with a 4-byte extranonce1 and 8-byte extranonce2, as ckpool hands out.
    let job = Job::new(
        n.clone(),
        vec![0x3b, 0x6d, 0x01, 0x6b],
        8,
        1.0,
        Some(0x1fff_e000),
    );
    let en2 = [0u8; 8];
    assert!(
        job.coinbase(&en2[..7]).is_err(),
        "wrong extranonce2 size accepted"
    );
    let cb = job.coinbase(&en2).expect("right extranonce2 size");
    assert_eq!(
        cb.len(),
        n.coinb1.len() + 4 + 8 + n.coinb2.len(),
        "coinbase length"
    );
    let version = job.roll_version(0xffff_ffff);
    assert_eq!(version & !0x1fff_e000, n.version & !0x1fff_e000);
    let h = job
        .header(&en2, n.ntime, 0, version)
        .expect("right extranonce2 size");
    assert_eq!(h.prev_blockhash, job.prev_hash());
    assert_eq!(
        hashforge_stratum::job::swap_words(&h.prev_blockhash),
        n.prevhash
    );
    let _ = job.check_share(&h);
    let _ = job.network_target();
}
