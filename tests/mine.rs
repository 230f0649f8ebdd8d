//! The miner against our own Stratum server over 127.0.0.1: shares accepted, clean-jobs switching
//! without stale submits, difficulty changes, a pool that dies and returns, and the `mine` binary
//! with its embedded pool.

mod common;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hashforge::backend::Backend;
use hashforge::cpu::{CpuBackend, Kernel};
use hashforge::mining::source::{spread_bits, unit, ShareTag};
use hashforge::mining::{self, Engine, MinerConfig, Status};
use hashforge::Found;
use hashforge_stratum::{
    ClientOptions, FailoverOptions, Job, Notify, PoolConfig, Server, ServerConfig, ServerEvent,
    ServerHandle, Target, Template,
};
use tokio::sync::mpsc;

/// A template whose shares never count as blocks.
fn template() -> Template {
    Template {
        network_target: Target::from_difficulty(1e12).unwrap(),
        ..Template::synthetic(8)
    }
}

/// The server's share verdicts so far: (accepted, rejected codes).
type Verdicts = Arc<Mutex<(u64, Vec<i64>)>>;

/// Our pool at a fixed `difficulty` on `port` (0: any), and its share verdicts as they come.
async fn server(difficulty: f64, port: u16) -> (Arc<ServerHandle>, Verdicts) {
    let config = ServerConfig {
        start_difficulty: difficulty,
        vardiff: None,
        ..ServerConfig::default()
    };
    let (h, ev) = Server::bind(format!("127.0.0.1:{port}").parse().unwrap(), config)
        .await
        .unwrap();
    h.new_template(template(), true);
    (Arc::new(h), count_events(ev))
}

/// Counts the server's share verdicts.
fn count_events(mut ev: mpsc::Receiver<ServerEvent>) -> Verdicts {
    let counts = Arc::new(Mutex::new((0, Vec::new())));
    let c = counts.clone();
    tokio::spawn(async move {
        while let Some(e) = ev.recv().await {
            match e {
                ServerEvent::ShareAccepted { .. } => c.lock().unwrap().0 += 1,
                ServerEvent::ShareRejected { code, .. } => c.lock().unwrap().1.push(code),
                _ => {}
            }
        }
    });
    counts
}

fn config(urls: &[String]) -> MinerConfig {
    MinerConfig {
        pools: urls
            .iter()
            .map(|u| PoolConfig::new(u, "worker", "x"))
            .collect(),
        client: ClientOptions {
            submit_timeout: Duration::from_secs(5),
            ..ClientOptions::default()
        },
        failover: FailoverOptions {
            backoff_initial: Duration::from_millis(50),
            backoff_max: Duration::from_millis(200),
            ..FailoverOptions::default()
        },
        status_interval: Duration::from_millis(500),
        drain_timeout: Duration::from_secs(3),
        reload: None,
    }
}

/// Mines on `urls` with one CPU thread while `during` runs, then stops.
async fn mine_while(urls: Vec<String>, during: impl std::future::Future<Output = ()>) -> Status {
    let backend: Arc<dyn Backend<ShareTag>> = Arc::new(CpuBackend::new(Kernel::best(), 1));
    let (engine, found) = Engine::start(vec![backend]);
    let sink: mining::StatusSink = Box::new(|_| {});
    tokio::time::timeout(
        Duration::from_secs(60),
        mining::run(config(&urls), engine, found, sink, during),
    )
    .await
    .expect("miner did not stop")
    .unwrap()
}

/// Mines on `pool` while `script` runs with its handle, then stops.
async fn mine_while_serving<F: std::future::Future<Output = ()>>(
    pool: &Arc<ServerHandle>,
    script: impl FnOnce(Arc<ServerHandle>) -> F,
) -> Status {
    mine_while(vec![url(pool)], script(pool.clone())).await
}

