//! The library's error type.

/// Errors from parsing input and choosing backends. Each message is one line that names the problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Hex(#[from] hashforge_bitcoin::HexError),
    #[error(transparent)]
    Pow(#[from] hashforge_bitcoin::PowError),
    #[error(
        "unknown kernel '{0}' (expected auto, scalar, avx2, avx512vl, avx512vl-x2, avx512, avx512-x2, sha-ni-x2 or sha-ni-x4)"
    )]
    UnknownKernel(String),
    #[error("kernel {kernel} is not supported by this CPU (it lacks {missing})")]
    KernelUnsupported {
        kernel: &'static str,
        missing: String,
    },
    #[error("threads must be at least 1")]
    Threads,
    #[cfg(feature = "gpu")]
    #[error(transparent)]
    Gpu(#[from] crate::gpu::GpuError),
    #[error("this hashforge was built without GPU support (the `gpu` feature): use --backend cpu, or rebuild with the default features")]
    NoGpuSupport,
    #[error("bad nonce range: {0}")]
    Range(String),
}
