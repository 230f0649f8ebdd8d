//! The signals that stop `mine` and `serve` cleanly: Ctrl-C (SIGINT) and, on Unix, SIGTERM
//! (what `kill`, systemd and container runtimes send).

/// The stop signals, listened for from [`Stop::install`] on (a signal that comes before the
/// stop is awaited is not lost).
pub struct Stop {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Stop {
    /// Installs the handlers (inside the Tokio runtime); an error when they cannot be.
    pub fn install() -> std::io::Result<Stop> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Stop {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Stop {})
        }
    }

    /// Waits for Ctrl-C or SIGTERM.
    pub async fn wait(mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
