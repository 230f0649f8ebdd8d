//! Our pool server under hostile input and bad luck (issue 10): raw TCP peers on 127.0.0.1.

mod common;

use std::time::Duration;

use common::*;
use hashforge_bitcoin::{CompactTarget, Target};
use hashforge_stratum::{FoundBlock, Job, Server, ServerConfig, ServerEvent, Share, Template};
use serde_json::json;

/// Whether the server closes `p` within `within` (reading and dropping whatever it sends).
async fn closed_within(p: &mut RawPeer, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, p.recv()).await {
            Ok(None) => return true,
            Ok(Some(_)) => {}
            Err(_) => return false,
        }
    }
}

/// The next block the server reports (5 s limit).
async fn block_found(events: &mut tokio::sync::mpsc::Receiver<ServerEvent>) -> FoundBlock {
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .expect("an event")
            .expect("open");
        if let ServerEvent::BlockFound(b) = ev {
            return b;
        }
    }
}

/// Issue 10, 2: a share that solves a block but misses the pool difficulty is a block, not a
/// low-difficulty share.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_below_the_pool_difficulty_is_a_block() {
    let cfg = ServerConfig {
        start_difficulty: 1.0,
        min_difficulty: 1.0,
        ..server_config()
    };
    let (h, mut events) = start_server(cfg, localhost0()).await;
    let mut p = RawPeer::connect(h.local_addr()).await;
    let job = p.session(None, "w").await.job;
    // Regtest bits: about every second hash is a block; difficulty 1 takes 2^32 hashes.
    let network = Target::from_compact(CompactTarget(job.notify.nbits)).expect("bits");
    let en2 = vec![0u8; 8];
    let (nonce, hash) = (0u32..)
        .map(|n| {
            let h = job.header(&en2, job.notify.ntime, n, job.notify.version);
            (n, h.expect("header").block_hash())
        })
        .find(|(_, h)| network.is_met_by(h) && !job.share_target().is_met_by(h))
        .expect("a block below difficulty 1");
    let share = Share {
        job_id: job.id().to_string(),
        extranonce2: en2,
        ntime: job.notify.ntime,
        nonce,
        version: job.notify.version,
    };
    p.send(submit_request(3, "w", &share, None)).await;
    let r = p.recv_response(3, &mut Vec::new()).await;
    assert_eq!(r["result"], true, "{r}");
    let found = block_found(&mut events).await;
    assert_eq!(found.hash, hash);
    h.shutdown().await;
}

/// Issue 10, 2: the share difficulty never exceeds the network difficulty (a miner only sends
/// what meets the share target, so a harder one would keep blocks from the pool).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_share_difficulty_is_capped_at_the_network_difficulty() {
    let cfg = ServerConfig {
        start_difficulty: 1e6,
        max_difficulty: 1e15,
        cap_at_network_difficulty: true,
        ..server_config()
    };
    let (h, _ev) = Server::bind(localhost0(), cfg).await.expect("bind");
    // Bits 1d00ffff: network difficulty 1.
    let mut t = Template::synthetic(h.extranonce_size());
    t.nbits = 0x1d00_ffff;
    t.network_target = Target::from_compact(CompactTarget(t.nbits)).expect("bits");
    h.new_template(t, true);
    let mut p = RawPeer::connect(h.local_addr()).await;
    p.send(json!({"id": 1, "method": "mining.suggest_difficulty", "params": [1e9]}))
        .await;
    p.send(json!({"id": 2, "method": "mining.subscribe", "params": []}))
        .await;
    let mut seen = Vec::new();
    let r = p.recv_response(2, &mut seen).await;
    let en1 = hex::decode(r["result"][1].as_str().expect("en1")).expect("hex");
    while !seen.iter().any(|v| v["method"] == "mining.notify") {
        seen.push(p.recv().await.expect("a job"));
    }
    let difficulty = last_job(&seen, &en1, None).difficulty();
    assert!(difficulty > 0.0, "no difficulty before the job: {seen:?}");
    assert!(
        difficulty <= 1.0,
        "share difficulty {difficulty} above the network's 1"
    );
    h.shutdown().await;
}

