//! Command-line definitions (clap derive). Every number is parsed and range-checked here, by
//! the typed value parsers at the end of this file, so a bad value is one line naming the flag
//! and the accepted range (clap's `invalid value '…' for '--flag <…>': …`), whatever the
//! command. Parsing of text into domain types (headers, targets, URLs) happens in the commands.

use std::time::Duration;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "hashforge",
    version,
    about = "SHA-256d miner: SIMD CPU kernels, a WGSL GPU backend, Stratum v1 and solo mining",
    arg_required_else_help = true,
    after_help = EXIT_CODES
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
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `hashforge man > hashforge.1`
    Man,
    /// Write a new Stratum V2 authority key pair for `serve --sv2-key` and print its public key
    Keygen {
        /// The key file to write (it must not exist yet; readable by its owner only)
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
    },
    /// Write or check a config file (TOML) for `mine` and `serve`
    #[command(subcommand, arg_required_else_help = true)]
    Config(ConfigCommand),
}

/// The exit codes, listed under `--help`.
pub const EXIT_CODES: &str =
    "Exit status: 0 done; 1 runtime failure; 2 usage error (command line or config file); \
3 never mined (mine never got work: no pool answered, -r/--retries used up, or every pool refused \
authorization; a mine that gave up on its pools after mining exits 1)";

/// `hashforge config …`
#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print a commented example with every key of `mine` and `serve` and its default (or write
    /// it to FILE, which must not exist yet)
    Init {
        /// Write here instead of stdout
        file: Option<std::path::PathBuf>,
    },
    /// Check a config file without running anything: every key, type and value
    Check {
        /// The config file
        file: std::path::PathBuf,
    },
}

/// Which hashing backend(s) to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// The CPU workers, plus the GPU when there is a real one (not a CPU rasteriser such as
    /// lavapipe); the start-up line says which
    Auto,
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
    /// GPU adapters, as `hashforge devices` lists them: an index, indexes (`0,2`; a repeat
    /// opens a second feeder on that GPU), part of a name, or `all` (every real GPU, one feeder
    /// each). Default: with `--backend auto`, every
    /// real GPU; with `gpu` or `all`, the first discrete GPU, else integrated, else any (e.g.
    /// lavapipe)
    #[arg(long)]
    pub gpu: Option<String>,
    /// Nonces per GPU dispatch (default: tuned at start so a dispatch takes about 20 ms)
    #[arg(long, value_parser = integer(1, hashforge::gpu::MAX_BATCH as u64).map(|n| n as u32), allow_negative_numbers = true)]
    pub gpu_batch: Option<u32>,
    /// Invocations per GPU workgroup: 64, 128 or 256 (default: on a real GPU the fastest,
    /// measured at start with the batch; 64 on a CPU rasteriser or with --gpu-batch)
    #[arg(long, value_name = "N", value_parser = clap::builder::PossibleValuesParser::new(["64", "128", "256"]).map(|s| s.parse::<u32>().expect("a listed size")))]
    pub gpu_workgroup: Option<u32>,
}

/// The backend options every hashing command takes (`scan`, `bench`, `mine`).
#[derive(Args, Debug, Clone)]
pub struct BackendArgs {
    /// Hashing backend: auto (the CPU, plus the GPU when there is a real one), cpu, gpu or all
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendChoice,
    #[command(flatten)]
    pub cpu: CpuArgs,
    #[command(flatten)]
    pub gpu: GpuArgs,
}

