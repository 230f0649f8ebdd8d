//! Pool URLs: `stratum+tcp://HOST:PORT`, `stratum+ssl://…`, `stratum+tls://…`, and Stratum V2's
//! `stratum2+tcp://HOST:PORT[/AUTHORITY_PUBKEY]`.

use std::fmt;

use crate::error::ClientError;
use crate::v2::AuthorityPublicKey;

/// A parsed pool address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolUrl {
    /// Host name or IP address (without brackets for IPv6).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Whether to use TLS (`stratum+ssl` / `stratum+tls`).
    pub tls: bool,
    /// Stratum V2 (`stratum2+tcp`), with the pool's authority key when the URL names it.
    pub sv2: Option<Option<AuthorityPublicKey>>,
}

impl PoolUrl {
    /// Parses `stratum+tcp://host:port`, `stratum+ssl://host:port`, `stratum+tls://host:port`
    /// (also `tcp://`, `ssl://`, `tls://` and a bare `host:port`, which means plain TCP).
    pub fn parse(s: &str) -> Result<Self, ClientError> {
        let bad = |reason: &str| ClientError::BadUrl {
            url: s.to_string(),
            reason: reason.to_string(),
        };
        let (tls, v2, rest) = match s.split_once("://") {
            None => (false, false, s),
            Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
                "stratum+tcp" | "stratum" | "tcp" => (false, false, rest),
                "stratum+ssl" | "stratum+tls" | "ssl" | "tls" => (true, false, rest),
                "stratum2+tcp" | "stratum2" => (false, true, rest),
                _ => return Err(bad("unknown scheme")),
            },
        };
        let rest = rest.trim_end_matches('/');
        let (rest, sv2) = match (v2, rest.split_once('/')) {
            (false, None) => (rest, None),
            (false, Some(_)) => return Err(bad("a path after the port")),
            (true, None) => (rest, Some(None)),
            (true, Some((addr, key))) => {
                let key = key
                    .parse::<AuthorityPublicKey>()
                    .map_err(|e| bad(&e.to_string()))?;
                (addr, Some(Some(key)))
            }
        };
        let (host, port) = if let Some(r) = rest.strip_prefix('[') {
            let (h, p) = r.split_once("]:").ok_or_else(|| bad("missing port"))?;
            (h, p)
        } else {
            rest.rsplit_once(':').ok_or_else(|| bad("missing port"))?
        };
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        let port: u16 = port.parse().map_err(|_| bad("bad port"))?;
        if port == 0 {
            return Err(bad("port 0"));
        }
        Ok(Self {
            host: host.to_string(),
            port,
            tls,
            sv2,
        })
    }

    /// `host:port` suitable for `TcpStream::connect`.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for PoolUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match (self.tls, self.sv2.is_some()) {
            (_, true) => "stratum2+tcp",
            (true, false) => "stratum+ssl",
            (false, false) => "stratum+tcp",
        };
        write!(f, "{scheme}://{}", crate::text::Escaped(&self.addr()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let u = PoolUrl::parse("stratum+tcp://pool.example:3333").ok();
        assert_eq!(
            u.map(|u| (u.host, u.port, u.tls)),
            Some(("pool.example".into(), 3333, false))
        );
        let u = PoolUrl::parse("stratum+ssl://[::1]:443").ok();
        assert_eq!(
            u.map(|u| (u.addr(), u.tls)),
            Some(("[::1]:443".into(), true))
        );
        assert!(PoolUrl::parse("stratum+tls://h:1")
            .map(|u| u.tls)
            .unwrap_or(false));
        assert!(PoolUrl::parse("http://h:1").is_err());
        assert!(PoolUrl::parse("stratum+tcp://h").is_err());
        assert!(PoolUrl::parse("stratum+tcp://h:0").is_err());
        assert!(PoolUrl::parse("stratum+tcp://h:1/path").is_err());
        let key = "9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH72";
        let u = PoolUrl::parse(&format!("stratum2+tcp://127.0.0.1:34254/{key}")).unwrap();
        assert_eq!(u.addr(), "127.0.0.1:34254");
        assert_eq!(u.sv2.flatten().map(|k| k.to_string()).as_deref(), Some(key));
        assert_eq!(u.to_string(), "stratum2+tcp://127.0.0.1:34254");
        let u = PoolUrl::parse("stratum2+tcp://h:1").unwrap();
        assert_eq!(u.sv2, Some(None));
        assert!(PoolUrl::parse("stratum2+tcp://h:1/notakey").is_err());
    }
}
