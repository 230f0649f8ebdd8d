//! The fuzz targets on stable: each target's body (`fuzz/src/<target>.rs`, shared with the
//! cargo-fuzz binaries) replays the committed seed corpus (`fuzz/seeds/<target>/`) and every
//! crash input the fuzzers found (`tests/fixtures/fuzz/<target>/`). See README, "Fuzzing".

#[path = "../fuzz/src/bitcoin_parsers.rs"]
mod bitcoin_parsers;
#[path = "../fuzz/src/poll.rs"]
mod poll;
#[path = "../fuzz/src/rpc_template.rs"]
mod rpc_template;
#[path = "../fuzz/src/stratum_client.rs"]
mod stratum_client;
#[path = "../fuzz/src/stratum_server.rs"]
mod stratum_server;
#[path = "../fuzz/src/sv2_messages.rs"]
mod sv2_messages;
#[path = "../fuzz/src/template_block.rs"]
mod template_block;

use std::path::Path;

/// Runs `run` over every file of `fuzz/seeds/<target>/` and `tests/fixtures/fuzz/<target>/`;
/// returns how many there were.
fn replay(target: &str, run: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in [
        root.join("fuzz/seeds").join(target),
        root.join("tests/fixtures/fuzz").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let data = std::fs::read(&path).unwrap();
            // A panic names the input that caused it.
            eprintln!("{target}: {}", path.display());
            run(&data);
            n += 1;
        }
    }
    n
}

/// Every target replays its seeds and crash inputs, at least as many as were committed.
#[test]
fn every_target_replays_its_corpus() {
    let targets = [
        ("bitcoin_parsers", bitcoin_parsers::run as fn(&[u8]), 11),
        ("stratum_client", stratum_client::run, 11),
        ("stratum_server", stratum_server::run, 6),
        ("sv2_messages", sv2_messages::run, 8),
        ("rpc_template", rpc_template::run, 6),
        ("template_block", template_block::run, 6),
    ];
    for (target, run, at_least) in targets {
        let n = replay(target, run);
        assert!(
            n >= at_least,
            "{target}: {n} inputs, expected {at_least} or more"
        );
    }
}

/// template_block crash inputs: `sigops` values whose sum (or sum plus the coinbase's cost)
/// passed `u64::MAX` overflowed in `BlockBuilder::new` (a panic in debug builds, a wrapped and
/// so wrongly small cost in release). They are now over any limit: one `SigopLimit` error.
#[test]
fn huge_template_sigops_are_a_sigop_limit_error() {
    use hashforge::node::{BlockBuilder, BlockError, BlockTemplate, CoinbaseOptions, PayoutScript};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz/template_block");
    for (name, payout) in [
        // Two transactions with 2^63 sigops each: the sum overflows.
        (
            "sigops-sum-overflow",
            "00142a99aa51ee1c817fb4c2b0c07f83f7bdb6e2e25c",
        ),
        // One with u64::MAX, plus a P2PKH payout's OP_CHECKSIG (cost 4): the total overflows.
        (
            "sigops-cost-overflow",
            "76a9142a99aa51ee1c817fb4c2b0c07f83f7bdb6e2e25c88ac",
        ),
    ] {
        let data = std::fs::read(dir.join(name)).unwrap();
        // Layout of a template_block input: 3 option bytes, the tag, the template.
        let json = std::str::from_utf8(&data[3 + usize::from(data[1])..]).unwrap();
        let template = BlockTemplate::from_json_str(json).unwrap();
        let payout =
            PayoutScript::from_script(bitcoin::ScriptBuf::from_bytes(hex::decode(payout).unwrap()));
        let err = BlockBuilder::new(&template, &payout, &CoinbaseOptions::default()).unwrap_err();
        assert_eq!(
            err,
            BlockError::SigopLimit {
                cost: u64::MAX,
                limit: 80_000
            },
            "{name}"
        );
    }
}