/// Issue 10, 15: session ids are unguessable and separate from the extranonce1: a stranger who
/// subscribes with a departed miner's extranonce1 does not get its jobs; the miner itself,
/// with its session id, does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_cannot_take_over_a_departed_session() {
    let (h, _ev) = start_server(server_config(), localhost0()).await;
    let addr = h.local_addr();
    let mut alice = RawPeer::connect(addr).await;
    let Session {
        extranonce1: en1,
        id,
        job,
        ..
    } = alice.session(None, "alice").await;
    assert!(
        id.len() >= 16,
        "session id {id:?} is too short to be unguessable"
    );
    assert_ne!(
        id,
        hex::encode(&en1),
        "the session id is not the extranonce1"
    );
    let away = find_share(&job, 0);
    drop(alice);
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Extranonce1s are handed out in sequence: guessable.
    let mut eve = RawPeer::connect(addr).await;
    let stranger = eve.session(Some(&hex::encode(&en1)), "eve").await;
    assert!(stranger.clean, "a stranger got a resumed session");
    assert_ne!(stranger.extranonce1, en1);
    let stolen = Share { ..away.clone() };
    eve.send(submit_request(3, "eve", &stolen, None)).await;
    assert_eq!(error_code(&eve.recv_response(3, &mut Vec::new()).await), 21);

    // Alice comes back with her session id and keeps her job.
    let mut alice = RawPeer::connect(addr).await;
    let back = alice.session(Some(&id), "alice").await;
    assert_eq!(back.extranonce1, en1);
    assert!(!back.clean);
    alice.send(submit_request(4, "alice", &away, None)).await;
    assert_eq!(
        alice.recv_response(4, &mut Vec::new()).await["result"],
        true
    );
    h.shutdown().await;
}

/// Issue 10, 8: one address cannot take every slot: past `max_connections_per_ip` (64 by
/// default) its connections are refused, while other addresses could still connect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_slot() {
    let (h, _ev) = start_server(server_config(), localhost0()).await;
    let mut idle = Vec::new();
    for _ in 0..64 {
        idle.push(RawPeer::connect(h.local_addr()).await);
    }
    let mut over = RawPeer::connect(h.local_addr()).await;
    assert!(
        closed_within(&mut over, Duration::from_secs(1)).await,
        "a 65th idle connection from one address was kept"
    );
    h.shutdown().await;
}

/// Issue 10, 8: a connection that does not subscribe and authorize in time is closed; a miner
/// that does stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handshake_has_a_deadline() {
    let cfg = ServerConfig {
        handshake_timeout: Duration::from_millis(300),
        ..server_config()
    };
    let (h, _ev) = start_server(cfg, localhost0()).await;
    let mut idle = RawPeer::connect(h.local_addr()).await;
    let mut half = RawPeer::connect(h.local_addr()).await;
    half.send(json!({"id": 1, "method": "mining.subscribe", "params": []}))
        .await;
    let mut miner = RawPeer::connect(h.local_addr()).await;
    miner.session(None, "w").await;
    assert!(closed_within(&mut idle, Duration::from_secs(2)).await);
    assert!(closed_within(&mut half, Duration::from_secs(2)).await);
    assert!(!closed_within(&mut miner, Duration::from_millis(500)).await);
    h.shutdown().await;
}

/// Issue 10, 8: connections that have not authorized get only a share of the slots; the
/// rest stay for miners.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_connections_get_only_a_share_of_the_slots() {
    let cfg = ServerConfig {
        max_connections: 8,
        max_pending_connections: 3,
        ..server_config()
    };
    let (h, _ev) = start_server(cfg, localhost0()).await;
    let mut miners = Vec::new();
    for i in 0..4 {
        let mut m = RawPeer::connect(h.local_addr()).await;
        m.session(None, &format!("w{i}")).await;
        miners.push(m);
    }
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(RawPeer::connect(h.local_addr()).await);
    }
    let mut over = RawPeer::connect(h.local_addr()).await;
    assert!(
        closed_within(&mut over, Duration::from_secs(1)).await,
        "a fourth idle connection was kept"
    );
    // A slot frees up: a miner gets it.
    drop(idle.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut m = RawPeer::connect(h.local_addr()).await;
    m.session(None, "late").await;
    assert_eq!(h.connections(), 7);
    h.shutdown().await;
}

