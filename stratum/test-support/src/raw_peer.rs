//! A raw line-oriented TCP peer for scripted tests: a pool that misbehaves, or a miner that does.

use std::net::SocketAddr;
use std::time::Duration;

/// A raw line-oriented TCP peer for scripted tests.
pub struct RawPeer {
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>>,
    wr: tokio::net::tcp::OwnedWriteHalf,
}

impl RawPeer {
    pub fn new(tcp: tokio::net::TcpStream) -> Self {
        use tokio::io::AsyncBufReadExt;
        let (rd, wr) = tcp.into_split();
        Self {
            lines: tokio::io::BufReader::new(rd).lines(),
            wr,
        }
    }

    pub async fn connect(addr: SocketAddr) -> Self {
        Self::new(tokio::net::TcpStream::connect(addr).await.expect("connect"))
    }

    /// Writes raw bytes (errors ignored: the peer may have hung up on purpose).
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        let _ = self.wr.write_all(bytes).await;
        let _ = self.wr.flush().await;
    }

    pub async fn send(&mut self, v: serde_json::Value) {
        self.send_raw(format!("{v}\n").as_bytes()).await;
    }

    /// Next line as JSON; `None` when the other side closed (5 s limit).
    pub async fn recv(&mut self) -> Option<serde_json::Value> {
        let line = tokio::time::timeout(Duration::from_secs(5), self.lines.next_line())
            .await
            .expect("timed out waiting for a line")
            .ok()??;
        Some(serde_json::from_str(&line).expect("peer sent JSON"))
    }

    /// Reads until a message with a `method` equal to `m` (notifications from a pool).
    pub async fn recv_method(&mut self, m: &str) -> serde_json::Value {
        loop {
            let v = self.recv().await.expect("connection open");
            if v["method"] == m {
                return v;
            }
        }
    }

    /// Reads until the response with this id, remembering notifies seen meanwhile.
    pub async fn recv_response(
        &mut self,
        id: u64,
        notifies: &mut Vec<serde_json::Value>,
    ) -> serde_json::Value {
        loop {
            let v = self.recv().await.expect("connection open");
            if v["id"] == id && v.get("method").is_none() {
                return v;
            }
            if v["method"] == "mining.notify" || v["method"] == "mining.set_difficulty" {
                notifies.push(v);
            }
        }
    }
}