fn url(h: &ServerHandle) -> String {
    format!("stratum+tcp://{}", h.local_addr())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shares_are_accepted_and_verified() {
    let (h, counts) = server(0.0005, 0).await;
    let status = mine_while(vec![url(&h)], tokio::time::sleep(Duration::from_secs(3))).await;
    let c = &status.counters;
    assert!(c.accepted > 0, "{status:?}");
    assert_eq!(
        (c.rejected, c.hw_errors, c.lost, c.timed_out, c.duplicates),
        (0, 0, 0, 0, 0),
        "{status:?}"
    );
    assert_eq!(counts.lock().unwrap().0, c.accepted);
    assert!(status.total.rates.rate_10s > 0.0);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_jobs_switch_leaves_no_stale_submits() {
    let (h, counts) = server(0.0005, 0).await;
    let status = mine_while_serving(&h, |h| async move {
        for _ in 0..6 {
            tokio::time::sleep(Duration::from_millis(400)).await;
            h.new_template(template(), true);
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    })
    .await;
    let (accepted, rejected) = counts.lock().unwrap().clone();
    assert!(accepted > 0);
    // A share already on the wire when the pool cleans is unavoidably stale (at most a few per
    // switch); shares of cleaned jobs found later are dropped by the miner, never sent.
    let stale = rejected.iter().filter(|&&c| c == 21).count();
    assert!(
        stale <= 6,
        "{stale} stale shares over 6 switches: {rejected:?}"
    );
    assert!(rejected.iter().all(|&c| c == 21), "{rejected:?}");
    // Stale rejections are counted once, under S, not also under R.
    assert_eq!(status.counters.rejected, 0, "{status:?}");
    assert_eq!(status.counters.stale_rejected as usize, stale, "{status:?}");
    assert!(status.counters.stale as usize >= stale, "{status:?}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn difficulty_change_applies_to_next_jobs() {
    let (h, counts) = server(0.0005, 0).await;
    let status = mine_while_serving(&h, |h| async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        h.set_difficulty(0.002);
        h.new_template(template(), false);
        tokio::time::sleep(Duration::from_secs(2)).await;
    })
    .await;
    let (_, rejected) = counts.lock().unwrap().clone();
    assert!(
        !rejected.contains(&23),
        "low-difficulty shares after the change: {rejected:?}"
    );
    assert_eq!(status.difficulty, 0.002);
    assert!(status.counters.accepted > 0);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_dies_and_returns_and_mining_goes_on() {
    let (h, _) = server(0.0005, 0).await;
    let port = h.local_addr().port();
    let url = url(&h);
    let accepted_after = Arc::new(Mutex::new(0u64));
    let acc = accepted_after.clone();
    let status = mine_while(vec![url], async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        h.shutdown().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (h, counts) = server(0.0005, port).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        *acc.lock().unwrap() = counts.lock().unwrap().0;
        h.shutdown().await;
    })
    .await;
    assert!(
        *accepted_after.lock().unwrap() > 0,
        "no share accepted after the pool came back: {status:?}"
    );
    assert_eq!(status.counters.hw_errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_over_to_the_second_pool() {
    // The primary's port is closed: bind a listener, note its port, drop it.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("stratum+tcp://{}", dead.local_addr().unwrap());
    drop(dead);
    let (h, counts) = server(0.0005, 0).await;
    let status = mine_while(
        vec![dead_url, url(&h)],
        tokio::time::sleep(Duration::from_secs(4)),
    )
    .await;
    assert!(counts.lock().unwrap().0 > 0, "{status:?}");
    assert_eq!(status.pool.as_deref(), Some(url(&h).as_str()));
    h.shutdown().await;
}

/// Once the miner has seen a clean notify, a nonce found in an earlier job's unit is dropped as
/// stale; with a non-clean notify the earlier job's shares are still sent.
#[test]
fn shares_of_cleaned_jobs_are_never_submitted() {
    use hashforge::mining::shares::{ShareChecker, Verdict};
    use hashforge::mining::source::job_source;
    use hashforge::scheduler::Scheduler;

    let easy = |id: &str, clean: bool| {
        let mut notify = job(8, None).notify.clone();
        notify.job_id = id.into();
        notify.clean_jobs = clean;
        // Difficulty 1e-12: every nonce is a share.
        Arc::new(Job::new(notify, vec![1, 2, 3, 4], 8, 1e-12, None))
    };
    let sched = Scheduler::new();
    let mut checker = ShareChecker::new();
    let take = |job: &Arc<Job>| {
        sched.set_source(job_source(job.clone()));
        sched.next_chunk(&mut None, 4).unwrap().assignment
    };
    // Nonce `n` on the unit's (only) version.
    let on = |unit: &Arc<hashforge::scheduler::Assignment<_>>, nonce: u32| Found {
        nonce,
        version: unit.work.versions()[0],
    };
    let a = easy("a", true);
    checker.new_job(&a);
    let unit_a = take(&a);
    assert!(matches!(
        checker.check(&unit_a, on(&unit_a, 1)),
        Verdict::Submit { .. }
    ));
    assert!(matches!(
        checker.check(&unit_a, on(&unit_a, 1)),
        Verdict::Duplicate
    ));

    let b = easy("b", false);
    checker.new_job(&b);
    let unit_b = take(&b);
    assert!(
        matches!(
            checker.check(&unit_a, on(&unit_a, 2)),
            Verdict::Submit { .. }
        ),
        "not clean: a stays valid"
    );

    let c = easy("c", true);
    checker.new_job(&c);
    assert!(matches!(
        checker.check(&unit_a, on(&unit_a, 3)),
        Verdict::Stale { .. }
    ));
    assert!(matches!(
        checker.check(&unit_b, on(&unit_b, 3)),
        Verdict::Stale { .. }
    ));
    let unit_c = take(&c);
    match checker.check(&unit_c, on(&unit_c, 3)) {
        Verdict::Submit { share, .. } => assert_eq!((share.job_id.as_str(), share.nonce), ("c", 3)),
        v => panic!("{v:?}"),
    }
    // A nonce that does not meet the target when re-hashed is a hardware error, never a share.
    let mut notify = c.notify.clone();
    notify.job_id = "d".into();
    let hard = Arc::new(Job::new(notify, c.extranonce1.clone(), 8, 1e12, None));
    checker.new_job(&hard);
    let unit_d = take(&hard);
    assert!(matches!(
        checker.check(&unit_d, on(&unit_d, 3)),
        Verdict::HardwareError { .. }
    ));
}

/// A share found on a rolled version of a unit is checked on that version and submitted with
/// it; a version the unit was not given is a hardware error, never a share.
#[test]
fn a_share_on_a_rolled_version_carries_its_version() {
    use hashforge::mining::shares::{ShareChecker, Verdict};
    use hashforge::mining::source::job_source;
    use hashforge::scheduler::Scheduler;

    let mut notify = job(8, None).notify.clone();
    notify.clean_jobs = true;
    // Difficulty 1e-6: one hash in about 4,300 meets it, so 2^18 nonces × 4 versions give
    // about 240 finds, three quarters of them on rolled versions.
    let j = Arc::new(Job::new(
        notify,
        vec![1, 2, 3, 4],
        8,
        1e-6,
        Some(0x1fff_e000),
    ));
    let sched = Scheduler::new();
    sched.set_source(job_source(j.clone()));
    let unit = sched.next_chunk(&mut None, 4).unwrap().assignment;
    assert_eq!(unit.work.versions().len(), hashforge::ROLLED_VERSIONS);
    let mut found = Vec::new();
    Kernel::best().scan(&unit.work, 0, 1 << 18, &mut found);
    let rolled = *found
        .iter()
        .find(|f| f.version != unit.work.versions()[0])
        .expect("a find on a rolled version");
    let mut checker = ShareChecker::new();
    checker.new_job(&j);
    match checker.check(&unit, rolled) {
        Verdict::Submit { share, .. } => {
            assert_eq!((share.nonce, share.version), (rolled.nonce, rolled.version));
            let header = j
                .header(&share.extranonce2, share.ntime, share.nonce, share.version)
                .unwrap();
            assert!(j.share_target().is_met_by(&header.block_hash()));
        }
        v => panic!("{v:?}"),
    }
    let foreign = Found {
        nonce: rolled.nonce,
        version: rolled.version ^ 0x0004_0000 ^ 0x1000_0000,
    };
    assert!(matches!(
        checker.check(&unit, foreign),
        Verdict::HardwareError { .. }
    ));
}

/// A share on a rolled version of a job ckpool really sent (the recorded session's connection 3,
/// with the mask the fixture's ckpool was configured with, 1fffe000, and its difficulty 1): the
/// rolled unit finds it, the checker passes it with its version, the `mining.submit` carries
/// the version bits as a sixth parameter, and the header ckpool rebuilds from that submit
/// (BIP 310: the job's version outside the mask, the submitted bits inside) meets its target.
/// The nonce was found once with `hashforge scan --difficulty 1` on that header with version
/// 20004000 (the unit's third version; its second, 20002000, has no difficulty-1 nonce at all).
#[test]
fn a_rolled_share_on_a_recorded_ckpool_job_meets_ckpools_rule() {
    use hashforge::mining::shares::{ShareChecker, Verdict};
    use hashforge::mining::source::job_source;
    use hashforge::scheduler::Scheduler;
    use hashforge_stratum::messages::{ClientRequest, ServerMessage, Submit, SubscribeResult};

    const SESSION: &str = include_str!("../stratum/tests/fixtures/stratum-ckpool-session.jsonl");
    const MASK: u32 = 0x1fff_e000;
    const NONCE: u32 = 963_811_935;
    let (mut extranonce1, mut notify) = (None, None);
    for rec in SESSION.lines() {
        let rec: serde_json::Value = serde_json::from_str(rec).unwrap();
        let (Some(3), Some("s2c"), Some(line)) = (
            rec["conn"].as_u64(),
            rec["dir"].as_str(),
            rec["line"].as_str(),
        ) else {
            continue;
        };
        match ServerMessage::parse_line(line).unwrap() {
            ServerMessage::Response(r) if r.id_u64() == Some(1) => {
                extranonce1 = Some(SubscribeResult::parse(&r.result).unwrap().extranonce1);
            }
            ServerMessage::Notify(n) if n.job_id == "6b016d390000001d" => notify = Some(n),
            _ => {}
        }
    }
    let notify = notify.expect("the recorded notify");
    let job = Arc::new(Job::new(
        notify.clone(),
        extranonce1.expect("the recorded subscribe answer"),
        8,
        1.0,
        Some(MASK),
    ));
    let sched = Scheduler::new();
    sched.set_source(job_source(job.clone()));
    let unit = sched.next_chunk(&mut None, 4).unwrap().assignment;
    assert_eq!(unit.tag.extranonce2, vec![0; 8]);
    assert_eq!(
        unit.work.versions(),
        [0x2000_0000, 0x2000_2000, 0x2000_4000, 0x2000_6000]
    );
    let mut found = Vec::new();
    Kernel::best().scan(&unit.work, NONCE - 5_000, 10_000, &mut found);
    let share = Found {
        nonce: NONCE,
        version: 0x2000_4000,
    };
    assert!(found.contains(&share), "{found:x?}");

    let mut checker = ShareChecker::new();
    checker.new_job(&job);
    let share = match checker.check(&unit, share) {
        Verdict::Submit { share, .. } => share,
        v => panic!("{v:?}"),
    };
    // The submit as the client writes it (`version_bits`: the version inside the granted mask).
    let params = ClientRequest::Submit(Submit {
        user: "bcrt1q9pe4m4mhm5dwjhlspl8yqz3hc9pcz6sswkkz8c".into(),
        job_id: share.job_id.clone(),
        extranonce2: share.extranonce2.clone(),
        ntime: share.ntime,
        nonce: share.nonce,
        version_bits: Some(share.version & MASK),
    })
    .params();
    assert_eq!(params[5], "00004000", "{params}");
    // What the pool reads from it, and ckpool's rule for the header.
    let sent = Submit::parse(&params).unwrap();
    let bits = sent.version_bits.expect("the sixth parameter");
    let version = hashforge_stratum::job::apply_version_bits(notify.version, MASK, bits);
    assert_eq!(version, 0x2000_4000);
    let header = job
        .header(&sent.extranonce2, sent.ntime, sent.nonce, version)
        .unwrap();
    assert!(Target::DIFF1.is_met_by(&header.block_hash()));
    // Regtest: a share of difficulty 1 is also a block, as every one in the recording was.
    assert!(job
        .network_target()
        .unwrap()
        .is_met_by(&header.block_hash()));
}

/// A new job moves every CPU thread over within one chunk: after the switch, the old work
/// yields at most what was already queued plus one chunk per thread. Counted, not timed, so a
/// loaded CI machine that parks a thread mid-chunk cannot fail it; without preemption the old
/// work would go on filling the queue for the whole half second.
#[test]
fn new_work_preempts_the_cpu_threads_promptly() {
    use hashforge::{Header, WorkUnit};
    let threads = 2;
    let cpu = CpuBackend::new(Kernel::best(), threads);
    let chunk = cpu.chunk_size() as usize;
    let backend: Arc<dyn Backend<ShareTag>> = Arc::new(cpu);
    let (engine, mut found) = Engine::start(vec![backend]);
    let target = hashforge::Target::from_difficulty(1.0 / 4096.0 / 65536.0).unwrap(); // ~1 in 16
    let work = move |time: u32| {
        let mut h = Header::genesis();
        h.time = time;
        WorkUnit::new(h, target)
    };
    let tag = ShareTag {
        job: job(8, None),
        extranonce2: vec![0; 8],
    };
    let tag2 = tag.clone();
    engine
        .scheduler()
        .set_source(Box::new(move || Some((work(1), tag.clone()))));
    std::thread::sleep(Duration::from_millis(200));
    let switched = std::time::Instant::now();
    engine
        .scheduler()
        .set_source(Box::new(move || Some((work(2), tag2.clone()))));
    let (mut old_after, mut new_after, mut last_old) = (0usize, 0usize, None);
    let deadline = switched + Duration::from_millis(500);
    while std::time::Instant::now() < deadline {
        match found.try_recv() {
            Ok(f) if f.assignment.work.header().time == 1 => {
                old_after += 1;
                last_old = Some(switched.elapsed());
            }
            Ok(_) => new_after += 1,
            Err(_) => std::thread::sleep(Duration::from_micros(200)),
        }
    }
    engine.stop();
    let bound = mining::engine::FOUND_QUEUE + threads * chunk;
    assert!(
        old_after <= bound,
        "{old_after} finds of the old work after the switch (bound {bound}; last {last_old:?} \
         after it)"
    );
    assert!(new_after > 0, "the new work found nothing");
}

fn job(extranonce2_size: usize, version_mask: Option<u32>) -> Arc<Job> {
    let t = template();
    Arc::new(Job::new(
        Notify {
            job_id: "1".into(),
            prevhash: hashforge_stratum::job::swap_words(&t.prev_hash),
            coinb1: t.coinb1.clone(),
            coinb2: t.coinb2.clone(),
            merkle_branch: vec![],
            version: 0x2000_0000,
            nbits: t.nbits,
            ntime: t.ntime,
            clean_jobs: true,
        },
        vec![1, 2, 3, 4],
        extranonce2_size,
        1.0,
        version_mask,
    ))
}

/// Issue 13: at 7 GH/s a 2^32-nonce unit lasts 0.6 s, so the job source must stay far ahead of
/// a whole rig. A consumer at 20 GH/s (four feeders taking 2^30-nonce chunks, a rate at which
/// 2^40 nonces last 55 s) is never left without work: every request is answered from a new
/// unit, each unit is distinct, and making all 256 of them (a 12-level merkle branch each, as
/// a block full of transactions has) takes a tenth of the time that consumer would need.
#[test]
fn the_job_source_keeps_a_20_ghs_consumer_fed() {
    use hashforge::mining::source::job_source;
    use hashforge::scheduler::Scheduler;
    let mut notify = job(8, Some(0x1fff_e000)).notify.clone();
    notify.merkle_branch = (0..12u8).map(|i| [i; 32]).collect();
    let j = Arc::new(Job::new(
        notify,
        vec![1, 2, 3, 4],
        8,
        1.0,
        Some(0x1fff_e000),
    ));
    let scheduler = Scheduler::new();
    scheduler.set_source(job_source(j));
    const CHUNK: u32 = 1 << 30;
    const TOTAL: u64 = 1 << 40;
    let taken = std::sync::atomic::AtomicU64::new(0);
    let started = std::time::Instant::now();
    let roots: Vec<(u32, Vec<[u8; 32]>)> = std::thread::scope(|scope| {
        let feeders: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let (mut cache, mut gaps, mut roots) = (None, 0, Vec::new());
                    while taken.load(std::sync::atomic::Ordering::Relaxed) < TOTAL {
                        match scheduler.next_chunk(&mut cache, CHUNK) {
                            Some(c) => {
                                taken.fetch_add(
                                    c.count as u64,
                                    std::sync::atomic::Ordering::Relaxed,
                                );
                                roots.push(c.work().header().merkle_root);
                            }
                            None => gaps += 1,
                        }
                    }
                    (gaps, roots)
                })
            })
            .collect();
        feeders.into_iter().map(|f| f.join().unwrap()).collect()
    });
    let elapsed = started.elapsed();
    let gaps: u32 = roots.iter().map(|(g, _)| g).sum();
    assert_eq!(gaps, 0, "a feeder found no work");
    let mut units: Vec<[u8; 32]> = roots.into_iter().flat_map(|(_, r)| r).collect();
    assert!(units.len() >= 1024, "{} chunks", units.len());
    units.sort_unstable();
    units.dedup();
    // Four chunks per unit, each unit with its own extranonce2 (so its own merkle root).
    assert!(units.len() >= 256, "{} distinct units", units.len());
    let at_20_ghs = std::time::Duration::from_secs_f64(TOTAL as f64 / 20e9);
    assert!(
        elapsed < at_20_ghs / 10,
        "{elapsed:?} to make the units a 20 GH/s consumer uses in {at_20_ghs:?}"
    );
}

#[test]
fn units_roll_extranonce2_then_version_bits() {
    assert_eq!(spread_bits(0b101, 0x1fff_e000), 0b101 << 13);
    assert_eq!(spread_bits(0b11, 0b1010), 0b1010);
    let j = job(1, Some(0x0000_6000));
    let (w0, t0) = unit(&j, 0).unwrap();
    let (_, t1) = unit(&j, 1).unwrap();
    assert_eq!(
        (t0.extranonce2.clone(), t1.extranonce2.clone()),
        (vec![0], vec![1])
    );
    // Two mask bits: every unit carries the 4 versions they allow.
    assert_eq!(
        w0.versions(),
        [0x2000_0000, 0x2000_2000, 0x2000_4000, 0x2000_6000]
    );
    assert_eq!(w0.header().version, 0x2000_0000);
    assert_ne!(
        w0.header().merkle_root,
        unit(&j, 1).unwrap().0.header().merkle_root
    );
    // 256 extranonce2 values × one group of 4 versions, then the job is used up.
    assert!(unit(&j, 255).is_some());
    assert!(unit(&j, 256).is_none());
    assert!(unit(&job(1, None), 256).is_none());
    // Three bits: a second group of 4 after every extranonce2 value.
    let j3 = job(1, Some(0x0000_e000));
    let (w256, t256) = unit(&j3, 256).unwrap();
    assert_eq!(t256.extranonce2, vec![0]);
    assert_eq!(
        w256.versions(),
        [0x2000_8000, 0x2000_a000, 0x2000_c000, 0x2000_e000]
    );
    assert!(unit(&j3, 511).is_some());
    assert!(unit(&j3, 512).is_none());
    // One bit: too few for a group, so one version per unit, rolled after extranonce2.
    let j1 = job(1, Some(0x0000_2000));
    assert_eq!(unit(&j1, 0).unwrap().0.versions(), [0x2000_0000]);
    assert_eq!(unit(&j1, 256).unwrap().0.versions(), [0x2000_2000]);
    assert!(unit(&j1, 512).is_none());
    // The unit's header is exactly the one the job builds.
    let en2 = t1.extranonce2.clone();
    let (w1, _) = unit(&j, 1).unwrap();
    assert_eq!(
        *w1.header(),
        j.header(&en2, j.notify.ntime, 0, 0x2000_0000).unwrap()
    );
}

/// A header-only job (an SV2 standard channel): no extranonce2, the pool's merkle root in every
/// unit, the version bits the only axis besides the nonce.
#[test]
fn header_only_jobs_roll_version_bits_over_the_pools_merkle_root() {
    let plain = job(0, None);
    let root = [0x5au8; 32];
    let j = Arc::new(Job::header_only(
        plain.notify.clone(),
        root,
        1.0,
        Some(0x1fff_e000),
    ));
    let (w0, t0) = unit(&j, 0).unwrap();
    let (w1, t1) = unit(&j, 1).unwrap();
    assert!(t0.extranonce2.is_empty() && t1.extranonce2.is_empty());
    assert_eq!(w0.header().merkle_root, root);
    assert_eq!(w1.header().merkle_root, root);
    assert_eq!(w0.versions()[0], 0x2000_0000);
    assert_eq!(w1.versions()[0], 0x2000_8000, "the next 4 versions");
    // 2^16 versions in groups of 4.
    assert!(unit(&j, (1 << 14) - 1).is_some());
    assert!(unit(&j, 1 << 14).is_none());
    // Without a mask: one unit.
    let fixed = Arc::new(Job::header_only(plain.notify.clone(), root, 1.0, None));
    assert!(unit(&fixed, 0).is_some() && unit(&fixed, 1).is_none());
}

#[test]
fn mine_binary_with_embedded_pool_gets_accepted_shares() {
    let (stdout, last) = common::mine_on_embedded_pool(&["--duration", "6", "-t", "1"]);
    assert!(last["accepted"].as_u64().unwrap() > 0, "{stdout}");
    assert_eq!(last["rejected"], 0);
    assert_eq!(last["hw_errors"], 0);
    assert_eq!(last["difficulty"], 0.0005, "the pool took the suggestion");
    assert_eq!(last["backends"][0]["name"], "cpu");
    assert!(last["pool"]
        .as_str()
        .unwrap()
        .starts_with("stratum+tcp://127.0.0.1:"));
}

#[test]
fn mine_bad_arguments_are_one_line_errors() {
    for (args, needle) in [
        (
            vec!["mine", "-o", "http://127.0.0.1:1"],
            "unknown scheme: use stratum+tcp://, stratum+ssl://, stratum+tls:// or stratum2+tcp://",
        ),
        (
            vec![
                "mine",
                "-o",
                "stratum+tcp://127.0.0.1:1",
                "-o",
                "stratum+tcp://127.0.0.1:2",
                "-u",
                "a",
                "-u",
                "b",
                "-u",
                "c",
            ],
            "-u",
        ),
        (vec!["mine", "--kernel", "nope"], "unknown kernel"),
    ] {
        common::hashforge().one_line_error(&args, needle);
    }
}