/// Issue 10, 7: worker names are bounded in length and in number per connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_names_are_bounded() {
    let (h, _ev) = start_server(server_config(), localhost0()).await;
    let mut p = RawPeer::connect(h.local_addr()).await;
    p.session(None, "w").await;
    let long = "x".repeat(8 * 1024);
    p.send(json!({"id": 3, "method": "mining.authorize", "params": [long, "x"]}))
        .await;
    let r = p.recv_response(3, &mut Vec::new()).await;
    assert_eq!(r["result"], false, "an 8 KB worker name was accepted");
    let mut refused = 0;
    for i in 0..32u64 {
        let name = format!("w{i}");
        p.send(json!({"id": 10 + i, "method": "mining.authorize", "params": [name, "x"]}))
            .await;
        if p.recv_response(10 + i, &mut Vec::new()).await["result"] != true {
            refused += 1;
        }
    }
    assert!(refused > 0, "33 names on one connection");
    assert!(h.stats().len() <= 16, "{} workers", h.stats().len());
    h.shutdown().await;
}

/// Issue 10, 7: the statistics of a worker with no connection left are dropped after the
/// retention time; a connected worker's stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn departed_workers_are_forgotten() {
    let cfg = ServerConfig {
        worker_stats_retention: Duration::from_millis(200),
        ..server_config()
    };
    let (h, _ev) = start_server(cfg, localhost0()).await;
    let mut stay = RawPeer::connect(h.local_addr()).await;
    stay.session(None, "stay").await;
    let mut gone = RawPeer::connect(h.local_addr()).await;
    gone.session(None, "gone").await;
    assert_eq!(h.stats().len(), 2);
    drop(gone);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let names: Vec<String> = h.stats().into_iter().map(|w| w.worker).collect();
    assert_eq!(names, ["stay"]);
    h.shutdown().await;
}

/// Issue 10, 14: a connection that keeps sending malformed requests is disconnected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_past_a_bound_disconnect() {
    let (h, _ev) = start_server(server_config(), localhost0()).await;
    let mut p = RawPeer::connect(h.local_addr()).await;
    let bad = json!({"id": 1, "method": "mining.submit", "params": []});
    p.send_raw(format!("{bad}\n").repeat(1_000).as_bytes())
        .await;
    let mut answers = 0;
    while p.recv().await.is_some() {
        answers += 1;
        assert!(answers < 1_000, "1 000 malformed requests, still connected");
    }
    // A well-behaved miner is still served.
    let mut q = RawPeer::connect(h.local_addr()).await;
    q.session(None, "w").await;
    h.shutdown().await;
}

/// Issue 10, 16: a worker that finds no share gets a lower difficulty after a few share
/// intervals (not only at the next retarget), down to the floor; a suggested difficulty is
/// honoured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_worker_gets_a_lower_difficulty_soon() {
    let cfg = ServerConfig {
        min_difficulty: EASY / 8.0,
        ..vardiff_server_config(Duration::from_millis(100), Duration::from_secs(60))
    };
    let floor = cfg.min_difficulty;
    let (h, _ev) = start_server(cfg, localhost0()).await;
    let mut p = RawPeer::connect(h.local_addr()).await;
    p.send(json!({"id": 1, "method": "mining.subscribe", "params": []}))
        .await;
    let first = p.recv_method("mining.set_difficulty").await;
    assert_eq!(first["params"][0].as_f64(), Some(EASY));
    let mut last = EASY;
    while last > floor {
        let v = p.recv_method("mining.set_difficulty").await;
        let d = v["params"][0].as_f64().expect("difficulty");
        assert!(d < last && d >= floor, "{d} after {last}");
        last = d;
    }
    p.send(json!({"id": 2, "method": "mining.suggest_difficulty", "params": [0.5e-6]}))
        .await;
    let v = p.recv_method("mining.set_difficulty").await;
    assert_eq!(v["params"][0].as_f64(), Some(0.5e-6));
    h.shutdown().await;
}

