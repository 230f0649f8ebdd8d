//! The dashboard: one HTML page (`dashboard.html`, inline CSS and script, embedded in the
//! binary) served at `GET /` by both commands. Its script asks `GET /api/v1/summary` which
//! command it talks to (`mine`'s summary has a `kernel`, `serve`'s a `listen` address), then
//! polls that command's endpoints every [`POLL_SECONDS`] and `GET /api/v1/history` for the chart.
//! Text from pools and workers is put in with `textContent` only.
//!
//! The page loads nothing from elsewhere, and its Content-Security-Policy says so to the
//! browser: scripts and styles only inline, requests only to this origin, images only `data:`
//! (the empty favicon).

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The page.
pub const PAGE: &str = include_str!("dashboard.html");

/// How often the page asks for fresh figures, in seconds (written in the page's script).
pub const POLL_SECONDS: u64 = 2;

/// What the page may load and run.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// `GET /`.
pub async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        PAGE,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_self_contained_and_readable_on_a_phone() {
        assert!(PAGE.len() < 40 * 1024, "{} bytes", PAGE.len());
        assert!(PAGE
            .contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#));
        assert!(PAGE.contains(r#"<link rel="icon" href="data:,">"#));
        for external in [
            "http://",
            "https://",
            "src=\"//",
            "href=\"//",
            "@import",
            "url(",
        ] {
            assert!(!PAGE.contains(external), "the page loads {external}");
        }
        assert!(!PAGE.contains("innerHTML"), "text goes in with textContent");
        assert!(PAGE.contains(&format!("const POLL_MS = {};", POLL_SECONDS * 1000)));
    }
}
