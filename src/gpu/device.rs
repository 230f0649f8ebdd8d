//! Adapter discovery and device setup, apart from the kernel (as in wgpu's examples).

use std::fmt;

use super::{AdapterChoice, GpuError};

/// One adapter, as `hashforge devices` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterSummary {
    /// Position in enumeration order: what `--gpu <index>` means.
    pub index: usize,
    pub name: String,
    pub backend: wgpu::Backend,
    pub device_type: wgpu::DeviceType,
    /// Driver name and version, when the driver says.
    pub driver: String,
}

impl AdapterSummary {
    fn new(index: usize, info: &wgpu::AdapterInfo) -> Self {
        let driver = [info.driver.as_str(), info.driver_info.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        AdapterSummary {
            index,
            name: info.name.clone(),
            backend: info.backend,
            device_type: info.device_type,
            driver,
        }
    }
}

impl fmt::Display for AdapterSummary {
    /// `0: llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, Cpu)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({}, {:?})",
            self.index, self.name, self.backend, self.device_type
        )
    }
}

/// An open device: what the kernel needs, plus the adapter's description.
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
}

impl fmt::Debug for Gpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gpu")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// A wgpu instance over every native backend; `WGPU_BACKEND` and the other `WGPU_*`
/// variables narrow it as wgpu documents.
fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

fn adapters(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
}

/// Every adapter on this machine, in enumeration order.
pub fn list() -> Vec<AdapterSummary> {
    adapters(&instance())
        .iter()
        .enumerate()
        .map(|(i, a)| AdapterSummary::new(i, &a.get_info()))
        .collect()
}

/// The index [`AdapterChoice::Preferred`] picks from a list: the first adapter of the best kind.
pub fn preferred(adapters: &[AdapterSummary]) -> Option<usize> {
    adapters
        .iter()
        .min_by_key(|a| preference(a.device_type))
        .map(|a| a.index)
}

/// Rank for [`AdapterChoice::Preferred`]: lower is better.
fn preference(device_type: wgpu::DeviceType) -> u8 {
    match device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

impl Gpu {
    /// Opens a device on the chosen adapter.
    pub fn open(choice: &AdapterChoice) -> Result<Gpu, GpuError> {
        let instance = instance();
        let mut all = adapters(&instance);
        if all.is_empty() {
            return Err(GpuError::NoAdapters);
        }
        let infos: Vec<wgpu::AdapterInfo> = all.iter().map(|a| a.get_info()).collect();
        let summaries: Vec<AdapterSummary> = infos
            .iter()
            .enumerate()
            .map(|(i, info)| AdapterSummary::new(i, info))
            .collect();
        let index = match choice {
            AdapterChoice::Preferred => preferred(&summaries),
            AdapterChoice::Index(i) => Some(*i).filter(|&i| i < all.len()),
            AdapterChoice::Name(name) => {
                let name = name.to_lowercase();
                summaries
                    .iter()
                    .position(|a| a.name.to_lowercase().contains(&name))
            }
        };
        let Some(index) = index else {
            let found = summaries
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(GpuError::NoSuchAdapter {
                wanted: choice.to_string(),
                found,
            });
        };
        let adapter = all.swap_remove(index);
        let info = infos[index].clone();
        if !adapter
            .get_downlevel_capabilities()
            .flags
            .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
        {
            return Err(GpuError::NoCompute(info.name));
        }
        let descriptor = wgpu::DeviceDescriptor {
            label: Some("hashforge"),
            required_features: wgpu::Features::empty(),
            // The kernel needs one uniform and one storage buffer and 64-wide workgroups: the
            // downlevel defaults, which every compute-capable adapter meets.
            required_limits: wgpu::Limits::downlevel_defaults(),
            ..Default::default()
        };
        let (device, queue) =
            pollster::block_on(adapter.request_device(&descriptor)).map_err(|source| {
                GpuError::RequestDevice {
                    adapter: info.name.clone(),
                    source,
                }
            })?;
        Ok(Gpu {
            device,
            queue,
            info,
        })
    }

    /// The adapter's name, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub fn name(&self) -> &str {
        &self.info.name
    }
}