/// Issue 10, 15: version rolling changes only the bits it rolls: a block found with rolled
/// bits 0 on a template with version `30000000` keeps bit 28.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_rolling_keeps_the_template_bits() {
    let mask = 0x1fff_e000;
    let (h, mut events) = Server::bind(localhost0(), server_config())
        .await
        .expect("bind");
    let mut t = Template::synthetic(h.extranonce_size());
    t.version = 0x3000_0000;
    h.new_template(t, true);
    let mut p = RawPeer::connect(h.local_addr()).await;
    p.send(json!({"id": 9, "method": "mining.configure", "params": [["version-rolling"], {"version-rolling.mask": "ffffffff"}]}))
        .await;
    let r = p.recv_response(9, &mut Vec::new()).await;
    assert_eq!(r["result"]["version-rolling.mask"], "1fffe000");
    let Session {
        extranonce1: en1,
        job,
        ..
    } = p.session(None, "w").await;
    let job = Job::new(job.notify.clone(), en1, 8, job.difficulty(), Some(mask));
    let version = job.roll_version(0);
    assert_eq!(version, 0x3000_0000);
    // Regtest bits: about every second share is a block.
    let network = Target::from_compact(CompactTarget(job.notify.nbits)).expect("bits");
    let en2 = vec![0u8; 8];
    let nonce = (0u32..)
        .find(|n| {
            let h = job.header(&en2, job.notify.ntime, *n, version);
            let hash = h.expect("header").block_hash();
            network.is_met_by(&hash) && job.share_target().is_met_by(&hash)
        })
        .expect("a block");
    let share = Share {
        job_id: job.id().to_string(),
        extranonce2: en2,
        ntime: job.notify.ntime,
        nonce,
        version,
    };
    p.send(submit_request(3, "w", &share, Some(version & mask)))
        .await;
    let r = p.recv_response(3, &mut Vec::new()).await;
    assert_eq!(r["result"], true, "{r}");
    let found = block_found(&mut events).await;
    assert_eq!(found.header.version, 0x3000_0000);
    h.shutdown().await;
}

/// The timer the kernel runs on the TCP socket from `local` to `remote`, from
/// `/proc/net/tcp`: its kind (0 none, 1 retransmit, 2 keepalive, …) and the seconds until it
/// fires; an error when the socket is not listed.
fn socket_timer(
    local: std::net::SocketAddr,
    remote: std::net::SocketAddr,
) -> Result<(u8, f64), String> {
    let hex = |a: std::net::SocketAddr| {
        let std::net::IpAddr::V4(ip) = a.ip() else {
            panic!("IPv4 only")
        };
        format!("{:08X}:{:04X}", u32::from_le_bytes(ip.octets()), a.port())
    };
    let (l, r) = (hex(local), hex(remote));
    let table = std::fs::read_to_string("/proc/net/tcp").map_err(|e| e.to_string())?;
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() > 5 && f[1] == l && f[2] == r {
            // "tr:tm->when", the time in clock ticks (1/100 s).
            let (kind, when) = f[5].split_once(':').ok_or("bad timer field")?;
            let kind = u8::from_str_radix(kind, 16).map_err(|e| e.to_string())?;
            let when = u64::from_str_radix(when, 16).map_err(|e| e.to_string())?;
            return Ok((kind, when as f64 / 100.0));
        }
    }
    Err(format!("{l} -> {r} not in /proc/net/tcp"))
}

