//! JSON lines on stdout (`mine --json-status`): every line is one object with `type` (`status`,
//! `share`, `summary`) and `time` (UTC, RFC 3339), then the fields of what it reports.

use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Prints `value` (an object) as one JSON line of type `kind`, with the time.
pub fn line(kind: &str, value: &impl Serialize) {
    let mut object = serde_json::Map::new();
    object.insert("type".into(), kind.into());
    object.insert("time".into(), now().into());
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(fields)) => object.extend(fields),
        Ok(other) => {
            object.insert("value".into(), other);
        }
        Err(e) => {
            object.insert("error".into(), e.to_string().into());
        }
    }
    text_line(serde_json::Value::Object(object));
}

/// Prints one line of text on stdout (a status report). A closed stdout (`| head`, a reader
/// gone) loses the line but stops nothing: `println!` would panic there, and mining, shares in
/// flight and the final status matter more than the report.
pub fn text_line(text: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// The time now as `2026-12-02T07:35:05.746Z`.
pub fn now() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(since.as_secs(), since.subsec_millis())
}

/// Seconds since 1970 as RFC 3339 UTC with milliseconds (days to a civil date: Howard
/// Hinnant's algorithm).
fn rfc3339(seconds: u64, millis: u32) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_dates() {
        assert_eq!(super::rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(super::rfc3339(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(
            super::rfc3339(1_796_196_905, 746),
            "2026-12-02T07:35:05.746Z"
        );
    }
}
