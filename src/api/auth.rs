//! Who may call what: the start-up check of the address and token, and the per-request check
//! of the `Authorization: Bearer` header.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{ApiConfig, ApiError, MAX_TOKEN_BYTES};

/// The access rules of one running API.
#[derive(Clone, Debug)]
pub struct Access {
    token: Option<Arc<str>>,
    /// Reads need the token too (a non-loopback address).
    reads_need_token: bool,
}

impl Access {
    /// Checks `config` before binding: a token, if any, is 1 to [`MAX_TOKEN_BYTES`] visible
    /// ASCII characters; a non-loopback address needs one.
    pub fn new(config: &ApiConfig) -> Result<Self, ApiError> {
        if let Some(t) = &config.token {
            let visible = t.bytes().all(|b| b.is_ascii_graphic());
            if t.is_empty() || t.len() > MAX_TOKEN_BYTES || !visible {
                return Err(ApiError::BadToken);
            }
        }
        let loopback = config.listen.ip().is_loopback();
        if !loopback && config.token.is_none() {
            return Err(ApiError::TokenRequired(config.listen));
        }
        Ok(Access {
            token: config.token.as_deref().map(Arc::from),
            reads_need_token: !loopback,
        })
    }

    /// Whether a request with `method` and this `Authorization` header may go on.
    pub fn allows(&self, method: &Method, authorization: Option<&[u8]>) -> Result<(), Denied> {
        let read = method == Method::GET || method == Method::HEAD;
        if read && !self.reads_need_token {
            return Ok(());
        }
        let Some(token) = &self.token else {
            return Err(Denied::NoToken);
        };
        let given = authorization
            .and_then(|h| h.strip_prefix(b"Bearer "))
            .ok_or(Denied::Missing)?;
        if constant_time_eq(given, token.as_bytes()) {
            Ok(())
        } else {
            Err(Denied::Wrong)
        }
    }
}

/// Why a request was refused (401).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// A control endpoint, and the API has no token: control is off.
    NoToken,
    /// No `Authorization: Bearer` header.
    Missing,
    /// The token does not match.
    Wrong,
}

impl Denied {
    fn message(self) -> &'static str {
        match self {
            Denied::NoToken => "control endpoints are off: start with --api-token to use them",
            Denied::Missing => "this endpoint needs Authorization: Bearer <token>",
            Denied::Wrong => "wrong token",
        }
    }
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "error": self.message() }));
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            body,
        )
            .into_response()
    }
}

/// The middleware: every request passes [`Access::allows`] or gets 401.
pub async fn check(State(access): State<Access>, request: Request, next: Next) -> Response {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    match access.allows(request.method(), authorization) {
        Ok(()) => next.run(request).await,
        Err(denied) => denied.into_response(),
    }
}

/// Compares without an early exit on the first differing byte (the length is not secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(listen: &str, token: Option<&str>) -> ApiConfig {
        ApiConfig {
            listen: listen.parse().unwrap(),
            token: token.map(String::from),
        }
    }

    #[test]
    fn bind_rules() {
        assert!(Access::new(&config("127.0.0.1:0", None)).is_ok());
        assert!(Access::new(&config("[::1]:0", None)).is_ok());
        assert!(matches!(
            Access::new(&config("0.0.0.0:8080", None)),
            Err(ApiError::TokenRequired(_))
        ));
        assert!(Access::new(&config("0.0.0.0:8080", Some("s3cret"))).is_ok());
        for bad in ["", "two words", "tab\t", &"x".repeat(MAX_TOKEN_BYTES + 1)] {
            assert!(matches!(
                Access::new(&config("127.0.0.1:0", Some(bad))),
                Err(ApiError::BadToken)
            ));
        }
    }

    #[test]
    fn request_rules() {
        let open = Access::new(&config("127.0.0.1:0", None)).unwrap();
        assert_eq!(open.allows(&Method::GET, None), Ok(()));
        assert_eq!(open.allows(&Method::POST, None), Err(Denied::NoToken));
        let local = Access::new(&config("127.0.0.1:0", Some("tok"))).unwrap();
        assert_eq!(local.allows(&Method::GET, None), Ok(()));
        assert_eq!(local.allows(&Method::POST, None), Err(Denied::Missing));
        assert_eq!(local.allows(&Method::POST, Some(b"Bearer tok")), Ok(()));
        assert_eq!(
            local.allows(&Method::POST, Some(b"Bearer tok2")),
            Err(Denied::Wrong)
        );
        assert_eq!(
            local.allows(&Method::POST, Some(b"tok")),
            Err(Denied::Missing)
        );
        let remote = Access::new(&config("0.0.0.0:0", Some("tok"))).unwrap();
        assert_eq!(remote.allows(&Method::GET, None), Err(Denied::Missing));
        assert_eq!(remote.allows(&Method::GET, Some(b"Bearer tok")), Ok(()));
    }
}
