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

/// Invocations per GPU workgroup (`--gpu-workgroup`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Workgroup {
    /// On a real GPU with an automatic batch, the fastest of 64, 128 and 256, measured at start
    /// with the batch; 64 elsewhere (a CPU rasteriser, or a fixed batch).
    #[default]
    Auto,
    /// Exactly this many (64, 128 or 256).
    Fixed(u32),
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
    /// Several by index (`0,2`), one feeder each; a repeated index opens another device (and
    /// feeder) on the same adapter.
    Indexes(Vec<usize>),
    /// Every real GPU (discrete, integrated or virtual), one feeder each, each device listed
    /// once even where several drivers offer it; with none, the preferred adapter (e.g. lavapipe).
    All,
    /// The first adapter whose name contains this text (case-insensitive).
    Name(String),
}

impl FromStr for AdapterChoice {
    type Err = std::convert::Infallible;
    /// `all`, a number (an index), numbers joined by commas (indexes); anything else is part
    /// of a name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("all") {
            return Ok(AdapterChoice::All);
        }
        if let Ok(i) = s.parse::<usize>() {
            return Ok(AdapterChoice::Index(i));
        }
        let indexes: Result<Vec<usize>, _> = s.split(',').map(|i| i.trim().parse()).collect();
        Ok(match indexes {
            Ok(indexes) if s.contains(',') => AdapterChoice::Indexes(indexes),
            _ => AdapterChoice::Name(s.to_string()),
        })
    }
}

impl fmt::Display for AdapterChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdapterChoice::Preferred => f.write_str("(preferred)"),
            AdapterChoice::Index(i) => write!(f, "{i}"),
            AdapterChoice::Indexes(v) => {
                let v: Vec<String> = v.iter().map(usize::to_string).collect();
                f.write_str(&v.join(","))
            }
            AdapterChoice::All => f.write_str("all"),
            AdapterChoice::Name(n) => f.write_str(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AdapterChoice::{self, *};

    #[test]
    fn adapter_choices_parse_and_print() {
        let parse = |s: &str| s.parse::<AdapterChoice>().unwrap();
        assert_eq!(parse("all"), All);
        assert_eq!(parse(" ALL "), All);
        assert_eq!(parse("1"), Index(1));
        assert_eq!(parse("0, 2"), Indexes(vec![0, 2]));
        assert_eq!(parse("llvm"), Name("llvm".into()));
        assert_eq!(parse("0,x"), Name("0,x".into()));
        for text in ["all", "1", "0,2", "llvm"] {
            assert_eq!(parse(text).to_string(), text);
        }
    }
}