/// Polls [`socket_timer`] until the socket has no data in flight (no retransmit timer, kind 1)
/// or 20 s pass; returns the last reading.
async fn settled_timer(local: std::net::SocketAddr, remote: std::net::SocketAddr) -> (u8, f64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let t = socket_timer(local, remote).expect("the server's socket");
        if t.0 != 1 || tokio::time::Instant::now() > deadline {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Issue 10, build 4: the server turns TCP keepalive on for every accepted socket with its
/// configured times (a miner whose host vanished is found within `idle + interval × retries`),
/// and leaves it off when told to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_sockets_have_tcp_keepalive_with_the_configured_times() {
    use hashforge_stratum::Keepalive;
    let keepalive = Keepalive {
        idle: Duration::from_secs(7),
        interval: Duration::from_secs(3),
        retries: 2,
    };
    assert_eq!(keepalive.detection_bound(), Duration::from_secs(13));
    assert_eq!(
        Keepalive::default().detection_bound(),
        Duration::from_secs(110)
    );
    for setting in [Some(keepalive), None] {
        let cfg = ServerConfig {
            tcp_keepalive: setting,
            ..server_config()
        };
        let (h, _ev) = start_server(cfg, localhost0()).await;
        let tcp = tokio::net::TcpStream::connect(h.local_addr())
            .await
            .expect("connect");
        let mine = tcp.local_addr().expect("local address");
        let mut p = RawPeer::new(tcp);
        // Once the server answers, its side of the connection is accepted and set up.
        p.session(None, "ka").await;
        let (kind, left) = settled_timer(h.local_addr(), mine).await;
        match setting {
            Some(_) => {
                assert_eq!(kind, 2, "a keepalive timer on the server's socket");
                assert!(
                    left > 0.0 && left <= 7.0,
                    "next keepalive probe in {left} s, configured 7 s"
                );
            }
            None => assert_eq!(kind, 0, "keepalive is off: no timer"),
        }
        h.shutdown().await;
    }
}

/// Issue 10, build 4: a miner that gave up on a connection the server still holds open
/// (half-open: silent on the miner's side) and resumes its session on a new one takes the
/// session over: the server closes the old connection and hands its jobs (and duplicate set)
/// to the new one, so a share found before the cut is accepted, once. A stranger with a
/// guessed session id takes nothing over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_over_a_half_open_connection_takes_the_session_over() {
    let (h, _ev) = start_server(server_config(), localhost0()).await;
    let addr = h.local_addr();
    let mut old = RawPeer::connect(addr).await;
    let Session {
        extranonce1: en1,
        id,
        job,
        ..
    } = old.session(None, "alice").await;
    let before_cut = find_share(&job, 0);
    let sent_before = find_share_with(&job, vec![1; 8], 0);
    old.send(submit_request(3, "alice", &sent_before, None))
        .await;
    assert_eq!(old.recv_response(3, &mut Vec::new()).await["result"], true);

    // A stranger who guesses with the extranonce1 neither gets the session nor closes it.
    let mut eve = RawPeer::connect(addr).await;
    let Session {
        extranonce1: eve_en1,
        clean,
        ..
    } = eve.session(Some(&hex::encode(&en1)), "eve").await;
    assert!(clean);
    assert_ne!(eve_en1, en1);

    // The miner's side of `old` is dead; the server's is open. The miner resumes.
    let mut new = RawPeer::connect(addr).await;
    let Session {
        extranonce1: back_en1,
        id: back_id,
        clean,
        ..
    } = new.session(Some(&id), "alice").await;
    assert_eq!(back_en1, en1, "the session's extranonce1");
    assert_eq!(back_id, id, "the same session");
    assert!(!clean, "the resumed session's jobs stay valid");
    assert!(
        closed_within(&mut old, Duration::from_secs(30)).await,
        "the server closed the half-open connection"
    );
    new.send(submit_request(4, "alice", &before_cut, None))
        .await;
    assert_eq!(
        new.recv_response(4, &mut Vec::new()).await["result"],
        true,
        "a share found before the cut, on the old connection's job"
    );
    // The duplicate set came along: neither share counts twice.
    for (i, s) in [(5, &before_cut), (6, &sent_before)] {
        new.send(submit_request(i, "alice", s, None)).await;
        assert_eq!(error_code(&new.recv_response(i, &mut Vec::new()).await), 22);
    }
    // Eve's connection was never touched.
    eve.send(json!({"id": 7, "method": "mining.suggest_difficulty", "params": [0.5]}))
        .await;
    assert_eq!(eve.recv_response(7, &mut Vec::new()).await["result"], true);
    // The resumed session can be taken over again (it registered itself).
    let mut third = RawPeer::connect(addr).await;
    let Session {
        extranonce1: third_en1,
        clean,
        ..
    } = third.session(Some(&id), "alice").await;
    assert_eq!(third_en1, en1);
    assert!(!clean);
    assert!(closed_within(&mut new, Duration::from_secs(30)).await);
    h.shutdown().await;
}

