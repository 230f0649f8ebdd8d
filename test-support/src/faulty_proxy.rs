//! A TCP proxy that injects faults on a seeded random schedule, for soak tests between a miner
//! and a pool: it delays and splits writes, merges lines, corrupts a line now and then, drops
//! connections, and goes silent with the sockets left open (a half-open connection).
//!
//! Every connection gets its own schedule drawn from one seeded generator, so a failing soak
//! can be replayed with its seed. [`ProxyStats`] counts what was injected.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Read buffer per direction.
const CHUNK: usize = 16 * 1024;

/// How often each fault strikes. Probabilities are per forwarded chunk, except where noted.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    /// A chunk is held back for up to `max_delay` before it is forwarded.
    pub delay: f64,
    /// Longest delay.
    pub max_delay: Duration,
    /// A chunk is written in two parts, with a short pause between them.
    pub split: f64,
    /// A chunk is held until the next one arrives (or 50 ms pass) and both go in one write.
    pub merge: f64,
    /// One byte of a chunk is replaced by garbage (a corrupt line).
    pub corrupt: f64,
    /// A connection lives this long at most (drawn uniformly from the range), then ends.
    pub lifetime: (Duration, Duration),
    /// When a connection's life ends, the chance that it goes silent (half-open: nothing
    /// forwarded either way, sockets left open) for `silence` rather than closing at once.
    pub half_open: f64,
    /// How long a silent connection stays open before it is closed.
    pub silence: Duration,
}

impl FaultPlan {
    /// No faults: every connection forwarded faithfully for a day, unless
    /// [`FaultyProxy::silence_open_connections`] silences it (for `silence`).
    pub fn none(silence: Duration) -> Self {
        let day = Duration::from_secs(86_400);
        FaultPlan {
            delay: 0.0,
            max_delay: Duration::ZERO,
            split: 0.0,
            merge: 0.0,
            corrupt: 0.0,
            lifetime: (day, day),
            half_open: 0.0,
            silence,
        }
    }
}

impl Default for FaultPlan {
    fn default() -> Self {
        FaultPlan {
            delay: 0.05,
            max_delay: Duration::from_millis(300),
            split: 0.1,
            merge: 0.1,
            corrupt: 0.01,
            lifetime: (Duration::from_secs(2), Duration::from_secs(8)),
            half_open: 0.3,
            silence: Duration::from_secs(20),
        }
    }
}

/// Counts of what the proxy did.
#[derive(Debug, Default)]
pub struct ProxyStats {
    /// Connections accepted (and connected upstream).
    pub connections: AtomicU64,
    /// Chunks delayed.
    pub delayed: AtomicU64,
    /// Chunks split in two writes.
    pub split: AtomicU64,
    /// Chunks merged with the next.
    pub merged: AtomicU64,
    /// Chunks with one corrupted byte.
    pub corrupted: AtomicU64,
    /// Connections closed by the schedule.
    pub dropped: AtomicU64,
    /// Connections that went silent (half-open) before closing.
    pub half_open: AtomicU64,
}

impl ProxyStats {
    /// A one-line summary.
    pub fn summary(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "connections {} delayed {} split {} merged {} corrupted {} dropped {} half-open {}",
            g(&self.connections),
            g(&self.delayed),
            g(&self.split),
            g(&self.merged),
            g(&self.corrupted),
            g(&self.dropped),
            g(&self.half_open)
        )
    }
}

/// A running proxy; dropping it stops accepting and ends every connection.
pub struct FaultyProxy {
    addr: SocketAddr,
    stats: Arc<ProxyStats>,
    stop: watch::Sender<bool>,
    silence: watch::Sender<u64>,
}

