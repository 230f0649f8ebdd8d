//! SIGHUP (Unix) re-reads the `--config` file of `mine` or `serve`: the command line of this
//! process is parsed again with the file as it is now (the command line still wins), and the
//! options that changed are applied if they can be while running (`mine`: the pools and
//! `--suggest-difficulty`; `serve`: `--start-difficulty` and `--share-interval`, for new
//! connections); any other change is logged as needing a restart and left as it is. A file that
//! cannot be used is one error line, and the settings in use stay. One line says what changed.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::Result;
use tracing::{error, info, warn};

use super::cli::Cli;

/// Applies the options in `changed` (long names, all of them live) from the new command line;
/// returns what it changed, for the log line, or why it could not.
pub type Apply = Box<dyn FnMut(&Cli, &[String]) -> Result<Vec<String>, String> + Send>;

/// Starts listening for SIGHUP when the command was given `--config` (on Unix): the options
/// named in `live` (long names) are applied by `apply`. Without `--config` nothing is done
/// (and SIGHUP keeps its default: it ends the process).
pub fn spawn(config: Option<PathBuf>, live: &'static [&'static str], apply: Apply) -> Result<()> {
    let Some(path) = config else {
        return Ok(());
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = signal(SignalKind::hangup())
            .map_err(|e| anyhow::anyhow!("cannot listen for SIGHUP: {e}"))?;
        // What is in use: the options as parsed at the start.
        let mut current = match super::reread() {
            Ok((_, values)) => values,
            Err(e) => anyhow::bail!("{e}"),
        };
        let mut apply = apply;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                reload(&path, live, &mut current, &mut apply);
            }
        });
    }
    #[cfg(not(unix))]
    {
        let _ = (path, live, apply);
    }
    Ok(())
}

/// One SIGHUP: read, compare, apply, one log line.
fn reload(
    path: &std::path::Path,
    live: &[&str],
    current: &mut BTreeMap<String, Vec<OsString>>,
    apply: &mut Apply,
) {
    let file = path.display();
    let (cli, values) = match super::reread() {
        Ok(new) => new,
        Err(e) => {
            error!("config {file} not reloaded, the settings in use stay: {e}");
            return;
        }
    };
    let mut keys: Vec<&String> = current.keys().chain(values.keys()).collect();
    keys.sort();
    keys.dedup();
    let changed: Vec<String> = keys
        .into_iter()
        .filter(|k| current.get(*k) != values.get(*k))
        .cloned()
        .collect();
    let (now, restart): (Vec<String>, Vec<String>) = changed
        .into_iter()
        .partition(|k| live.contains(&k.as_str()));
    let applied = if now.is_empty() {
        Vec::new()
    } else {
        match apply(&cli, &now) {
            Ok(applied) => applied,
            Err(e) => {
                error!("config {file} not reloaded, the settings in use stay: {e}");
                return;
            }
        }
    };
    for key in &now {
        match values.get(key) {
            Some(v) => current.insert(key.clone(), v.clone()),
            None => current.remove(key),
        };
    }
    let restart: Vec<String> = restart.iter().map(|k| format!("--{k}")).collect();
    match (applied.is_empty(), restart.is_empty()) {
        (true, true) => info!("config {file} reloaded: nothing changed"),
        (false, true) => info!("config {file} reloaded: {}", applied.join("; ")),
        (true, false) => warn!(
            "config {file} reloaded: nothing applied; needs a restart, left as it is: {}",
            restart.join(", ")
        ),
        (false, false) => warn!(
            "config {file} reloaded: {}; needs a restart, left as it is: {}",
            applied.join("; "),
            restart.join(", ")
        ),
    }
}