/// Sends `shares` (pipelined in batches) and returns the answers in order; stops early when
/// the server hangs up.
async fn submit_all(
    p: &mut RawPeer,
    user: &str,
    shares: &[Share],
    first_id: u64,
) -> Vec<serde_json::Value> {
    let mut answers = Vec::new();
    for (b, batch) in shares.chunks(512).enumerate() {
        let mut text = String::new();
        for (i, s) in batch.iter().enumerate() {
            let id = first_id + (b * 512 + i) as u64;
            text.push_str(&submit_request(id, user, s, None).to_string());
            text.push('\n');
        }
        p.send_raw(text.as_bytes()).await;
        let mut got = 0;
        while got < batch.len() {
            match p.recv().await {
                None => return answers,
                Some(v) if v.get("method").is_none() => {
                    answers.push(v);
                    got += 1;
                }
                Some(_) => {}
            }
        }
    }
    answers
}

/// Issue 10, build 3: the duplicate check remembers at most
/// [`MAX_SHARES_PER_CONNECTION`](hashforge_stratum::MAX_SHARES_PER_CONNECTION) shares per
/// connection, over all its jobs: entries of replaced work are forgotten, and one share past
/// the bound gets a clear error and the connection is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_duplicate_set_of_a_connection_is_bounded() {
    use hashforge_stratum::MAX_SHARES_PER_CONNECTION as MAX;
    // Every hash is a share (the share target is the maximum); main-network bits: no block.
    let cfg = ServerConfig {
        start_difficulty: 1e-12,
        min_difficulty: 1e-12,
        ..server_config()
    };
    assert_eq!(cfg.max_shares_per_connection, MAX);
    let (h, _ev) = Server::bind(localhost0(), cfg).await.expect("bind");
    // One ntime for every job: the shares below carry the first job's, and a later template
    // with a later clock second would reject them as "ntime out of range" (seen in CI, where
    // the first 16k shares take over a second).
    let ntime = Template::synthetic(h.extranonce_size()).ntime;
    let template = || {
        let mut t = Template::synthetic(h.extranonce_size());
        t.ntime = ntime;
        t.nbits = 0x1d00_ffff;
        t.network_target = Target::from_compact(CompactTarget(t.nbits)).expect("bits");
        t
    };
    h.new_template(template(), true);
    let mut p = RawPeer::connect(h.local_addr()).await;
    let Session { job, .. } = p.session(None, "flood").await;
    let shares = |job_id: &str, n: usize, en2: u8| -> Vec<Share> {
        (0..n as u32)
            .map(|nonce| Share {
                job_id: job_id.to_string(),
                extranonce2: vec![en2; 8],
                ntime: job.notify.ntime,
                nonce,
                version: job.notify.version,
            })
            .collect()
    };
    let accepted =
        |answers: &[serde_json::Value]| answers.iter().filter(|a| a["result"] == true).count();

    // Nearly full on the first job; then a clean job: those entries are forgotten.
    let first = submit_all(&mut p, "flood", &shares(job.id(), MAX - 100, 0), 100).await;
    assert_eq!(accepted(&first), MAX - 100);
    h.new_template(template(), true);
    let notify = p.recv_method("mining.notify").await;
    let second_job = notify["params"][0].as_str().expect("job id").to_string();

    // Two jobs (the second from a non-clean update) fill one bound between them.
    let half = MAX / 2;
    let answers = submit_all(&mut p, "flood", &shares(&second_job, half, 1), 1_000_000).await;
    assert_eq!(accepted(&answers), half);
    h.new_template(template(), false);
    let notify = p.recv_method("mining.notify").await;
    let third_job = notify["params"][0].as_str().expect("job id").to_string();
    let answers = submit_all(
        &mut p,
        "flood",
        &shares(&third_job, MAX - half + 1, 2),
        2_000_000,
    )
    .await;
    assert_eq!(accepted(&answers), MAX - half, "exactly {MAX} remembered");
    let last = answers
        .last()
        .expect("an answer to the share past the bound");
    assert_eq!(error_code(last), 20, "{last}");
    let msg = last["error"][1].as_str().unwrap_or_default();
    assert!(msg.contains("Too many shares on this connection"), "{msg}");
    assert!(
        closed_within(&mut p, Duration::from_secs(10)).await,
        "the connection is closed at the bound"
    );
    h.shutdown().await;
}
