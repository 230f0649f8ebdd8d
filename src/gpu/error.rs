//! The GPU backend's error type.

/// Errors from finding an adapter, setting up the device, and running dispatches.
/// Each message is one line that names the problem.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No adapter at all: no Vulkan/Metal/DX12 driver (or none with compute shaders).
    #[error("no GPU adapter found (on Linux install a Vulkan driver, e.g. mesa-vulkan-drivers for lavapipe)")]
    NoAdapters,
    /// `--gpu` named an adapter that does not exist; `found` lists those that do.
    #[error("no GPU adapter matches '{wanted}' (found: {found})")]
    NoSuchAdapter { wanted: String, found: String },
    /// The adapter cannot run compute shaders.
    #[error("GPU adapter '{0}' does not support compute shaders")]
    NoCompute(String),
    /// A workgroup size the kernel does not offer.
    #[error("GPU workgroup size {0} is not one of 64, 128, 256")]
    Workgroup(u32),
    /// The adapter refused to create a device.
    #[error("requesting a device on GPU adapter '{adapter}'")]
    RequestDevice {
        adapter: String,
        #[source]
        source: wgpu::RequestDeviceError,
    },
    /// Waiting for a dispatch failed (device lost, timeout).
    #[error("waiting for the GPU")]
    Poll(#[from] wgpu::PollError),
    /// Mapping a result buffer failed.
    #[error("reading GPU results back")]
    Map(#[from] wgpu::BufferAsyncError),
    /// A bad `--gpu-batch`.
    #[error("bad GPU batch size {0}: it must be between 1 and {max}", max = crate::gpu::MAX_BATCH)]
    Batch(u64),
}