impl From<BackendChoice> for hashforge::setup::BackendKind {
    fn from(c: BackendChoice) -> Self {
        match c {
            BackendChoice::Auto => hashforge::setup::BackendKind::Auto,
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
    /// CPU worker threads, 1 to 1024 (default: all cores; cores - 1 with `--backend all`)
    #[arg(short = 't', long, value_parser = integer(1, MAX_THREADS as u64).map(|n| n as usize), allow_negative_numbers = true)]
    pub threads: Option<usize>,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// The 80-byte header as 160 hex digits (its nonce field is ignored)
    #[arg(long)]
    pub header: String,
    /// First nonce (0 to 4294967295)
    #[arg(long, value_parser = integer(0, u32::MAX as u64), allow_negative_numbers = true)]
    pub start: u64,
    /// Number of nonces (1 to 2^32; start + count at most 2^32)
    #[arg(long, value_parser = integer(1, 1 << 32), allow_negative_numbers = true)]
    pub count: u64,
    /// Target as 64 hex digits in display order (e.g. 00000000ffff0000…)
    #[arg(
        long,
        conflicts_with = "difficulty",
        required_unless_present = "difficulty"
    )]
    pub target: Option<String>,
    /// Pool difficulty (1 = 0x00000000ffff·2^208; fractions allowed)
    #[arg(long, value_name = "DIFFICULTY", value_parser = difficulty, allow_negative_numbers = true)]
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
    /// Seconds per measurement (more than 0, at most 3600)
    #[arg(long, value_name = "SECONDS", default_value = "3", value_parser = seconds(Min::Above(0.0), 3600.0), allow_negative_numbers = true)]
    pub seconds: Duration,
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
    /// Measure each backend on the plain unit and on a unit rolled over 4 versions (BIP 320,
    /// the second chunk's schedule shared), in 8 turns each of a quarter of --seconds, and print
    /// the rolled rate's ratio to the plain one (the median of the turns' ratios)
    #[arg(long)]
    pub version_rolling: bool,
    /// Print one JSON line per measurement
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct MineArgs {
    /// Read options from this TOML file (`hashforge config init` writes an example); the
    /// command line overrides it
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Pool URL (stratum+tcp://, stratum+ssl://, stratum+tls://, or Stratum V2's
    /// stratum2+tcp://HOST:PORT/AUTHORITY_PUBKEY); repeat for failover pools in priority order,
    /// v1 and V2 mixed. Without one (and without --node), hashforge mines against its embedded
    /// pool on 127.0.0.1.
    #[arg(short = 'o', long = "url", conflicts_with = "node", value_parser = pool_url)]
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
    /// Nice level of the miner, 0 (normal) to 19 (lowest, the default, like cpuminer-opt), so
    /// a desktop stays usable; set before any thread starts, so every thread has it
    #[arg(long, value_name = "NICE", default_value_t = 19, value_parser = integer(0, 19).map(|n| n as i32), allow_negative_numbers = true)]
    pub cpu_priority: i32,
    /// CPUs the miner may run on: a list (`0-3,6`) or a hex mask (`0xf`); default: all
    #[arg(long, value_name = "CPUS", value_parser = cpu_list)]
    pub cpu_affinity: Option<CpuSet>,
    /// Accept self-signed TLS certificates from the pool
    #[arg(long)]
    pub tls_insecure: bool,
    /// The Stratum V2 pool's authority public key (base58, as `hashforge keygen` prints it),
    /// for stratum2+tcp:// URLs that do not end in one
    #[arg(long, value_name = "KEY", value_parser = authority_key)]
    pub sv2_authority_key: Option<hashforge_stratum::v2::AuthorityPublicKey>,
    /// Ask the pool for this difficulty (mining.suggest_difficulty, sent after authorize)
    #[arg(long, value_name = "DIFFICULTY", value_parser = difficulty, allow_negative_numbers = true)]
    pub suggest_difficulty: Option<f64>,
    /// Send mining.extranonce.subscribe (for pools that change extranonce1 mid-session)
    #[arg(long)]
    pub extranonce_subscribe: bool,
    /// Do not ask for version rolling (mining.configure)
    #[arg(long)]
    pub no_version_rolling: bool,
    /// Seconds without an answer to a submit before it counts as timed out (1 to 3600)
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = seconds(Min::AtLeast(1.0), 3600.0), allow_negative_numbers = true)]
    pub submit_timeout: Duration,
    /// Failed connection attempts in a row before failing over to the next pool (1 to 1000)
    #[arg(long, default_value_t = 3, value_parser = integer(1, 1000).map(|n| n as u32), allow_negative_numbers = true)]
    pub failover_after: u32,
    /// Retries per pool before giving up, like cpuminer's -r: -1 retries forever (the default);
    /// N (0 to 1000000) tries each pool N + 1 times in all since the last connection that got
    /// through, then `mine` exits (status 3 if it never mined, else 1)
    #[arg(short = 'r', long, value_name = "N", default_value_t = -1, value_parser = retries, allow_negative_numbers = true)]
    pub retries: i64,
    /// Seconds between connection attempts, like cpuminer's -R (0.1 to 3600; default: a
    /// backoff from 1 s doubling to 60 s, with jitter)
    #[arg(short = 'R', long, value_name = "SECONDS", value_parser = seconds(Min::AtLeast(0.1), 3600.0), allow_negative_numbers = true)]
    pub retry_pause: Option<Duration>,
    /// While mining on a backup pool, seconds between checks whether the first pool is back
    /// (a TCP/TLS connect); when it is, mining returns to it (1 to 86400)
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = seconds(Min::AtLeast(1.0), DAY), allow_negative_numbers = true)]
    pub failback_interval: Duration,
    /// Seconds between status lines (0.1 to 86400)
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = seconds(Min::AtLeast(MIN_STATUS_INTERVAL), DAY), allow_negative_numbers = true)]
    pub status_interval: Duration,
    /// Print status as JSON lines
    #[arg(long)]
    pub json_status: bool,
    #[command(flatten)]
    pub api: ApiArgs,
    /// Stop after this many seconds (more than 0, at most 10^9; default: run until Ctrl-C or
    /// SIGTERM)
    #[arg(long, value_name = "SECONDS", value_parser = seconds(Min::Above(0.0), MAX_SECONDS), allow_negative_numbers = true)]
    pub duration: Option<Duration>,
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
    /// Log level (off, error, warn, info, debug, trace) or a tracing filter of such levels
    /// (e.g. `info,hashforge_stratum=debug`); RUST_LOG overrides it
    #[arg(long, default_value = "info", value_parser = log_level)]
    pub log_level: String,
    /// Write logs to this file instead of stderr
    #[arg(long)]
    pub log_file: Option<std::path::PathBuf>,
    /// Log line format: text, or json (one object a line, for log shippers)
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// For people: time, level, message
    Text,
    /// One JSON object a line: timestamp, level, fields (message among them)
    Json,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Read options from this TOML file (`hashforge config init` writes an example); the
    /// command line overrides it
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub node: NodeArgs,
    /// Where miners connect (host:port; port 0 picks a free port)
    #[arg(long, default_value = "127.0.0.1:3333")]
    pub listen: std::net::SocketAddr,
    /// Difficulty of a new connection (fractions allowed; vardiff adjusts it)
    #[arg(long, default_value_t = 1.0, value_name = "DIFFICULTY", value_parser = difficulty, allow_negative_numbers = true)]
    pub start_difficulty: f64,
    /// Seconds between shares that vardiff aims for, per connection (0.1 to 3600)
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = seconds(Min::AtLeast(0.1), 3600.0), allow_negative_numbers = true)]
    pub share_interval: Duration,
    /// Seconds between status blocks on stdout (0.1 to 86400)
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = seconds(Min::AtLeast(MIN_STATUS_INTERVAL), DAY), allow_negative_numbers = true)]
    pub status_interval: Duration,
    /// Shortest time in seconds between two updates with new transactions (a new block is sent
    /// at once; 0 to 3600, 0: every change)
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = seconds(Min::AtLeast(0.0), 3600.0), allow_negative_numbers = true)]
    pub update_interval: Duration,
    /// Password miners must give (default: any)
    #[arg(long)]
    pub password: Option<String>,
    /// Seconds a new connection has to subscribe and authorize before it is closed
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = seconds(Min::Above(0.0), 3600.0), allow_negative_numbers = true)]
    pub handshake_timeout: Duration,
    /// Most simultaneous connections from one IP address
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = integer(1, 1_000_000).map(|n| n as usize), allow_negative_numbers = true)]
    pub max_connections_per_ip: usize,
    /// Seconds of silence on a miner's connection before TCP keepalive probes start (then one
    /// every 10 s, 5 unanswered close it: a vanished miner is let go within this plus 50 s);
    /// 0 turns keepalive off
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = seconds(Min::AtLeast(0.0), 7200.0), allow_negative_numbers = true)]
    pub tcp_keepalive: Duration,
    /// Serve Stratum over TLS (miners use stratum+ssl://) with this PEM certificate chain
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Also serve Stratum V2 miners (standard and extended channels, Noise-encrypted) on this
    /// address, beside the Stratum v1 listener
    #[arg(long, value_name = "ADDR", requires = "sv2_key")]
    pub sv2_listen: Option<std::net::SocketAddr>,
    /// The authority key pair of --sv2-listen (written by `hashforge keygen --out FILE`)
    #[arg(long, value_name = "FILE", requires = "sv2_listen")]
    pub sv2_key: Option<std::path::PathBuf>,
    /// How long each Stratum V2 connection's certificate is valid
    #[arg(long, value_name = "SECONDS", default_value = "3600", value_parser = seconds(Min::AtLeast(60.0), 31_536_000.0), allow_negative_numbers = true)]
    pub sv2_cert_validity: Duration,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub log: LogArgs,
}

