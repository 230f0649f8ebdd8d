//! `hashforge devices`: the GPU adapters `--gpu` can choose from.

use anyhow::Result;

#[cfg(not(feature = "gpu"))]
pub fn run() -> Result<()> {
    Err(hashforge::Error::NoGpuSupport.into())
}

#[cfg(feature = "gpu")]
pub fn run() -> Result<()> {
    use hashforge::gpu::{device, GpuError};

    let adapters = device::list();
    if adapters.is_empty() {
        return Err(GpuError::NoAdapters.into());
    }
    let preferred = device::preferred(&adapters);
    println!(
        "{:<5} {:<40} {:<8} {:<14} driver",
        "index", "name", "backend", "type"
    );
    for a in &adapters {
        let mark = if Some(a.index) == preferred {
            "  (default)"
        } else {
            ""
        };
        println!(
            "{:<5} {:<40} {:<8} {:<14} {}{mark}",
            a.index,
            a.name,
            a.backend.to_string(),
            format!("{:?}", a.device_type),
            a.driver
        );
    }
    Ok(())
}
