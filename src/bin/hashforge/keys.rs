//! Keys at the terminal, for `mine` when stdin is a terminal: `h` prints the status now, `p`
//! pauses hashing and `r` resumes it (as xmrig does). The terminal is put in non-canonical mode
//! without echo, so a key acts at once; Ctrl-C still stops. The mode is restored when the
//! returned guard drops (at the end of the run).

use std::sync::Arc;

use hashforge::mining::{MinerMonitor, Status};

/// What a key press does with the status: print it as `mine` prints its reports.
pub type PrintStatus = Box<dyn Fn(&Status) + Send>;

/// Restores the terminal's mode when dropped.
pub struct TerminalGuard {
    saved: libc::termios,
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // SAFETY: fd 0 is a terminal (checked in `start`), and `saved` came from tcgetattr.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &self.saved);
        }
    }
}

/// Starts reading keys if stdin is a terminal (else does nothing and returns `None`).
pub fn start(monitor: Arc<MinerMonitor>, print: PrintStatus) -> Option<TerminalGuard> {
    // SAFETY: isatty, tcgetattr and tcsetattr only read and write the termios given.
    let saved = unsafe {
        if libc::isatty(0) != 1 {
            return None;
        }
        let mut saved: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(0, &mut saved) != 0 {
            return None;
        }
        let mut raw = saved;
        raw.c_lflag &= !(libc::ICANON | libc::ECHO);
        raw.c_cc[libc::VMIN] = 1;
        raw.c_cc[libc::VTIME] = 0;
        if libc::tcsetattr(0, libc::TCSANOW, &raw) != 0 {
            return None;
        }
        saved
    };
    let spawned = std::thread::Builder::new()
        .name("keys".into())
        .spawn(move || read_keys(&monitor, &print));
    if spawned.is_err() {
        // No reader: give the terminal back as it was.
        drop(TerminalGuard { saved });
        return None;
    }
    eprintln!("keys: h status, p pause, r resume");
    Some(TerminalGuard { saved })
}

/// Acts on each key until stdin closes.
fn read_keys(monitor: &MinerMonitor, print: &PrintStatus) {
    let mut byte = [0u8; 1];
    loop {
        // SAFETY: reads at most one byte into `byte`.
        let n = unsafe { libc::read(0, byte.as_mut_ptr().cast(), 1) };
        if n <= 0 {
            if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        match byte[0].to_ascii_lowercase() {
            b'h' => print(&monitor.snapshot().state.status),
            b'p' => monitor.pause(),
            b'r' => monitor.resume(),
            _ => {}
        }
    }
}
