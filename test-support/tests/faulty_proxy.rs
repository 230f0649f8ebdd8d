//! The fault-injecting proxy itself, over a real echo server on 127.0.0.1: clean forwarding
//! when no fault is planned, corruption that keeps lines whole, a scheduled drop, and a
//! half-open phase in which nothing moves but the socket stays open.

use std::net::SocketAddr;
use std::time::Duration;

use hashforge_test_support::faulty_proxy::{FaultPlan, FaultyProxy};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

async fn echo_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.into_split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

fn quiet() -> FaultPlan {
    FaultPlan {
        delay: 0.0,
        split: 0.0,
        merge: 0.0,
        corrupt: 0.0,
        half_open: 0.0,
        lifetime: (Duration::from_secs(60), Duration::from_secs(60)),
        ..FaultPlan::default()
    }
}

type Lines = tokio::io::Lines<BufReader<OwnedReadHalf>>;

/// A line-oriented client through `proxy`: its lines in, its write half.
async fn line_client(proxy: &FaultyProxy) -> (Lines, OwnedWriteHalf) {
    let s = TcpStream::connect(proxy.addr()).await.expect("connect");
    let (r, w) = s.into_split();
    (BufReader::new(r).lines(), w)
}

/// The next line (5 s limit).
async fn next_line(lines: &mut Lines) -> String {
    tokio::time::timeout(Duration::from_secs(5), lines.next_line())
        .await
        .expect("in time")
        .expect("read")
        .expect("a line")
}

#[tokio::test]
async fn forwards_unchanged_without_faults_and_with_split_merge_delay() {
    let echo = echo_server().await;
    for plan in [
        quiet(),
        FaultPlan {
            delay: 0.5,
            max_delay: Duration::from_millis(20),
            split: 0.5,
            merge: 0.5,
            ..quiet()
        },
    ] {
        let proxy = FaultyProxy::start(echo, 7, plan).await.expect("proxy");
        let (mut lines, mut w) = line_client(&proxy).await;
        for i in 0..50 {
            w.write_all(format!("line {i}\n").as_bytes())
                .await
                .expect("write");
        }
        for i in 0..50 {
            assert_eq!(next_line(&mut lines).await, format!("line {i}"));
        }
    }
}

#[tokio::test]
async fn corruption_keeps_lines_whole() {
    let echo = echo_server().await;
    let plan = FaultPlan {
        corrupt: 1.0,
        ..quiet()
    };
    let proxy = FaultyProxy::start(echo, 1, plan).await.expect("proxy");
    let (mut lines, mut w) = line_client(&proxy).await;
    w.write_all(b"{\"id\":1}\n").await.expect("write");
    let got = next_line(&mut lines).await;
    assert_eq!(got.len(), "{\"id\":1}".len());
    assert_ne!(got, "{\"id\":1}");
    assert!(
        proxy.stats().summary().contains("corrupted 2"),
        "{}",
        proxy.stats().summary()
    );
}

#[tokio::test]
async fn drops_and_half_open_follow_the_schedule() {
    let echo = echo_server().await;
    let short = (Duration::from_millis(200), Duration::from_millis(201));
    // Dropped: the miner side sees the end of the stream.
    let proxy = FaultyProxy::start(
        echo,
        3,
        FaultPlan {
            lifetime: short,
            ..quiet()
        },
    )
    .await
    .expect("proxy");
    let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("closed in time")
        .unwrap_or(0);
    assert_eq!(n, 0);
    // Half-open: after its life, nothing comes back, yet the socket is not closed.
    let plan = FaultPlan {
        lifetime: short,
        half_open: 1.0,
        silence: Duration::from_secs(30),
        ..quiet()
    };
    let proxy = FaultyProxy::start(echo, 4, plan).await.expect("proxy");
    let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(400)).await;
    s.write_all(b"anyone?\n")
        .await
        .expect("the socket is still open");
    let r = tokio::time::timeout(Duration::from_millis(700), s.read(&mut buf)).await;
    assert!(
        r.is_err(),
        "a half-open connection answers nothing and stays open: {r:?}"
    );
    assert!(proxy.stats().summary().contains("half-open 1"));
}