/// The HTTP API and Prometheus metrics (`mine` and `serve`).
#[derive(Args, Debug, Clone, Default)]
pub struct ApiArgs {
    /// Serve the HTTP API (JSON under /api/v1/, Prometheus at /metrics) on this address,
    /// e.g. 127.0.0.1:4048 (off by default; a non-loopback address needs --api-token)
    #[arg(long, value_name = "ADDR")]
    pub api: Option<std::net::SocketAddr>,
    /// Bearer token for the API's control endpoints (pause, resume), and for every endpoint
    /// off loopback
    #[arg(long, value_name = "TOKEN", requires = "api")]
    pub api_token: Option<String>,
}

/// The most CPU worker threads `-t/--threads` takes.
pub const MAX_THREADS: usize = 1024;
/// The shortest status interval: more often floods the output.
const MIN_STATUS_INTERVAL: f64 = 0.1;
/// Seconds in a day.
const DAY: f64 = 86_400.0;
/// The longest duration a flag without a natural bound takes (about 31 years).
const MAX_SECONDS: f64 = 1e9;
/// The largest difficulty a flag takes: far beyond Bitcoin's (about 1.5·10^14 in 2026), and
/// still a target of 200 bits.
pub const MAX_DIFFICULTY: f64 = 1e15;

/// The lower end of a range of seconds.
#[derive(Clone, Copy, Debug)]
pub enum Min {
    /// The value must be larger than this.
    Above(f64),
    /// The value may be this or larger.
    AtLeast(f64),
}

