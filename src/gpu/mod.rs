//! The GPU backend: a WGSL SHA-256d compute shader run through wgpu.
//!
//! - [`device`]: adapter discovery and device setup (`hashforge devices`, `--gpu`).
//! - [`kernel`]: the compute pipeline, its buffers, and one dispatch (`shaders/sha256d.wgsl`).
//! - [`feeder`]: the [`Backend`](crate::backend::Backend) that takes nonce ranges from the
//!   [`Scheduler`](crate::scheduler::Scheduler), keeps two dispatches in flight and verifies
//!   every candidate on the CPU (the one thing it needs `cpu/` for).
//!
//! Any Vulkan, Metal or DX12 adapter works, including Mesa's lavapipe (Vulkan on the CPU),
//! which is what the tests use where there is no GPU.

pub mod device;
mod error;
pub mod feeder;
pub mod kernel;

pub use device::{AdapterChoice, AdapterSummary, Gpu};
pub use error::GpuError;
pub use feeder::{Batch, GpuBackend, DEFAULT_DISPATCH_TIME};
pub use kernel::{Candidates, Sha256dKernel};

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
