//! The library's error type.

/// Errors from parsing input and choosing backends. Each message is one line that names the problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bad {what} hex: {reason}")]
    Hex { what: &'static str, reason: String },
    #[error(transparent)]
    Pow(#[from] hashforge_stratum::PowError),
    #[error("unknown kernel '{0}' (expected scalar, avx2 or sha-ni)")]
    UnknownKernel(String),
    #[error("kernel {0} is not supported by this CPU")]
    KernelUnsupported(&'static str),
    #[error("bad nonce range: {0}")]
    Range(String),
}
