//! The GPU backend: a WGSL SHA-256d compute shader run through wgpu.
//!
//! - [`device`]: adapter discovery and device setup (`hashforge devices`, `--gpu`).
//! - [`kernel`]: the compute pipeline, its buffers, and one dispatch (`shaders/sha256d.wgsl`).
//! - [`feeder`]: the [`Backend`](crate::backend::Backend) that takes nonce ranges from the
//!   [`Scheduler`](crate::scheduler::Scheduler), keeps two dispatches in flight and verifies
//!   every candidate on the CPU (the one thing it needs `cpu/` for).
//!
//! - [`options`]: `--gpu`, `--gpu-batch` and `--gpu-workgroup` as values.
//!
//! Any Vulkan, Metal or DX12 adapter works, including Mesa's lavapipe (Vulkan on the CPU),
//! which is what the tests use where there is no GPU.
//!
//! All but [`options`] needs the `gpu` feature (on by default); a build without it leaves out
//! wgpu, and asking it for a GPU is a one-line error ([`Error::NoGpuSupport`](crate::Error)).

#[cfg(feature = "gpu")]
pub mod device;
#[cfg(feature = "gpu")]
mod error;
#[cfg(feature = "gpu")]
pub mod feeder;
#[cfg(feature = "gpu")]
pub mod kernel;
mod options;

#[cfg(feature = "gpu")]
pub use device::{AdapterSummary, Gpu};
#[cfg(feature = "gpu")]
pub use error::GpuError;
#[cfg(feature = "gpu")]
pub use feeder::GpuBackend;
#[cfg(feature = "gpu")]
pub use kernel::{Candidates, ParamsIn, Sha256dKernel};
pub use options::{AdapterChoice, Batch, Workgroup, DEFAULT_DISPATCH_TIME, MAX_BATCH};

/// An error and its sources on one line: `waiting for the GPU: device lost`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
