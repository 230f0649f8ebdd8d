//! `mine --cpu-priority` and `--cpu-affinity`: the nice level and the CPU set of the process,
//! set on the main thread before any other thread starts, so that every thread (calibration,
//! CPU workers, GPU feeder, the async runtime) inherits them (Linux keeps both per thread and
//! copies them to new threads).

use anyhow::Result;

/// Sets the nice level of this thread, and so of every thread started after (0 to 19). Raising
/// it needs no privilege; a lower value than the current one may be refused: then a warning.
pub fn set_nice(level: i32) -> Result<()> {
    #[cfg(unix)]
    {
        // SAFETY: setpriority takes plain integers; 0 is this thread on Linux (the process
        // elsewhere).
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, level) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            eprintln!(
                "warning: cannot set --cpu-priority {level}: {e}; running at the current priority"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = level;
    Ok(())
}

/// Restricts this thread, and every thread started after, to `cpus`.
pub fn set_affinity(cpus: &[usize]) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: cpu_set_t is plain data, zeroed is the empty set; CPU_SET is given numbers
        // below CPU_SETSIZE (the parser's bound, MAX_CPUS = 1024).
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        for &cpu in cpus {
            unsafe { libc::CPU_SET(cpu, &mut set) };
        }
        // SAFETY: a valid set of its own size; 0 is this thread.
        let rc =
            unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            anyhow::bail!(
                "cannot use --cpu-affinity {cpus:?}: {e} (none of these CPUs is available?)"
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    eprintln!(
        "warning: --cpu-affinity is only supported on Linux; ignored ({} CPUs)",
        cpus.len()
    );
    Ok(())
}
