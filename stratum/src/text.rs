//! Untrusted text (from a pool or a worker) made safe to print: [`Escaped`].

use std::fmt::{self, Write as _};

/// Displays untrusted text with every control character escaped, so that a pool's message, a
/// reject reason, a job id or a worker's name cannot move the cursor, clear the screen, colour
/// the terminal, or start a new line that forges a log or status line.
///
/// C0 controls (U+0000–U+001F, newline and tab included), DEL (U+007F) and C1 controls
/// (U+0080–U+009F) are written as `\x1b`-style escapes; everything else, backslashes included,
/// is written as is. Use it at every print or log site of text from a pool or a worker, as a
/// format argument (`{}`) or a `tracing` field (`name = %Escaped(&s)`).
///
/// ```
/// use hashforge_stratum::text::Escaped;
/// assert_eq!(Escaped("ok\x1b[2J\nblocks: 9").to_string(), "ok\\x1b[2J\\x0ablocks: 9");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(char::is_control) {
            f.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or_default();
            write!(f, "\\x{:02x}", u32::from(c))?;
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// `s` with its control characters escaped (see [`Escaped`]), cut to at most `max` characters
/// of the original (then ending in `…`): for untrusted text that is kept, not just printed.
pub fn escaped_prefix(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    for c in chars.by_ref().take(max) {
        if c.is_control() {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_the_rest_kept() {
        assert_eq!(Escaped("plain text é ✓").to_string(), "plain text é ✓");
        assert_eq!(
            Escaped("a\nb\r\tc\x00\x7f\u{85}\u{9b}31m").to_string(),
            "a\\x0ab\\x0d\\x09c\\x00\\x7f\\x85\\x9b31m"
        );
        assert_eq!(Escaped("\x1b[2J").to_string(), "\\x1b[2J");
        assert_eq!(Escaped("").to_string(), "");
    }

    #[test]
    fn prefixes_are_cut_by_characters() {
        assert_eq!(escaped_prefix("abc", 3), "abc");
        assert_eq!(escaped_prefix("abcd", 3), "abc…");
        assert_eq!(escaped_prefix("é\né", 2), "é\\x0a…");
    }
}
