//! A boxed byte stream (plain TCP or TLS) and connecting to a pool URL.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::error::ClientError;
use crate::url::PoolUrl;

/// Anything usable as a bidirectional byte stream.
pub trait AsyncStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncStream for T {}

/// A boxed stream (TCP or TLS over TCP).
pub type BoxStream = Box<dyn AsyncStream>;

/// Connects (and for TLS URLs handshakes) within `timeout`. The socket gets TCP keepalive
/// with [`Keepalive::default`](crate::server::Keepalive) (a pool host that vanished is found
/// within 110 s even with nothing to send); a pool that is up but silent is found by the
/// client's own timeouts ([`ClientOptions::idle_timeout`](crate::ClientOptions)).
pub async fn connect(
    url: &PoolUrl,
    insecure: bool,
    timeout: Duration,
) -> Result<BoxStream, ClientError> {
    let fut = async {
        let tcp = TcpStream::connect(url.addr())
            .await
            .map_err(|e| ClientError::Connect {
                addr: url.addr(),
                reason: e.to_string(),
            })?;
        let _ = tcp.set_nodelay(true);
        let _ = crate::server::Keepalive::default().apply(&tcp);
        if url.tls {
            let tls = crate::tls::connect(tcp, &url.host, insecure).await?;
            Ok(Box::new(tls) as BoxStream)
        } else {
            Ok(Box::new(tcp) as BoxStream)
        }
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| ClientError::Connect {
            addr: url.addr(),
            reason: format!("timed out after {timeout:?}"),
        })?
}
