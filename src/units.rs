//! Human-readable rates and difficulties.

/// A difficulty with a sensible number of digits.
pub fn format_difficulty(d: f64) -> String {
    if d >= 1e6 {
        format!("{d:.0}")
    } else if d >= 1.0 {
        format!("{d:.3}")
    } else if d >= 0.001 {
        format!("{d:.4}")
    } else {
        format!("{d:.3e}")
    }
}

/// A rate with its unit: H/s, kH/s, MH/s or GH/s.
pub fn format_rate(hps: f64) -> String {
    let (v, unit) = match hps {
        r if r >= 1e9 => (r / 1e9, "GH/s"),
        r if r >= 1e6 => (r / 1e6, "MH/s"),
        r if r >= 1e3 => (r / 1e3, "kH/s"),
        r => (r, "H/s"),
    };
    format!("{v:.2} {unit}")
}
