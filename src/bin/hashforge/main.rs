//! The `hashforge` command: a thin binary over the `hashforge` library. It parses the command
//! line (clap) and the config file, runs one command, and prints a runtime error as one line
//! (anyhow). Exit status: 0 done, 1 runtime failure, 2 usage error (clap's whole message, one
//! line for a config file, or a GPU asked of a build without one), 3 `mine` never got work
//! ([`NeverMined`]).

mod api;
mod bench;
mod chart;
mod cli;
mod config;
mod devices;
mod hash;
mod json;
mod keys;
mod logging;
mod mine;
mod node;
mod priority;
mod reload;
mod scan;
mod serve;
mod signal;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{CommandFactory, FromArgMatches};

use cli::{BackendArgs, Cli, Command, ConfigCommand, GpuArgs};
use hashforge::gpu::{AdapterChoice, Batch, Workgroup};
use hashforge::setup::{BackendOptions, Backends};

/// Exit status of a runtime failure.
const EXIT_FAILURE: u8 = 1;
/// Exit status of a usage error: the command line or the config file.
const EXIT_USAGE: u8 = 2;
/// Exit status of a `mine` that never got work to hash.
const EXIT_NEVER_MINED: u8 = 3;

/// `mine` ended without ever getting work: no pool answered, or every pool refused the worker.
#[derive(Debug)]
pub struct NeverMined(pub String);

impl std::fmt::Display for NeverMined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NeverMined {}

/// A command line that cannot be run.
enum Usage {
    /// clap's own message (usage, suggestions), printed whole; `--help` and `--version` too.
    Clap(clap::Error),
    /// A config file error: one line.
    Config(config::ConfigError),
}

fn main() -> ExitCode {
    runtime_dir();
    let cli = match parse(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(Usage::Clap(e)) => {
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
        Err(Usage::Config(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<config::ConfigError>().is_some() || asks_for_no_gpu(&e) {
                ExitCode::from(EXIT_USAGE)
            } else if e.downcast_ref::<NeverMined>().is_some() {
                ExitCode::from(EXIT_NEVER_MINED)
            } else {
                ExitCode::from(EXIT_FAILURE)
            }
        }
    }
}

/// A GPU asked of a build without one: the command line asks for what this binary lacks.
fn asks_for_no_gpu(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<hashforge::Error>(),
            Some(hashforge::Error::NoGpuSupport)
        )
    })
}

/// The command line, with the `--config` file of `mine` or `serve` merged in under it.
fn parse(args: Vec<OsString>) -> Result<Cli, Usage> {
    let matches = parse_matches(args)?;
    Cli::from_arg_matches(&matches).map_err(Usage::Clap)
}

/// This process's command line parsed again, with its `--config` file as the file is now (for
/// SIGHUP): the commands and every option's values by long name (defaults included), or why
/// not, as one line.
pub(crate) fn reread() -> Result<(Cli, BTreeMap<String, Vec<OsString>>), String> {
    let matches = parse_matches(std::env::args_os().collect()).map_err(|e| match e {
        Usage::Clap(e) => clap_line(&e),
        Usage::Config(e) => e.to_string(),
    })?;
    let mut values = BTreeMap::new();
    if let Some((name, sub)) = matches.subcommand() {
        let command = Cli::command();
        let definition = command
            .find_subcommand(name)
            .expect("the subcommand just parsed");
        for arg in definition.get_arguments() {
            let id = arg.get_id().as_str();
            if let Ok(Some(raw)) = sub.try_get_raw(id) {
                let name = arg.get_long().unwrap_or(id).to_string();
                values.insert(name, raw.map(|v| v.to_os_string()).collect());
            }
        }
    }
    let cli = Cli::from_arg_matches(&matches).map_err(|e| clap_line(&e))?;
    Ok((cli, values))
}

/// clap's message up to its usage, as one line.
fn clap_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let message: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .collect();
    message.join(" ").trim_start_matches("error: ").to_string()
}

/// [`parse`], up to clap's matches.
fn parse_matches(mut args: Vec<OsString>) -> Result<clap::ArgMatches, Usage> {
    let command = Cli::command().long_version(long_version());
    let matches = match command.clone().try_get_matches_from(&args) {
        Ok(matches) => matches,
        // The config file may give what is missing (`--address` for `--node`): with a
        // `--config`, read the command line leniently; the merged line is checked in full below.
        Err(e) if e.kind() == clap::error::ErrorKind::MissingRequiredArgument => {
            let lenient = command
                .clone()
                .ignore_errors(true)
                .try_get_matches_from(&args);
            match lenient {
                Ok(m)
                    if m.subcommand()
                        .is_some_and(|(_, sub)| sub.contains_id("config")) =>
                {
                    m
                }
                _ => return Err(Usage::Clap(e)),
            }
        }
        Err(e) => return Err(Usage::Clap(e)),
    };
    let with_file = matches
        .subcommand()
        .filter(|(name, _)| config::SECTIONS.contains(name))
        .and_then(|(name, sub)| {
            let path = sub.get_one::<std::path::PathBuf>("config")?;
            Some((name, sub, path))
        });
    let Some((name, sub, path)) = with_file else {
        return Ok(matches);
    };
    let definition = command
        .find_subcommand(name)
        .expect("the subcommand just parsed");
    let extra = config::args_from_file(path, name, definition, sub).map_err(Usage::Config)?;
    args.extend(extra);
    command.try_get_matches_from(&args).map_err(Usage::Clap)
}

