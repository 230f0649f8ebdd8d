//! Adapter discovery and device setup, apart from the kernel (as in wgpu's examples).

use std::fmt;

use super::kernel::{immediates_fit, PARAMS_BYTES};
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
    summaries(&adapters(&instance()))
}

fn summaries(adapters: &[wgpu::Adapter]) -> Vec<AdapterSummary> {
    adapters
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

/// A GPU of its own (discrete, integrated or virtual), not a CPU rasteriser (lavapipe, llvmpipe)
/// or an unknown kind.
pub fn is_real_gpu(device_type: wgpu::DeviceType) -> bool {
    matches!(
        device_type,
        wgpu::DeviceType::DiscreteGpu
            | wgpu::DeviceType::IntegratedGpu
            | wgpu::DeviceType::VirtualGpu
    )
}

/// The real GPUs of a list ([`is_real_gpu`]), each device once: where a native driver (Vulkan,
/// Metal, DX12) offers any, the OpenGL adapters are left out, since they are the same devices
/// again.
pub fn real_gpus(adapters: &[AdapterSummary]) -> Vec<usize> {
    let real: Vec<&AdapterSummary> = adapters
        .iter()
        .filter(|a| is_real_gpu(a.device_type))
        .collect();
    let native = real.iter().any(|a| a.backend != wgpu::Backend::Gl);
    real.iter()
        .filter(|a| !native || a.backend != wgpu::Backend::Gl)
        .map(|a| a.index)
        .collect()
}

/// The adapters `choice` means in a list, as indexes into it, in the order chosen: never empty
/// (a choice that matches nothing is an error listing the adapters there are). Only a list of
/// indexes repeats one: each repeat opens another device on that adapter, another feeder.
pub fn select(choice: &AdapterChoice, adapters: &[AdapterSummary]) -> Result<Vec<usize>, GpuError> {
    if adapters.is_empty() {
        return Err(GpuError::NoAdapters);
    }
    let chosen: Vec<usize> = match choice {
        AdapterChoice::Preferred => preferred(adapters).into_iter().collect(),
        AdapterChoice::Index(i) => vec![*i],
        AdapterChoice::Indexes(v) => v.clone(),
        AdapterChoice::All => match real_gpus(adapters) {
            real if real.is_empty() => preferred(adapters).into_iter().collect(),
            real => real,
        },
        AdapterChoice::Name(name) => {
            let name = name.to_lowercase();
            adapters
                .iter()
                .position(|a| a.name.to_lowercase().contains(&name))
                .into_iter()
                .collect()
        }
    };
    if chosen.is_empty() || chosen.iter().any(|&i| i >= adapters.len()) {
        let found = adapters
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        return Err(GpuError::NoSuchAdapter {
            wanted: choice.to_string(),
            found,
        });
    }
    Ok(chosen)
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
    /// Opens a device on the chosen adapter (the first, where the choice names several; the
    /// others are not opened).
    pub fn open(choice: &AdapterChoice) -> Result<Gpu, GpuError> {
        let all = adapters(&instance());
        let first = select(choice, &summaries(&all))?[0];
        Self::on(all[first].clone())
    }

    /// Opens a device on each adapter chosen ([`select`]), in the order chosen.
    pub fn open_all(choice: &AdapterChoice) -> Result<Vec<Gpu>, GpuError> {
        let all = adapters(&instance());
        select(choice, &summaries(&all))?
            .into_iter()
            .map(|i| Self::on(all[i].clone()))
            .collect()
    }

    /// Opens a device on each adapter of `indexes` ([`list`]'s numbering), from one listing of
    /// the adapters: each one's result on its own, so one that fails leaves the others open.
    pub fn open_each(indexes: &[usize]) -> Vec<Result<Gpu, GpuError>> {
        let all = adapters(&instance());
        indexes
            .iter()
            .map(|&i| match all.get(i) {
                Some(adapter) => Self::on(adapter.clone()),
                None => Err(GpuError::NoSuchAdapter {
                    wanted: i.to_string(),
                    found: format!("{} adapters", all.len()),
                }),
            })
            .collect()
    }

    /// A device on `adapter`, with the limits the kernel needs.
    fn on(adapter: wgpu::Adapter) -> Result<Gpu, GpuError> {
        let info = adapter.get_info();
        if !adapter
            .get_downlevel_capabilities()
            .flags
            .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
        {
            return Err(GpuError::NoCompute(info.name));
        }
        // The kernel needs two uniform buffers, one storage buffer and 64-wide workgroups: the
        // downlevel defaults, which every compute-capable adapter meets. Where the adapter has
        // immediate data with room for the parameters, it takes that too (`ParamsIn`).
        let mut required_features = wgpu::Features::empty();
        let mut required_limits = wgpu::Limits::downlevel_defaults();
        if immediates_fit(adapter.features(), &adapter.limits()) {
            required_features |= wgpu::Features::IMMEDIATES;
            required_limits.max_immediate_size = PARAMS_BYTES;
        }
        let descriptor = wgpu::DeviceDescriptor {
            label: Some("hashforge"),
            required_features,
            required_limits,
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

#[cfg(test)]
mod tests {
    use super::*;
    use wgpu::{Backend, DeviceType};

    fn adapter(
        index: usize,
        name: &str,
        backend: Backend,
        device_type: DeviceType,
    ) -> AdapterSummary {
        AdapterSummary {
            index,
            name: name.to_string(),
            backend,
            device_type,
            driver: String::new(),
        }
    }

    /// A rig: two H200s, each offered by Vulkan and again by OpenGL, and lavapipe.
    fn rig() -> Vec<AdapterSummary> {
        vec![
            adapter(0, "NVIDIA H200", Backend::Vulkan, DeviceType::DiscreteGpu),
            adapter(1, "NVIDIA H200", Backend::Vulkan, DeviceType::DiscreteGpu),
            adapter(2, "llvmpipe", Backend::Vulkan, DeviceType::Cpu),
            adapter(3, "NVIDIA H200/PCIe", Backend::Gl, DeviceType::DiscreteGpu),
            adapter(4, "NVIDIA H200/PCIe", Backend::Gl, DeviceType::DiscreteGpu),
        ]
    }

    #[test]
    fn all_is_every_real_gpu_once() {
        assert_eq!(select(&AdapterChoice::All, &rig()).unwrap(), [0, 1]);
        // OpenGL alone: its GPUs are the devices.
        let gl_only: Vec<AdapterSummary> = rig()
            .into_iter()
            .filter(|a| a.backend == Backend::Gl || a.device_type == DeviceType::Cpu)
            .enumerate()
            .map(|(i, a)| AdapterSummary { index: i, ..a })
            .collect();
        assert_eq!(select(&AdapterChoice::All, &gl_only).unwrap(), [1, 2]);
        // No real GPU: the preferred adapter, a CPU rasteriser.
        let lavapipe = [adapter(0, "llvmpipe", Backend::Vulkan, DeviceType::Cpu)];
        assert_eq!(select(&AdapterChoice::All, &lavapipe).unwrap(), [0]);
    }

    #[test]
    fn single_and_listed_choices() {
        let rig = rig();
        assert_eq!(select(&AdapterChoice::Preferred, &rig).unwrap(), [0]);
        assert_eq!(select(&AdapterChoice::Index(2), &rig).unwrap(), [2]);
        assert_eq!(
            select(&AdapterChoice::Indexes(vec![1, 0, 1]), &rig).unwrap(),
            [1, 0, 1]
        );
        assert_eq!(
            select(&AdapterChoice::Name("pcie".into()), &rig).unwrap(),
            [3]
        );
        for wrong in [
            AdapterChoice::Index(5),
            AdapterChoice::Indexes(vec![0, 9]),
            AdapterChoice::Name("radeon".into()),
        ] {
            let e = select(&wrong, &rig).unwrap_err().to_string();
            assert!(
                e.contains("no GPU adapter matches") && e.contains("4: NVIDIA H200/PCIe"),
                "{e}"
            );
        }
        assert!(matches!(
            select(&AdapterChoice::All, &[]),
            Err(GpuError::NoAdapters)
        ));
    }
}
