//! Newline-delimited JSON framing with a maximum line length.
//!
//! [`LineReader::read_line`] is cancel-safe (partial lines are kept inside the reader), so it can
//! be used as a `tokio::select!` branch.

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

use crate::error::CodecError;

/// Default maximum line length: 64 KiB.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

/// Reads newline-terminated UTF-8 lines, refusing lines longer than a limit.
pub struct LineReader<R> {
    inner: BufReader<R>,
    partial: Vec<u8>,
    max: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// Wraps a reader; `max` is the longest accepted line in bytes (without `\n`).
    pub fn new(reader: R, max: usize) -> Self {
        Self {
            inner: BufReader::with_capacity(8 * 1024, reader),
            partial: Vec::new(),
            max,
        }
    }

    /// Reads the next non-empty line (a trailing `\r` is stripped).
    ///
    /// Returns `Ok(None)` on a clean end of stream, [`CodecError::Truncated`] when the stream
    /// ends in the middle of a line, [`CodecError::LineTooLong`] as soon as the limit is passed
    /// and [`CodecError::BadUtf8`] for invalid UTF-8.
    pub async fn read_line(&mut self) -> Result<Option<String>, CodecError> {
        loop {
            let buf = self.inner.fill_buf().await?;
            if buf.is_empty() {
                if self.partial.is_empty() {
                    return Ok(None);
                }
                let n = self.partial.len();
                self.partial.clear();
                return Err(CodecError::Truncated(n));
            }
            let (take, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i, true),
                None => (buf.len(), false),
            };
            if self.partial.len() + take > self.max {
                self.partial.clear();
                return Err(CodecError::LineTooLong { max: self.max });
            }
            self.partial.extend_from_slice(&buf[..take]);
            self.inner.consume(if done { take + 1 } else { take });
            if done {
                let mut line = std::mem::take(&mut self.partial);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                return String::from_utf8(line)
                    .map(Some)
                    .map_err(|_| CodecError::BadUtf8);
            }
        }
    }

    /// Reads the next line and parses it as a JSON value.
    pub async fn read_json(&mut self) -> Result<Option<serde_json::Value>, CodecError> {
        match self.read_line().await? {
            None => Ok(None),
            Some(line) => parse_json(&line).map(Some),
        }
    }
}

/// Parses one line as JSON.
pub fn parse_json(line: &str) -> Result<serde_json::Value, CodecError> {
    serde_json::from_str(line).map_err(|e| CodecError::MalformedJson(e.to_string()))
}

/// Serialises a value as one JSON line (with the trailing `\n`).
pub fn encode_line<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Serialising a `serde_json::Value` or our own message structs cannot fail.
    let mut out = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
    out.push(b'\n');
    out
}

/// Writes one JSON line and flushes.
pub async fn write_line<W: AsyncWrite + Unpin, T: Serialize + ?Sized>(
    writer: &mut W,
    value: &T,
) -> std::io::Result<()> {
    writer.write_all(&encode_line(value)).await?;
    writer.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn splits_and_limits() {
        let data: &[u8] = b"{\"a\":1}\r\n\n{\"b\":2}\nxxxxxxxxxxxxxxxxxxxx\n";
        let mut r = LineReader::new(data, 16);
        assert_eq!(
            r.read_line().await.ok().flatten().as_deref(),
            Some("{\"a\":1}")
        );
        assert_eq!(
            r.read_line().await.ok().flatten().as_deref(),
            Some("{\"b\":2}")
        );
        assert!(matches!(
            r.read_line().await,
            Err(CodecError::LineTooLong { max: 16 })
        ));
    }

    #[tokio::test]
    async fn truncated_and_utf8() {
        let mut r = LineReader::new(&b"{\"a\":"[..], 100);
        assert!(matches!(r.read_line().await, Err(CodecError::Truncated(5))));
        let mut r = LineReader::new(&b"\xff\xfe\n"[..], 100);
        assert!(matches!(r.read_line().await, Err(CodecError::BadUtf8)));
        let mut r = LineReader::new(&b"{nope\n"[..], 100);
        assert!(matches!(
            r.read_json().await,
            Err(CodecError::MalformedJson(_))
        ));
        let mut r = LineReader::new(&b""[..], 100);
        assert!(matches!(r.read_line().await, Ok(None)));
    }
}
