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

/// A hash rate with its unit, H/s to EH/s (anything not a positive number shows as 0).
pub fn format_rate(hps: f64) -> String {
    const UNITS: [&str; 7] = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s"];
    let mut v = if hps.is_finite() { hps.max(0.0) } else { 0.0 };
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.2} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_from_hashes_to_exahashes() {
        assert_eq!(format_rate(0.0), "0.00 H/s");
        assert_eq!(format_rate(999.0), "999.00 H/s");
        assert_eq!(format_rate(12_345_678.0), "12.35 MH/s");
        assert_eq!(format_rate(7.2e9), "7.20 GH/s");
        assert_eq!(format_rate(2.5e15), "2.50 PH/s");
        assert_eq!(format_rate(f64::NAN), "0.00 H/s");
        assert_eq!(format_rate(-5.0), "0.00 H/s");
    }
}