impl FaultyProxy {
    /// Listens on 127.0.0.1 and forwards every connection to `upstream`, with faults drawn
    /// from `seed` according to `plan`.
    pub async fn start(
        upstream: SocketAddr,
        seed: u64,
        plan: FaultPlan,
    ) -> std::io::Result<FaultyProxy> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(ProxyStats::default());
        let (stop, stop_rx) = watch::channel(false);
        let (silence, _) = watch::channel(0u64);
        let silence_tx = silence.clone();
        let rng = Arc::new(Mutex::new(StdRng::seed_from_u64(seed)));
        let plan = Arc::new(plan);
        let st = stats.clone();
        tokio::spawn(async move {
            let mut stop_rx = stop_rx;
            loop {
                let (down, _) = tokio::select! {
                    _ = stop_rx.changed() => return,
                    a = listener.accept() => match a {
                        Ok(x) => x,
                        Err(_) => continue,
                    },
                };
                // Each connection's own generator, seeded from the proxy's: reproducible.
                let conn_seed = rng.lock().expect("rng lock").gen::<u64>();
                tokio::spawn(proxy_conn(
                    down,
                    upstream,
                    conn_seed,
                    plan.clone(),
                    st.clone(),
                    stop_rx.clone(),
                    silence_tx.subscribe(),
                ));
            }
        });
        Ok(FaultyProxy {
            addr,
            stats,
            stop,
            silence,
        })
    }

    /// The address miners connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Makes every connection open now go silent (half-open: nothing forwarded either way, both
    /// sockets left open) for the plan's `silence`, then close; later connections are not
    /// affected.
    pub fn silence_open_connections(&self) {
        self.silence.send_modify(|g| *g += 1);
    }

    /// What has been injected so far.
    pub fn stats(&self) -> &ProxyStats {
        &self.stats
    }
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn proxy_conn(
    down: TcpStream,
    upstream: SocketAddr,
    seed: u64,
    plan: Arc<FaultPlan>,
    stats: Arc<ProxyStats>,
    mut stop: watch::Receiver<bool>,
    mut silence: watch::Receiver<u64>,
) {
    let Ok(up) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = (down.set_nodelay(true), up.set_nodelay(true));
    stats.connections.fetch_add(1, Ordering::Relaxed);
    let mut rng = StdRng::seed_from_u64(seed);
    let (lo, hi) = plan.lifetime;
    let life = if hi > lo { rng.gen_range(lo..hi) } else { lo };
    let silent_end = rng.gen_bool(plan.half_open.clamp(0.0, 1.0));
    let (d_rd, d_wr) = down.into_split();
    let (u_rd, u_wr) = up.into_split();
    let (phase_tx, phase) = watch::channel(Phase::Run);
    let to_server = pump(
        d_rd,
        u_wr,
        rng.gen(),
        plan.clone(),
        stats.clone(),
        phase.clone(),
    );
    let to_miner = pump(u_rd, d_wr, rng.gen(), plan.clone(), stats.clone(), phase);
    let both = async {
        tokio::join!(to_server, to_miner);
    };
    tokio::pin!(both);
    let silenced = tokio::select! {
        _ = &mut both => return,
        _ = stop.changed() => return,
        _ = tokio::time::sleep(life) => false,
        _ = silence.changed() => true,
    };
    if silent_end || silenced {
        stats.half_open.fetch_add(1, Ordering::Relaxed);
        let _ = phase_tx.send(Phase::Silent);
    } else {
        stats.dropped.fetch_add(1, Ordering::Relaxed);
        let _ = phase_tx.send(Phase::Close);
    }
    tokio::select! {
        _ = both => {}
        _ = stop.changed() => {}
    }
}

/// Where a connection's schedule stands.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Forwarding, with faults.
    Run,
    /// Half-open: nothing forwarded, sockets held open for the plan's `silence`, then closed.
    Silent,
    /// Closed at once.
    Close,
}

/// Forwards one direction with faults until either side closes.
async fn pump(
    mut rd: OwnedReadHalf,
    mut wr: OwnedWriteHalf,
    seed: u64,
    plan: Arc<FaultPlan>,
    stats: Arc<ProxyStats>,
    mut phase: watch::Receiver<Phase>,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut buf = vec![0u8; CHUNK];
    let mut held: Vec<u8> = Vec::new();
    loop {
        let merge_wait = if held.is_empty() {
            Duration::MAX
        } else {
            Duration::from_millis(50)
        };
        let read = tokio::select! {
            r = rd.read(&mut buf) => r,
            _ = phase.changed() => {
                if *phase.borrow() == Phase::Silent {
                    // Hold both halves of this direction open, forwarding nothing.
                    tokio::time::sleep(plan.silence).await;
                }
                return;
            }
            _ = tokio::time::sleep(merge_wait) => {
                if wr.write_all(&std::mem::take(&mut held)).await.is_err() {
                    return;
                }
                continue;
            }
        };
        let n = match read {
            Ok(0) | Err(_) => {
                let _ = wr.write_all(&held).await;
                let _ = wr.shutdown().await;
                return;
            }
            Ok(n) => n,
        };
        let mut chunk = std::mem::take(&mut held);
        chunk.extend_from_slice(&buf[..n]);
        if rng.gen_bool(plan.corrupt) {
            let i = rng.gen_range(0..chunk.len());
            // Not a newline: the line stays one line, just a broken one.
            chunk[i] = if chunk[i] == b'#' { b'%' } else { b'#' };
            stats.corrupted.fetch_add(1, Ordering::Relaxed);
        }
        if rng.gen_bool(plan.merge) {
            stats.merged.fetch_add(1, Ordering::Relaxed);
            held = chunk;
            continue;
        }
        if rng.gen_bool(plan.delay) && !plan.max_delay.is_zero() {
            stats.delayed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(rng.gen_range(Duration::ZERO..plan.max_delay)).await;
        }
        let ok = if chunk.len() > 1 && rng.gen_bool(plan.split) {
            stats.split.fetch_add(1, Ordering::Relaxed);
            let at = rng.gen_range(1..chunk.len());
            let first = wr.write_all(&chunk[..at]).await;
            tokio::time::sleep(Duration::from_millis(rng.gen_range(1..30))).await;
            first.is_ok() && wr.write_all(&chunk[at..]).await.is_ok()
        } else {
            wr.write_all(&chunk).await.is_ok()
        };
        if !ok {
            return;
        }
    }
}