/// `--version`: the version, the CPU kernels this machine can run (the fastest is measured at
/// start), the GPU support built in, and the build.
fn long_version() -> &'static str {
    let kernels: Vec<&str> = hashforge::cpu::Kernel::supported()
        .into_iter()
        .map(|k| k.name())
        .collect();
    let text = format!(
        "{}\nCPU kernels on this machine: {}\nGPU: {}\nbuild: {}, {}-{}",
        env!("CARGO_PKG_VERSION"),
        kernels.join(", "),
        if cfg!(feature = "gpu") {
            "WGSL through wgpu (Vulkan, Metal, DX12)"
        } else {
            "not built in (the gpu feature is off)"
        },
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        std::env::consts::ARCH,
        std::env::consts::OS,
    );
    // Once per process, for clap's 'static string.
    Box::leak(text.into_boxed_str())
}

/// `config init` and `config check`.
/// `hashforge keygen --out FILE`: a new authority key pair; the public key on stdout.
fn keygen(out: &std::path::Path) -> Result<()> {
    let keys = hashforge_stratum::v2::AuthorityKeys::generate();
    keys.save(out)
        .with_context(|| format!("cannot write the key file {}", out.display()))?;
    println!("{}", keys.public());
    Ok(())
}

fn config_command(command: ConfigCommand) -> Result<()> {
    match command {
        ConfigCommand::Init { file } => {
            let text = config::example(&Cli::command());
            match file {
                Some(path) => config::write_example(&path, &text)?,
                None => print!("{text}"),
            }
        }
        ConfigCommand::Check { file } => {
            let sections = config::sections(&file)?;
            for name in &sections {
                // The file alone, as `mine --config FILE` or `serve --config FILE` reads it.
                let args = ["hashforge", name.as_str(), "--config"]
                    .map(OsString::from)
                    .into_iter()
                    .chain([file.clone().into_os_string()])
                    .collect();
                match parse(args) {
                    Ok(_) => {}
                    Err(Usage::Config(e)) => return Err(e.into()),
                    Err(Usage::Clap(e)) => {
                        return Err(config::ConfigError::new(format!(
                            "{}: [{name}]: {}",
                            file.display(),
                            clap_line(&e)
                        ))
                        .into());
                    }
                }
            }
            let list: Vec<String> = sections.iter().map(|s| format!("[{s}]")).collect();
            println!(
                "{}: ok ({})",
                file.display(),
                if list.is_empty() {
                    "empty".to_string()
                } else {
                    list.join(", ")
                }
            );
        }
    }
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    if let Command::Scan(cli::ScanArgs { backends, .. })
    | Command::Bench(cli::BenchArgs { backends, .. })
    | Command::Mine(cli::MineArgs { backends, .. }) = &cli.command
    {
        warn_threads(backends.cpu.threads);
    }
    match cli.command {
        Command::Hash { hex } => hash::run(&hex),
        Command::Scan(args) => scan::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Devices => devices::run(),
        Command::Mine(args) => mine::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Config(command) => config_command(command),
        Command::Keygen { out } => keygen(&out),
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "hashforge", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .map_err(|e| anyhow::anyhow!("writing the man page: {e}")),
    }
}

/// The backend options of the command line, checked.
pub(crate) fn backend_options(args: &BackendArgs) -> Result<BackendOptions> {
    Ok(BackendOptions {
        kind: args.backend.into(),
        kernel: args.cpu.kernel.parse()?,
        threads: args.cpu.threads,
        gpu: adapter_choice(&args.gpu),
        gpu_batch: gpu_batch(&args.gpu),
        gpu_workgroup: gpu_workgroup(&args.gpu),
    })
}

/// The GPU adapter of the command line.
pub(crate) fn adapter_choice(args: &GpuArgs) -> AdapterChoice {
    match &args.gpu {
        Some(s) => s.parse().unwrap_or_default(),
        None => AdapterChoice::Preferred,
    }
}

/// The GPU workgroup size of the command line.
pub(crate) fn gpu_workgroup(args: &GpuArgs) -> Workgroup {
    args.gpu_workgroup.map_or(Workgroup::Auto, Workgroup::Fixed)
}

/// The GPU batch of the command line.
pub(crate) fn gpu_batch(args: &GpuArgs) -> Batch {
    args.gpu_batch.map_or_else(Batch::default, Batch::Fixed)
}

/// More threads than cores only share them (`--threads` itself is checked by its parser, 1 to
/// [`cli::MAX_THREADS`]): allowed, with a warning on stderr.
fn warn_threads(threads: Option<usize>) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Some(n) = threads.filter(|&n| n > cores) {
        eprintln!("warning: --threads {n} is more than the {cores} cores of this machine; the threads share them");
    }
}

/// Builds the backends the options ask for. A kernel chosen by measurement is reported on
/// stderr, so that stdout stays clean for `--json`.
pub(crate) fn build_backends(options: &BackendOptions) -> Result<Backends> {
    let backends = Backends::build(options)?;
    if let Some(calibration) = &backends.calibration {
        eprintln!("kernel auto: {calibration}");
    }
    if let Some(auto) = &backends.auto {
        eprintln!("backend auto: {auto}");
    }
    Ok(backends)
}

/// Mesa's Vulkan drivers (lavapipe among them) print `MESA: error: XDG_RUNTIME_DIR is not set`
/// when it is unset, which reads like an error of ours. Before any thread starts (so that
/// setting the environment is sound), an unset one becomes a private directory of this user
/// under the temporary directory; nothing else of ours uses it.
fn runtime_dir() {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
            return;
        }
        let Ok(me) = std::fs::metadata("/proc/self") else {
            return;
        };
        let dir = std::env::temp_dir().join(format!("hashforge-runtime-{}", me.uid()));
        let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
        // Only a directory of our own that nobody else can enter (not a link someone planted).
        let ours = std::fs::symlink_metadata(&dir).is_ok_and(|m| {
            m.is_dir() && m.uid() == me.uid() && m.permissions().mode() & 0o077 == 0
        });
        if ours {
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
        }
    }
}
