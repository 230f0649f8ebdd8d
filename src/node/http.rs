//! Minimal HTTP/1.1 message reading, shared by the RPC client and the replay node of the
//! test-support crate.
//!
//! Only what JSON-RPC needs: a start line, headers, and a body delimited by `Content-Length`,
//! `Transfer-Encoding: chunked`, or (replies only) the end of the connection. Every read is
//! bounded: the head by [`MAX_HEAD_BYTES`], the body by a caller-supplied limit.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// Longest accepted start line plus headers.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Why an HTTP message could not be read.
#[derive(Debug)]
pub enum HttpError {
    /// The connection failed while reading.
    Io(std::io::Error),
    /// The bytes are not an HTTP/1.x message.
    Malformed(String),
    /// The peer closed the connection before the announced body length.
    Truncated { expected: Option<usize>, got: usize },
    /// The head or body is larger than allowed.
    TooLarge { limit: usize },
    /// The connection was closed before any byte was received.
    Closed,
}

impl From<std::io::Error> for HttpError {
    fn from(e: std::io::Error) -> Self {
        HttpError::Io(e)
    }
}

/// A parsed start line plus headers.
#[derive(Debug, Clone)]
pub struct Head {
    pub start_line: String,
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The value of the first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The status code and reason phrase of a response start line.
    pub fn status(&self) -> Result<(u16, String), HttpError> {
        let line = &self.start_line;
        let mut parts = line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        if !version.starts_with("HTTP/1.") {
            return Err(HttpError::Malformed(format!(
                "invalid status line {:?}",
                excerpt(line)
            )));
        }
        let code = parts.next().unwrap_or("");
        let status = match code.parse::<u16>() {
            Ok(c) if code.len() == 3 && (100..=599).contains(&c) => c,
            _ => {
                return Err(HttpError::Malformed(format!(
                    "invalid status code in {:?}",
                    excerpt(line)
                )))
            }
        };
        Ok((status, parts.next().unwrap_or("").trim().to_string()))
    }

