//! The GPU options (`--gpu`, `--gpu-batch`): plain values, there whether or not the `gpu`
//! feature builds the backend, so the command line and the config file stay the same.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The largest number of nonces in one dispatch.
pub const MAX_BATCH: u32 = 1 << 30;

/// The dispatch time the batch size is tuned to: short enough that with two dispatches queued a
/// new job preempts the GPU within ~50 ms, long enough to hide the per-dispatch overhead.
pub const DEFAULT_DISPATCH_TIME: Duration = Duration::from_millis(20);

/// How many nonces each dispatch gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Batch {
    /// Measured at start: doubled until one dispatch takes about this long.
    Auto(Duration),
    /// Exactly this many (at most [`MAX_BATCH`]).
    Fixed(u32),
}

impl Default for Batch {
    fn default() -> Self {
        Batch::Auto(DEFAULT_DISPATCH_TIME)
    }
}

/// Which adapter to use (`--gpu`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AdapterChoice {
    /// The first discrete GPU, else the first integrated one, else the first adapter of any kind
    /// (virtual GPUs, then CPU adapters such as lavapipe).
    #[default]
    Preferred,
    /// By enumeration index, as listed by `hashforge devices`.
    Index(usize),
    /// The first adapter whose name contains this text (case-insensitive).
    Name(String),
}

impl FromStr for AdapterChoice {
    type Err = std::convert::Infallible;
    /// A number is an index; anything else is part of a name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().parse::<usize>() {
            Ok(i) => AdapterChoice::Index(i),
            Err(_) => AdapterChoice::Name(s.trim().to_string()),
        })
    }
}

impl fmt::Display for AdapterChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdapterChoice::Preferred => f.write_str("(preferred)"),
            AdapterChoice::Index(i) => write!(f, "{i}"),
            AdapterChoice::Name(n) => f.write_str(n),
        }
    }
}
