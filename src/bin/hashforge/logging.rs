//! Sets up `tracing` for the long-running commands: stderr or a file, level from `RUST_LOG` or
//! `--log-level`.

use std::fs::OpenOptions;
use std::sync::Mutex;

use anyhow::{Context, Result};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::EnvFilter;

use super::cli::{LogArgs, LogFormat};

pub fn init(args: &LogArgs) -> Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(f) if !f.is_empty() => EnvFilter::try_new(f).context("bad RUST_LOG")?,
        _ => EnvFilter::try_new(&args.log_level)
            .with_context(|| format!("bad --log-level '{}'", args.log_level))?,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    // NO_COLOR (https://no-color.org): set and not empty means no colours.
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (writer, ansi) = match &args.log_file {
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening log file {}", path.display()))?;
            (BoxMakeWriter::new(Mutex::new(file)), false)
        }
        None => {
            use std::io::IsTerminal;
            let ansi = std::io::stderr().is_terminal() && !no_color;
            (BoxMakeWriter::new(std::io::stderr), ansi)
        }
    };
    let result = match args.log_format {
        LogFormat::Text => builder.with_ansi(ansi).with_writer(writer).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_writer(writer)
            .try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("setting up logging: {e}"))
}
