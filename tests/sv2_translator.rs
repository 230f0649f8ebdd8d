//! Interoperability with the Stratum V2 reference implementation: its translator proxy
//! (`translator_sv2`, the SRI's published crate, installed by `.ci/run` at a pinned version)
//! between Stratum v1 miners and `hashforge serve --sv2-listen` on the replay node.
//!
//! SV1 miners (`hashforge mine` and the raw test miner) → SRI translator (SV1 in, one extended
//! SV2 channel out, Noise with our authority key) → our SV2 server. Their shares must arrive
//! as accepted SV2 shares, and their blocks (regtest: every share is one) must reach the node.
//!
//! The translator binary: `$HASHFORGE_TRANSLATOR`, else `translator_sv2` on the PATH. When
//! neither is there the test fails with `CI` set (`.ci/run` installs it, so it never skips in
//! CI), and is skipped with a line on stderr otherwise.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{keygen, start_serve_sv2, summary_count, Exit, TestMiner};

/// The translator, killed when dropped; its output goes to a log file in the temp folder.
struct Translator {
    child: Child,
    log: PathBuf,
}

impl Drop for Translator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Translator {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn translator_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HASHFORGE_TRANSLATOR") {
        return Some(p.into());
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("translator_sv2"))
            .find(|p| p.is_file())
    });
    let install = "cargo install translator_sv2 --version 0.6.0 --locked --no-default-features";
    match found {
        Some(p) => Some(p),
        None if std::env::var_os("CI").is_some() => panic!(
            "translator_sv2 not found: install it with `{install}` (as .ci/run does) or set HASHFORGE_TRANSLATOR"
        ),
        None => {
            eprintln!("skipping: translator_sv2 is not installed (`{install}`; .ci/run does it)");
            None
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the translator: SV1 on 127.0.0.1:`downstream`, its upstream our SV2 server.
fn start_translator(
    binary: &std::path::Path,
    upstream: SocketAddr,
    authority: &str,
    downstream: u16,
    tag: &str,
    aggregate: bool,
) -> Translator {
    let dir = std::env::temp_dir().join(format!("hashforge-tproxy-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("translator.toml");
    let log = dir.join("translator.log");
    std::fs::write(
        &config,
        format!(
            r#"downstream_address = "127.0.0.1"
downstream_port = {downstream}
max_supported_version = 2
min_supported_version = 2
downstream_extranonce2_size = 4
aggregate_channels = {aggregate}

[downstream_difficulty_config]
min_individual_miner_hashrate = 2000000.0
shares_per_minute = 60.0
enable_vardiff = false
job_keepalive_interval_secs = 0

[[upstreams]]
address = "{}"
port = {}
authority_pubkey = "{authority}"
user_identity = "tproxy"
"#,
            upstream.ip(),
            upstream.port()
        ),
    )
    .unwrap();
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(binary)
        .arg("-c")
        .arg(&config)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("start translator_sv2");
    Translator { child, log }
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
async fn wait_listening(port: u16, within: Duration, what: &str, log: impl Fn() -> String) {
    let deadline = Instant::now() + within;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "{what} never listened:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Our serve with SV2 on the replay node, the translator in front of it (`aggregate`: one
/// upstream channel for all SV1 miners, else one each), `hashforge mine` as `user` through it
/// (plus the raw test miner when `raw`); returns serve's status line of the SV2 worker
/// `channel_user` after the run. Asserts the miner's shares were accepted and blocks reached
/// the node.
async fn through_the_translator(
    binary: &std::path::Path,
    aggregate: bool,
    user: &str,
    raw: bool,
    channel_user: &str,
) -> String {
    let node = common::advancing_empty_node(400).await;
    let (key, public) = keygen(user);
    // Our shares at about 860 000 hashes; the translator's SV1 difficulty (0.000466, from
    // 2 MH/s at 60 shares a minute) is above it, so every share it takes passes our target. At
    // 20 MH/s that is about 43 shares a second, under the miner's submit limit (100 a second);
    // the miner runs until two are accepted, however slow the machine.
    let (mut serve, sv2_url) = start_serve_sv2(&node.url(), &key, "0.0002").await;
    assert!(
        sv2_url.ends_with(&format!("/{public}")),
        "{sv2_url} vs {public}"
    );
    let upstream: SocketAddr = sv2_url["stratum2+tcp://".len()..]
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    let downstream = free_port();
    let tproxy = start_translator(binary, upstream, &public, downstream, user, aggregate);
    wait_listening(downstream, Duration::from_secs(30), "translator", || {
        tproxy.log()
    })
    .await;

    let pool = format!("stratum+tcp://127.0.0.1:{downstream}");
    let raw = if raw {
        Some(TestMiner::start(format!("127.0.0.1:{downstream}").parse().unwrap(), "raw1").await)
    } else {
        None
    };
    let Exit {
        code,
        stdout,
        stderr,
    } = common::hashforge()
        .mine_until_accepted(
            &["-o", &pool, "-u", user, "-p", "x", "-t", "1"],
            2,
            Duration::from_secs(90),
        )
        .await;
    drop(raw);
    let tlog = tproxy.log();
    assert_eq!(code, Some(0), "{stdout}\n{stderr}\ntranslator:\n{tlog}");
    // Every share the translator took was accepted; a stale one (a block moved the tip while
    // the share was on its way) is the only other outcome.
    for (item, ok) in [
        ("rejected", 0..1),
        ("hardware errors", 0..1),
        ("lost", 0..1),
        ("accepted", 2..u64::MAX),
    ] {
        let n = summary_count(&stdout, item);
        assert!(
            ok.contains(&n),
            "{item} {n}\n{stdout}\n{stderr}\ntranslator:\n{tlog}"
        );
    }
    let accepted = node.accepted_blocks();
    assert!(
        !accepted.is_empty(),
        "no block reached the node\n{stderr}\ntranslator:\n{tlog}"
    );
    // The server counted the translator's channel with accepted shares and blocks: a status
    // block printed after the shares (the ones buffered from before them show none yet).
    let blocks = |line: &str| -> u64 { line.split_whitespace().last().unwrap().parse().unwrap() };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen: Option<String> = None;
    while Instant::now() < deadline && seen.as_deref().is_none_or(|l| blocks(l) == 0) {
        let Ok(Some(line)) = tokio::time::timeout(Duration::from_secs(2), serve.lines.recv()).await
        else {
            break;
        };
        if line.starts_with(channel_user) {
            seen = Some(line);
        }
    }
    let line = seen.unwrap_or_else(|| {
        panic!("no {channel_user} worker in serve's status\ntranslator:\n{tlog}")
    });
    assert!(blocks(&line) > 0, "{line}");
    drop(tproxy);
    let _ = std::fs::remove_file(key);
    line
}

/// Both of the translator's modes, one after the other (each runs serve, the translator and
/// miners: together they would crowd a small CI machine). Aggregated: `hashforge mine` and the
/// raw test miner share the translator's one upstream channel. Not aggregated: the translator
/// opens an extended channel per SV1 miner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sv1_miners_through_the_sri_translator_get_accepted_sv2_shares_and_blocks() {
    let Some(binary) = translator_binary() else {
        return;
    };
    through_the_translator(&binary, true, "hf1", true, "tproxy").await;
    // The translator names each miner's channel "<its upstream user>.miner<N>".
    let line = through_the_translator(&binary, false, "hf2", false, "tproxy.miner").await;
    assert!(line.starts_with("tproxy.miner"), "{line}");
}