/// A value parser for a number of seconds (fractions allowed) in a range, as a `Duration`.
/// `nan`, `inf`, negative and out-of-range values get one message that states the range.
pub fn seconds(min: Min, max: f64) -> impl Fn(&str) -> Result<Duration, String> + Clone {
    move |text: &str| {
        let range = match min {
            Min::Above(m) => format!("more than {m} and at most {max} seconds"),
            Min::AtLeast(m) => format!("at least {m} and at most {max} seconds"),
        };
        let value: f64 = text
            .trim()
            .parse()
            .map_err(|_| format!("not a number of seconds: it must be {range}"))?;
        let above_min = match min {
            Min::Above(m) => value > m,
            Min::AtLeast(m) => value >= m,
        };
        // Every comparison with NaN is false: NaN is out of range.
        let in_range = above_min && value <= max;
        if !in_range {
            return Err(format!("must be {range}"));
        }
        Duration::try_from_secs_f64(value).map_err(|_| format!("must be {range}"))
    }
}

/// A value parser for a whole number in `min..=max`, read as `u64` whatever its sign or size, so
/// that `-1` and `18446744073709551616` get the range too.
pub fn integer(min: u64, max: u64) -> impl Fn(&str) -> Result<u64, String> + Clone {
    move |text: &str| {
        let range = format!("at least {min} and at most {max}");
        let text = text.trim();
        let digits = text.strip_prefix('+').unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return if text.starts_with('-') && text[1..].bytes().all(|b| b.is_ascii_digit()) {
                Err(format!("must be {range}"))
            } else {
                Err(format!("not a whole number: it must be {range}"))
            };
        }
        match digits.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(format!("must be {range}")),
        }
    }
}

/// The most `--retries`.
pub const MAX_RETRIES: u64 = 1_000_000;

/// A value parser for `--retries`: -1 (forever) or 0 to [`MAX_RETRIES`].
pub fn retries(text: &str) -> Result<i64, String> {
    if text.trim() == "-1" {
        return Ok(-1);
    }
    integer(0, MAX_RETRIES)(text)
        .map(|n| n as i64)
        .map_err(|_| format!("must be -1 (retry forever) or at least 0 and at most {MAX_RETRIES}"))
}

