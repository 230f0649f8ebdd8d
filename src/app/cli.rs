//! Command-line definitions (clap derive). Parsing of values into domain types happens in the
//! commands, so every bad input gets the same one-line error style.

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "hashforge",
    version,
    about = "SHA-256d miner: SIMD CPU kernels, a WGSL GPU backend, Stratum v1 and solo mining"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// sha256d of hex bytes (usually an 80-byte header): the hash in display order and the difficulty it meets
    Hash {
        /// The bytes, as hex
        hex: String,
    },
    /// Every nonce in [start, start+count) whose header hash meets the target
    Scan(ScanArgs),
    /// Measure hash rates on a fixed work unit
    Bench(BenchArgs),
    /// Solo pool: a Stratum server for a fleet of miners, with work from a Bitcoin Core node
    Serve(ServeArgs),
}

/// Which hashing backend(s) to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    Cpu,
}

/// Options shared by every command that hashes on the CPU.
#[derive(Args, Debug, Clone)]
pub struct CpuArgs {
    /// CPU kernel: scalar, avx2 or sha-ni (default: the fastest this CPU supports)
    #[arg(long)]
    pub kernel: Option<String>,
    /// CPU worker threads (default: all cores)
    #[arg(short = 't', long)]
    pub threads: Option<usize>,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// The 80-byte header as 160 hex digits (its nonce field is ignored)
    #[arg(long)]
    pub header: String,
    /// First nonce
    #[arg(long)]
    pub start: u64,
    /// Number of nonces
    #[arg(long)]
    pub count: u64,
    /// Target as 64 hex digits in display order (e.g. 00000000ffff0000…)
    #[arg(
        long,
        conflicts_with = "difficulty",
        required_unless_present = "difficulty"
    )]
    pub target: Option<String>,
    /// Pool difficulty (1 = 0x00000000ffff·2^208; fractions allowed)
    #[arg(long, allow_negative_numbers = true)]
    pub difficulty: Option<f64>,
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: BackendChoice,
    #[command(flatten)]
    pub cpu: CpuArgs,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: BackendChoice,
    /// CPU kernel to measure, or `all` (default: every kernel this CPU supports)
    #[arg(long, default_value = "all")]
    pub kernel: String,
    /// CPU worker threads (default: all cores)
    #[arg(short = 't', long)]
    pub threads: Option<usize>,
    /// Seconds per measurement
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Also measure the reference (`openssl speed -evp sha256`, one core) and print ratios
    #[arg(long)]
    pub reference: bool,
    /// Print one JSON line per measurement
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Bitcoin Core RPC URL, e.g. http://127.0.0.1:8332 (regtest: http://127.0.0.1:18443)
    #[arg(long)]
    pub node: String,
    /// RPC cookie file (e.g. ~/.bitcoin/.cookie, ~/.bitcoin/regtest/.cookie)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["rpc_user", "rpc_pass"], required_unless_present = "rpc_user")]
    pub rpc_cookie: Option<std::path::PathBuf>,
    /// RPC user (with --rpc-pass)
    #[arg(long, requires = "rpc_pass")]
    pub rpc_user: Option<String>,
    /// RPC password (with --rpc-user)
    #[arg(long, requires = "rpc_user")]
    pub rpc_pass: Option<String>,
    /// Address every block pays (must be of the node's network)
    #[arg(long)]
    pub address: String,
    /// Where miners connect (host:port; port 0 picks a free port)
    #[arg(long, default_value = "127.0.0.1:3333")]
    pub listen: std::net::SocketAddr,
    /// Text put in the coinbase of every block
    #[arg(long, default_value = "/hashforge/")]
    pub coinbase_tag: String,
    /// Difficulty of a new connection (fractions allowed; vardiff adjusts it)
    #[arg(long, default_value_t = 1.0)]
    pub start_difficulty: f64,
    /// Seconds between shares that vardiff aims for, per connection
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub share_interval: f64,
    /// Seconds between status blocks on stdout
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub status_interval: f64,
    /// Shortest time in seconds between two updates with new transactions (a new block is sent at once)
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub update_interval: f64,
    /// Password miners must give (default: any)
    #[arg(long)]
    pub password: Option<String>,
    /// Log filter: error, warn, info, debug, trace or a tracing filter (default: $RUST_LOG, else info)
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
}
