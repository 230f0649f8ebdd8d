//! A test miner: the Stratum client plus a CPU kernel, one share per job.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hashforge::cpu::Kernel;
use hashforge::WorkUnit;
use hashforge_stratum::{Client, ClientOptions, Event, Job, PoolConfig, Share};
use hashforge_stratum_test_support::url;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The first nonce (scanning from 0, extranonce2 all zero, the job's version) whose header
/// meets the job's share target, found with the fastest CPU kernel, as a share; `None` once
/// `superseded()` says a newer job has come.
pub fn scan_for_share(job: &Job, superseded: impl Fn() -> bool) -> Option<Share> {
    let extranonce2 = vec![0u8; job.extranonce2_size];
    let version = job.roll_version(0);
    let ntime = job.notify.ntime;
    let header = job.header(&extranonce2, ntime, 0, version).ok()?;
    let work = WorkUnit::new(header, job.share_target());
    let kernel = Kernel::best();
    let chunk = 1u32 << 16;
    let mut start = 0u32;
    loop {
        if superseded() {
            return None;
        }
        let mut found = Vec::new();
        kernel.scan(&work, start, chunk, &mut found);
        for f in found {
            let nonce = f.nonce;
            let h = job.header(&extranonce2, ntime, nonce, version).ok()?;
            if job.check_share(&h).1 {
                return Some(Share {
                    job_id: job.id().to_string(),
                    extranonce2,
                    ntime,
                    nonce,
                    version,
                });
            }
        }
        start = start.checked_add(chunk)?;
    }
}

/// A test miner on a pool: the Stratum client plus a CPU kernel; one share per job. Like a
/// real miner it always works on the newest job: a new job stops the scan of the old one, and
/// jobs that queued up meanwhile are skipped (otherwise a worker that lost one race would scan
/// every stale job in turn and never catch up). Stops when dropped.
pub struct TestMiner {
    /// The extranonce1 the pool gave it.
    pub extranonce1: Vec<u8>,
    tasks: [JoinHandle<()>; 2],
}

impl Drop for TestMiner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl TestMiner {
    /// Connects to the pool at `addr` (plain TCP) as `worker` and starts mining.
    pub async fn start(addr: SocketAddr, worker: &str) -> TestMiner {
        let pool = PoolConfig::new(url(addr), worker, "x");
        let (client, mut events) = Client::connect(pool, ClientOptions::default())
            .await
            .unwrap();
        let extranonce1 = match events.recv().await {
            Some(Event::Connected { extranonce1, .. }) => extranonce1,
            other => panic!("expected Connected, got {other:?}"),
        };
        // Counts jobs received; a scan stops when it moves on.
        let jobs_seen = Arc::new(AtomicU64::new(0));
        let (latest_tx, mut latest) = watch::channel::<Option<(u64, Job)>>(None);
        let listener = {
            let jobs_seen = jobs_seen.clone();
            tokio::spawn(async move {
                while let Some(ev) = events.recv().await {
                    match ev {
                        Event::Job(job) => {
                            let generation = jobs_seen.fetch_add(1, Ordering::SeqCst) + 1;
                            latest_tx.send_replace(Some((generation, job)));
                        }
                        Event::Disconnected { .. } => break,
                        _ => {}
                    }
                }
                // Dropping `latest_tx` ends the scanner.
            })
        };
        let scanner = tokio::spawn(async move {
            while latest.changed().await.is_ok() {
                let Some((generation, job)) = latest.borrow_and_update().clone() else {
                    continue;
                };
                let jobs_seen = jobs_seen.clone();
                let share = tokio::task::spawn_blocking(move || {
                    scan_for_share(&job, || jobs_seen.load(Ordering::SeqCst) != generation)
                })
                .await
                .unwrap();
                if let Some(share) = share {
                    if client.submit(share).await.is_err() {
                        break;
                    }
                }
            }
            client.shutdown().await;
        });
        TestMiner {
            extranonce1,
            tasks: [listener, scanner],
        }
    }
}

/// A client on the pool at `addr` (plain TCP) that only watches jobs.
pub async fn watch_jobs(addr: SocketAddr) -> (Client, tokio::sync::mpsc::Receiver<Event>) {
    let pool = PoolConfig::new(url(addr), "watcher", "x");
    Client::connect(pool, ClientOptions::default())
        .await
        .unwrap()
}