/// A value parser for a pool difficulty: a positive number, fractions allowed, at most
/// [`MAX_DIFFICULTY`].
pub fn difficulty(text: &str) -> Result<f64, String> {
    let range = format!("more than 0 and at most {MAX_DIFFICULTY:e}");
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("difficulty must be a positive number ({range})"))?;
    if !(value > 0.0 && value <= MAX_DIFFICULTY) {
        return Err(format!("difficulty must be a positive number ({range})"));
    }
    Ok(value)
}

/// The log levels `--log-level` takes.
const LOG_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// A value parser for `--log-level`: a level, or comma-separated `target=level` directives whose
/// levels are levels (a bare word that is not a level would be read by tracing as a target name
/// and silently hide every log line).
pub fn log_level(text: &str) -> Result<String, String> {
    let is_level = |l: &str| LOG_LEVELS.contains(&l.trim().to_ascii_lowercase().as_str());
    let bad = || {
        format!(
            "not a log level: use one of {} or target=level directives",
            LOG_LEVELS.join(", ")
        )
    };
    if text.trim().is_empty() {
        return Err(bad());
    }
    for directive in text.split(',') {
        let level = match directive.split_once('=') {
            Some((target, level)) if !target.trim().is_empty() => level,
            Some(_) => return Err(bad()),
            None => directive,
        };
        if !is_level(level) {
            return Err(bad());
        }
    }
    Ok(text.to_string())
}

/// A value parser for a Stratum V2 authority public key.
pub fn authority_key(text: &str) -> Result<hashforge_stratum::v2::AuthorityPublicKey, String> {
    text.parse()
        .map_err(|e: hashforge_stratum::Sv2Error| e.to_string())
}

/// A value parser for a pool URL: the text, once `PoolUrl` reads it; a bad scheme lists the
/// schemes taken.
pub fn pool_url(text: &str) -> Result<String, String> {
    match hashforge_stratum::PoolUrl::parse(text) {
        Ok(_) => Ok(text.to_string()),
        Err(hashforge_stratum::ClientError::BadUrl { reason, .. })
            if reason == "unknown scheme" =>
        {
            Err(
                "unknown scheme: use stratum+tcp://, stratum+ssl://, stratum+tls:// or \
                 stratum2+tcp:// (tcp://, ssl://, tls:// and a bare host:port also work)"
                    .to_string(),
            )
        }
        Err(hashforge_stratum::ClientError::BadUrl { reason, .. }) => {
            Err(format!("{reason} (e.g. stratum+tcp://pool.example:3333)"))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The most CPUs `--cpu-affinity` names (the size of the kernel's default CPU set).
pub const MAX_CPUS: usize = 1024;

/// The CPUs of `--cpu-affinity`, ascending, without repeats.
#[derive(Clone, Debug)]
pub struct CpuSet(pub Vec<usize>);

/// A value parser for `--cpu-affinity`: `0-3,6` or a hex mask `0xf`, as CPU numbers.
pub fn cpu_list(text: &str) -> Result<CpuSet, String> {
    let bad = || {
        format!(
            "not a CPU list: give CPU numbers below {MAX_CPUS} like 0-3,6, or a hex mask like 0xf"
        )
    };
    let text = text.trim();
    let mut cpus = Vec::new();
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        if hex.is_empty() || hex.len() > MAX_CPUS / 4 {
            return Err(bad());
        }
        for (i, digit) in hex.chars().rev().enumerate() {
            let d = digit.to_digit(16).ok_or_else(bad)? as usize;
            cpus.extend((0..4).filter(|b| d >> b & 1 == 1).map(|b| i * 4 + b));
        }
    } else {
        for part in text.split(',') {
            let number = |t: &str| t.trim().parse::<usize>().ok().filter(|&n| n < MAX_CPUS);
            let (first, last) = match part.split_once('-') {
                Some((a, b)) => (number(a).ok_or_else(bad)?, number(b).ok_or_else(bad)?),
                None => {
                    let n = number(part).ok_or_else(bad)?;
                    (n, n)
                }
            };
            if first > last {
                return Err(bad());
            }
            cpus.extend(first..=last);
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    if cpus.is_empty() {
        return Err(format!("no CPU in it: {}", bad()));
    }
    Ok(CpuSet(cpus))
}
