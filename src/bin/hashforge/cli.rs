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
    /// List the GPU adapters (index, name, backend, device type) that --gpu can choose
    Devices,
    /// Mine on a Stratum pool, solo on a node (--node), or on the embedded pool
    Mine(MineArgs),
    /// Solo pool: a Stratum server for a fleet of miners, with work from a Bitcoin Core node
    Serve(ServeArgs),
}

/// Which hashing backend(s) to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// CPU worker threads
    Cpu,
    /// The WGSL compute shader on one GPU adapter
    Gpu,
    /// CPU workers and the GPU at once, from one scheduler (CPU threads default to cores - 1)
    All,
}

/// Options for the GPU backend.
#[derive(Args, Debug, Clone, Default)]
pub struct GpuArgs {
    /// GPU adapter by index or (part of its) name, as `hashforge devices` lists them
    /// (default: the first discrete GPU, else integrated, else any, e.g. lavapipe)
    #[arg(long)]
    pub gpu: Option<String>,
    /// Nonces per GPU dispatch (default: tuned at start so a dispatch takes about 20 ms)
    #[arg(long)]
    pub gpu_batch: Option<u32>,
}

/// The backend options every hashing command takes (`scan`, `bench`, `mine`).
#[derive(Args, Debug, Clone)]
pub struct BackendArgs {
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: BackendChoice,
    #[command(flatten)]
    pub cpu: CpuArgs,
    #[command(flatten)]
    pub gpu: GpuArgs,
}

impl From<BackendChoice> for hashforge::setup::BackendKind {
    fn from(c: BackendChoice) -> Self {
        match c {
            BackendChoice::Cpu => hashforge::setup::BackendKind::Cpu,
            BackendChoice::Gpu => hashforge::setup::BackendKind::Gpu,
            BackendChoice::All => hashforge::setup::BackendKind::All,
        }
    }
}

/// Options shared by every command that hashes on the CPU.
#[derive(Args, Debug, Clone)]
pub struct CpuArgs {
    /// CPU kernel: auto (time each kernel this CPU supports for 0.3 s and take the fastest),
    /// scalar, avx2, avx512vl, avx512vl-x2, avx512, avx512-x2, sha-ni-x2 or sha-ni-x4; `bench`
    /// also takes all (every kernel this CPU supports; with `--backend all`, the fastest)
    #[arg(long, default_value = "auto")]
    pub kernel: String,
    /// CPU worker threads (default: all cores; cores - 1 with `--backend all`)
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
    #[command(flatten)]
    pub backends: BackendArgs,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    pub backends: BackendArgs,
    /// Seconds per measurement
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Also measure the reference (`openssl speed -evp sha256`, one core, before and after the
    /// kernels) and print each rate per thread as a ratio to it
    #[arg(long)]
    pub reference: bool,
    /// Measure every kernel (or the one `--kernel` names) at every thread count from 1 to
    /// `--threads` (default: all cores), as JSON lines
    #[arg(long)]
    pub sweep: bool,
    /// Also draw the rates against the thread count as an SVG chart in FILE
    #[arg(long, value_name = "FILE")]
    pub plot: Option<std::path::PathBuf>,
    /// Print one JSON line per measurement
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct MineArgs {
    /// Pool URL (stratum+tcp://, stratum+ssl://, stratum+tls://); repeat for failover pools in
    /// priority order. Without one (and without --node), hashforge mines against its embedded
    /// pool on 127.0.0.1.
    #[arg(short = 'o', long = "url", conflicts_with = "node")]
    pub urls: Vec<String>,
    /// Worker name; one for every -o, or one for all
    #[arg(short = 'u', long = "user")]
    pub users: Vec<String>,
    /// Worker password; one for every -o, or one for all
    #[arg(short = 'p', long = "pass")]
    pub passwords: Vec<String>,
    #[command(flatten)]
    pub node: NodeArgs,
    #[command(flatten)]
    pub backends: BackendArgs,
    /// Accept self-signed TLS certificates from the pool
    #[arg(long)]
    pub tls_insecure: bool,
    /// Ask the pool for this difficulty (mining.suggest_difficulty, sent after authorize)
    #[arg(long)]
    pub suggest_difficulty: Option<f64>,
    /// Send mining.extranonce.subscribe (for pools that change extranonce1 mid-session)
    #[arg(long)]
    pub extranonce_subscribe: bool,
    /// Do not ask for version rolling (mining.configure)
    #[arg(long)]
    pub no_version_rolling: bool,
    /// Seconds without an answer to a submit before it counts as timed out
    #[arg(long, default_value_t = 30)]
    pub submit_timeout: u64,
    /// Failed connection attempts in a row before failing over to the next pool
    #[arg(long, default_value_t = 3)]
    pub failover_after: u32,
    /// Seconds between status lines
    #[arg(long, default_value_t = 10.0)]
    pub status_interval: f64,
    /// Print status as JSON lines
    #[arg(long)]
    pub json_status: bool,
    /// Stop after this many seconds (default: run until Ctrl-C)
    #[arg(long)]
    pub duration: Option<f64>,
    #[command(flatten)]
    pub log: LogArgs,
}

/// Where a node is and how to pay: shared by `mine --node` and `serve`.
#[derive(Args, Debug, Clone)]
pub struct NodeArgs {
    /// Bitcoin Core RPC URL, e.g. http://127.0.0.1:8332 (regtest: http://127.0.0.1:18443)
    #[arg(long, requires = "address")]
    pub node: Option<String>,
    /// RPC cookie file (e.g. ~/.bitcoin/.cookie, ~/.bitcoin/regtest/.cookie)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["rpc_user", "rpc_pass"])]
    pub rpc_cookie: Option<std::path::PathBuf>,
    /// RPC user (with --rpc-pass)
    #[arg(long, requires = "rpc_pass")]
    pub rpc_user: Option<String>,
    /// RPC password (with --rpc-user)
    #[arg(long, requires = "rpc_user")]
    pub rpc_pass: Option<String>,
    /// Address every block pays (must be of the node's network)
    #[arg(long, requires = "node")]
    pub address: Option<String>,
    /// Text put in the coinbase of every block
    #[arg(long, default_value = "/hashforge/")]
    pub coinbase_tag: String,
}

/// Logging options (tracing).
#[derive(Args, Debug, Clone)]
pub struct LogArgs {
    /// Log level or tracing filter: error, warn, info, debug, trace (RUST_LOG overrides)
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Write logs to this file instead of stderr
    #[arg(long)]
    pub log_file: Option<std::path::PathBuf>,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub node: NodeArgs,
    /// Where miners connect (host:port; port 0 picks a free port)
    #[arg(long, default_value = "127.0.0.1:3333")]
    pub listen: std::net::SocketAddr,
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
    /// Seconds a new connection has to subscribe and authorize before it is closed
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub handshake_timeout: f64,
    /// Most simultaneous connections from one IP address
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_connections_per_ip: usize,
    /// Serve Stratum over TLS (miners use stratum+ssl://) with this PEM certificate chain
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub log: LogArgs,
}
