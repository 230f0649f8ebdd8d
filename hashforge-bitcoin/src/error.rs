//! The errors of decoding Bitcoin basics. Each message is one line that names the problem.

/// Hex that is not the bytes it should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad {what} hex: {reason}")]
pub struct HexError {
    /// What was being decoded, e.g. `header`, `target`.
    pub what: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

/// Proof-of-work errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PowError {
    /// A compact encoding out of range, or a difficulty that is not a positive number.
    #[error("bad target: {0}")]
    Target(String),
}
