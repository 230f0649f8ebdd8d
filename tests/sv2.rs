//! Stratum V2 end to end through the binary: `hashforge mine -o stratum2+tcp://…` against
//! `hashforge serve --sv2-listen` on the replay node (regtest: every share is a block, so the
//! node moves to a new tip after each and the miner must follow every new previous block),
//! and a miner given the wrong authority key refused in one line.

mod common;

use std::time::Duration;

use common::{keygen, start_serve_sv2, summary_count, Exit};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mine_over_sv2_on_serve_gets_shares_accepted_and_blocks_to_the_node() {
    let node = common::advancing_empty_node(400).await;
    let (key, public) = keygen("e2e");
    // Shares of about 860 000 hashes: about 23 a second at 20 MH/s, under the miner's submit
    // limit (100 a second); the run lasts until three are accepted, however slow the machine.
    let (serve, url) = start_serve_sv2(&node.url(), &key, "0.0002").await;
    assert!(url.ends_with(&format!("/{public}")), "{url}");
    let Exit {
        code,
        stdout,
        stderr,
    } = common::hashforge()
        .mine_until_accepted(
            &["-o", &url, "-u", "sv2rig", "-t", "1"],
            3,
            Duration::from_secs(90),
        )
        .await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("sv2 extended channel open"), "{stderr}");
    for (item, ok) in [
        ("rejected", 0..1),
        ("hardware errors", 0..1),
        ("lost", 0..1),
        ("timed out", 0..1),
        ("accepted", 3..u64::MAX),
    ] {
        let n = summary_count(&stdout, item);
        assert!(ok.contains(&n), "{item} {n}\n{stdout}\n{stderr}");
    }
    // Every share is a block here: the node accepted them, and after each one the miner moved
    // to the new tip (a SetNewPrevHash) within one chunk: nothing it found on an old tip was
    // sent, so every block submitted was accepted.
    let accepted = node.accepted_blocks();
    assert!(accepted.len() >= 2, "{accepted:?}\n{stderr}");
    assert_eq!(node.submitted_blocks().len(), accepted.len(), "{stderr}");
    drop(serve);
    let _ = std::fs::remove_file(key);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_authority_key_is_refused_in_one_line() {
    let node = common::advancing_empty_node(10).await;
    let (key, _public) = keygen("right");
    let (other, wrong) = keygen("wrong");
    let (serve, url) = start_serve_sv2(&node.url(), &key, "0.00001").await;
    let addr = url["stratum2+tcp://".len()..]
        .split('/')
        .next()
        .unwrap()
        .to_string();
    // The key in the URL, and the key given apart: both refused, nothing mined, exit 3.
    for args in [
        vec![
            "mine",
            "-o",
            &format!("stratum2+tcp://{addr}/{wrong}"),
            "-r",
            "0",
        ],
        vec![
            "mine",
            "-o",
            &format!("stratum2+tcp://{addr}"),
            "--sv2-authority-key",
            &wrong,
            "-r",
            "0",
        ],
    ] {
        let mut full = args.clone();
        full.extend(["-u", "w", "-t", "1", "--duration", "10"]);
        let Exit {
            code,
            stdout,
            stderr,
        } = common::hashforge().run_within(&full, Duration::from_secs(30));
        assert_eq!(code, Some(3), "{stdout}\n{stderr}");
        assert!(
            stderr.contains("not signed by the authority key"),
            "{stderr}"
        );
    }
    // A malformed key is a usage error.
    let Exit { code, stderr, .. } = common::hashforge().run_within(
        &[
            "mine",
            "-o",
            &format!("stratum2+tcp://{addr}/xyz"),
            "-u",
            "w",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(2), "{stderr}");
    drop(serve);
    let _ = std::fs::remove_file(key);
    let _ = std::fs::remove_file(other);
}