    /// Whether the message says the connection closes after it.
    pub fn connection_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// At most 60 characters of `s`, for error messages.
pub fn excerpt(s: &str) -> String {
    s.chars().take(60).collect()
}

/// Reads a start line and headers, up to the empty line.
pub async fn read_head<R: AsyncBufRead + Unpin>(r: &mut R) -> Result<Head, HttpError> {
    let mut used = 0usize;
    let mut start_line: Option<String> = None;
    let mut headers = Vec::new();
    loop {
        let mut line = Vec::new();
        let limit = (MAX_HEAD_BYTES - used) as u64;
        let n = (&mut *r).take(limit).read_until(b'\n', &mut line).await?;
        used += n;
        if n == 0 {
            return Err(if used == 0 {
                HttpError::Closed
            } else {
                HttpError::Truncated {
                    expected: None,
                    got: used,
                }
            });
        }
        if line.last() != Some(&b'\n') {
            if used >= MAX_HEAD_BYTES {
                return Err(HttpError::TooLarge {
                    limit: MAX_HEAD_BYTES,
                });
            }
            return Err(HttpError::Truncated {
                expected: None,
                got: used,
            });
        }
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let text = String::from_utf8(line)
            .map_err(|_| HttpError::Malformed("HTTP head is not valid text".into()))?;
        match start_line {
            None => {
                if text.is_empty() {
                    return Err(HttpError::Malformed("empty start line".into()));
                }
                start_line = Some(text);
            }
            Some(_) if text.is_empty() => break,
            Some(_) => {
                let (name, value) = text.split_once(':').ok_or_else(|| {
                    HttpError::Malformed(format!("invalid header line {:?}", excerpt(&text)))
                })?;
                let name = name.trim();
                if name.is_empty() || name.contains(' ') {
                    return Err(HttpError::Malformed(format!(
                        "invalid header name {:?}",
                        excerpt(name)
                    )));
                }
                headers.push((name.to_string(), value.trim().to_string()));
            }
        }
    }
    Ok(Head {
        start_line: start_line.unwrap_or_default(),
        headers,
    })
}

/// Reads the body that follows `head`, at most `limit` bytes.
///
/// `until_eof` allows a body without length (read until the peer closes), as HTTP allows for
/// replies; requests without `Content-Length` have an empty body.
pub async fn read_body<R: AsyncBufRead + Unpin>(
    r: &mut R,
    head: &Head,
    limit: usize,
    until_eof: bool,
) -> Result<Vec<u8>, HttpError> {
    if let Some(te) = head.header("transfer-encoding") {
        if te.to_ascii_lowercase().contains("chunked") {
            return read_chunked(r, limit).await;
        }
        return Err(HttpError::Malformed(format!(
            "unsupported transfer encoding {:?}",
            excerpt(te)
        )));
    }
    if let Some(cl) = head.header("content-length") {
        let len: usize = cl.parse().map_err(|_| {
            HttpError::Malformed(format!("invalid Content-Length {:?}", excerpt(cl)))
        })?;
        if len > limit {
            return Err(HttpError::TooLarge { limit });
        }
        let mut body = Vec::with_capacity(len.min(1 << 20));
        let got = (&mut *r).take(len as u64).read_to_end(&mut body).await?;
        if got < len {
            return Err(HttpError::Truncated {
                expected: Some(len),
                got,
            });
        }
        return Ok(body);
    }
    if !until_eof {
        return Ok(Vec::new());
    }
    let mut body = Vec::new();
    (&mut *r)
        .take(limit as u64 + 1)
        .read_to_end(&mut body)
        .await?;
    if body.len() > limit {
        return Err(HttpError::TooLarge { limit });
    }
    Ok(body)
}

async fn read_chunked<R: AsyncBufRead + Unpin>(
    r: &mut R,
    limit: usize,
) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    loop {
        let mut line = Vec::new();
        (&mut *r).take(1024).read_until(b'\n', &mut line).await?;
        if line.last() != Some(&b'\n') {
            return Err(HttpError::Truncated {
                expected: None,
                got: body.len(),
            });
        }
        let text = String::from_utf8_lossy(&line);
        let size_text = text.trim().split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| {
            HttpError::Malformed(format!("invalid chunk size {:?}", excerpt(size_text)))
        })?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                let mut t = Vec::new();
                let n = (&mut *r).take(1024).read_until(b'\n', &mut t).await?;
                if n == 0 || t == b"\r\n" || t == b"\n" {
                    return Ok(body);
                }
            }
        }
        if body.len().saturating_add(size) > limit {
            return Err(HttpError::TooLarge { limit });
        }
        let got = (&mut *r).take(size as u64).read_to_end(&mut body).await?;
        if got < size {
            return Err(HttpError::Truncated {
                expected: None,
                got: body.len(),
            });
        }
        let mut crlf = Vec::new();
        (&mut *r).take(2).read_until(b'\n', &mut crlf).await?;
        if crlf != b"\r\n" && crlf != b"\n" {
            return Err(HttpError::Malformed("missing CRLF after chunk".into()));
        }
    }
}

/// Standard base64 (with padding), for the `Authorization: Basic` header.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[tokio::test]
    async fn reads_chunked_and_content_length_bodies() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let mut r = &raw[..];
        let head = read_head(&mut r).await.unwrap();
        assert_eq!(head.status().unwrap().0, 200);
        assert_eq!(read_body(&mut r, &head, 100, true).await.unwrap(), b"abcde");

        let raw = b"HTTP/1.0 404 Not Found\nContent-Length: 2\n\nxyz";
        let mut r = &raw[..];
        let head = read_head(&mut r).await.unwrap();
        assert_eq!(head.status().unwrap(), (404, "Not Found".to_string()));
        assert_eq!(read_body(&mut r, &head, 100, true).await.unwrap(), b"xy");
    }

    #[tokio::test]
    async fn bounds_and_truncation_are_errors() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
        let mut r = &raw[..];
        let head = read_head(&mut r).await.unwrap();
        assert!(matches!(
            read_body(&mut r, &head, 100, true).await,
            Err(HttpError::Truncated {
                expected: Some(10),
                got: 3
            })
        ));
        let mut r = &raw[..];
        let head = read_head(&mut r).await.unwrap();
        assert!(matches!(
            read_body(&mut r, &head, 5, true).await,
            Err(HttpError::TooLarge { limit: 5 })
        ));
        let long = vec![b'a'; MAX_HEAD_BYTES + 10];
        let mut r = &long[..];
        assert!(matches!(
            read_head(&mut r).await,
            Err(HttpError::TooLarge { .. })
        ));
        let mut r = &b"garbage\r\n\r\n"[..];
        let head = read_head(&mut r).await.unwrap();
        assert!(matches!(head.status(), Err(HttpError::Malformed(_))));
    }
}
