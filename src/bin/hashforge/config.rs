//! The config file (`--config FILE`, TOML): one section per command, `[mine]` and `[serve]`,
//! whose keys are the command's long option names (`threads`, `status-interval`, `log-level`…),
//! and `[[mine.pools]]`, an array of tables (url, user, pass, tls, priority).
//!
//! The keys are not a second list of the options: they are read off the clap definitions in
//! `cli.rs`, and every value goes through the option's own typed value parser, so a new option
//! has its key, its range check and its line in `config init` with no code here. A file value
//! becomes `--key=value` on the command line unless the command line gave that option itself
//! (`ArgMatches::value_source`), so the command line wins; clap then parses the whole line once.
//!
//! Every error is one line naming the file, the line, and the key: an unknown key, a wrong type
//! (a string for a flag, a table for a number) or a bad value (the option's own message).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// The commands that read a config file; each has a section of that name.
pub const SECTIONS: [&str; 2] = ["mine", "serve"];

/// Options that have no key: `config` itself, and the pool list (the `pools` tables instead).
const NO_KEY: [&str; 4] = ["config", "urls", "users", "passwords"];

/// A config file that cannot be used: one line, naming the file and, where there is one, the
/// line and the key.
#[derive(Debug)]
pub struct ConfigError(String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    pub fn new(message: String) -> ConfigError {
        ConfigError(message)
    }
}

/// A file read into memory, for line numbers.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// An error at a byte offset of the file.
    fn error(&self, offset: usize, message: impl std::fmt::Display) -> ConfigError {
        ConfigError(format!(
            "{}:{}: {message}",
            self.path.display(),
            self.line(offset)
        ))
    }
}

/// The largest config file read (a config file is a few kilobytes).
const MAX_FILE_BYTES: u64 = 1 << 20;

fn read(path: &Path) -> Result<String, ConfigError> {
    let fail = |e: &dyn std::fmt::Display| {
        ConfigError(format!("cannot read config file {}: {e}", path.display()))
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(&e))?;
    if !meta.is_file() {
        return Err(fail(&"not a regular file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(fail(&format!("larger than {MAX_FILE_BYTES} bytes")));
    }
    std::fs::read_to_string(path).map_err(|e| fail(&e))
}

/// The `--key=value` arguments the file's `[section]` adds to the command line of `command`
/// (the subcommand's definition) whose matches are `matches`: every key the command line did not
/// give itself. Checks every key of the section, including those the command line overrides.
pub fn args_from_file(
    path: &Path,
    section: &str,
    command: &Command,
    matches: &ArgMatches,
) -> Result<Vec<OsString>, ConfigError> {
    let text = read(path)?;
    let source = Source { path, text: &text };
    let root = parse(&source)?;
    let mut args = Vec::new();
    if let Some((_, value)) = root.get_ref().iter().find(|(k, _)| k.get_ref() == section) {
        let table = value.get_ref().as_table().ok_or_else(|| {
            source.error(value.span().start, format!("{section} must be a table"))
        })?;
        section_args(&source, section, table, command, matches, &mut args)?;
    }
    Ok(args)
}

/// Parses the file and checks its top level: tables named after commands only.
fn parse<'a>(source: &Source<'a>) -> Result<Spanned<DeTable<'a>>, ConfigError> {
    let root = DeTable::parse(source.text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let message = e.message().trim().replace('\n', "; ");
        source.error(offset, format!("not valid TOML: {message}"))
    })?;
    for (key, _) in root.get_ref().iter() {
        if !SECTIONS.contains(&key.get_ref().as_ref()) {
            return Err(source.error(
                key.span().start,
                format!(
                    "unknown section '{}' (the sections are [mine] and [serve])",
                    key.get_ref()
                ),
            ));
        }
    }
    Ok(root)
}

/// The option of `command` whose long name is `key`, if it has a key in the file.
fn option<'c>(command: &'c Command, key: &str) -> Option<&'c Arg> {
    command
        .get_arguments()
        .find(|a| a.get_long() == Some(key) && !NO_KEY.contains(&a.get_id().as_str()))
}

/// Whether the command line itself gave the option `id`.
fn on_command_line(matches: &ArgMatches, id: &str) -> bool {
    matches.value_source(id) == Some(ValueSource::CommandLine)
}

fn section_args(
    source: &Source,
    section: &str,
    table: &DeTable,
    command: &Command,
    matches: &ArgMatches,
    args: &mut Vec<OsString>,
) -> Result<(), ConfigError> {
    for (key, value) in table.iter() {
        let name = key.get_ref().as_ref();
        let at = key.span().start;
        if name == "pools" && section == "mine" {
            pools(source, value, matches, args)?;
            continue;
        }
        let Some(arg) = option(command, name) else {
            let hint = if matches!(name, "url" | "user" | "pass") {
                " (pools are [[mine.pools]] tables with url, user, pass, tls and priority)"
            } else {
                ""
            };
            return Err(source.error(at, format!("unknown key '{section}.{name}'{hint}")));
        };
        let long = format!("--{name}");
        let given = on_command_line(matches, arg.get_id().as_str());
        let wrong = |expected: &str| {
            source.error(
                value.span().start,
                format!(
                    "{section}.{name}: expected {expected}, found {}",
                    value.get_ref().type_str()
                ),
            )
        };
        if matches!(arg.get_action(), ArgAction::SetTrue) {
            let on = value
                .get_ref()
                .as_bool()
                .ok_or_else(|| wrong("true or false"))?;
            if on && !given {
                args.push(long.into());
            }
            continue;
        }
        let text = scalar(value.get_ref()).ok_or_else(|| wrong("a string or a number"))?;
        check_value(arg, &text)
            .map_err(|m| source.error(value.span().start, format!("{section}.{name}: {m}")))?;
        if !given {
            args.push(format!("{long}={text}").into());
        }
    }
    Ok(())
}

/// A string, integer or float as the text an option takes.
fn scalar(value: &DeValue) -> Option<String> {
    match value {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Integer(i) if i.radix() == 10 => Some(i.as_str().replace('_', "")),
        DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
            .ok()
            .map(|n| n.to_string()),
        DeValue::Float(f) => Some(f.as_str().replace('_', "")),
        _ => None,
    }
}

/// Runs the option's own value parser on `text`: its message, without clap's framing, if it
/// refuses the value.
fn check_value(arg: &Arg, text: &str) -> Result<(), String> {
    // The option alone, without its relations to the others, on a command of its own.
    let alone = Command::new("config").no_binary_name(true).arg(
        Arg::new("value")
            .long("value")
            .action(ArgAction::Set)
            .allow_negative_numbers(true)
            .value_parser(arg.get_value_parser().clone()),
    );
    match alone.try_get_matches_from([format!("--value={text}")]) {
        Ok(_) => Ok(()),
        Err(e) => {
            if let Some(inner) = std::error::Error::source(&e) {
                return Err(inner.to_string());
            }
            let possible: Vec<String> = arg
                .get_possible_values()
                .iter()
                .map(|p| p.get_name().to_string())
                .collect();
            if possible.is_empty() {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or("bad value");
                Err(first.trim_start_matches("error: ").to_string())
            } else {
                Err(format!("'{text}' is not one of {}", possible.join(", ")))
            }
        }
    }
}

/// The keys of one `[[mine.pools]]` table.
const POOL_KEYS: [&str; 5] = ["url", "user", "pass", "tls", "priority"];

/// `[[mine.pools]]` → `--url`, `--user`, `--pass` in priority order (lowest first, file order
/// on ties). The command line's `-o` replaces the file's pools whole; its `-u` or `-p` replaces
/// the users or passwords of the file's pools.
fn pools(
    source: &Source,
    value: &Spanned<DeValue>,
    matches: &ArgMatches,
    args: &mut Vec<OsString>,
) -> Result<(), ConfigError> {
    let not_array = || {
        source.error(
            value.span().start,
            format!(
                "mine.pools: expected an array of tables ([[mine.pools]]), found {}",
                value.get_ref().type_str()
            ),
        )
    };
    let array = value.get_ref().as_array().ok_or_else(not_array)?;
    let mut list = Vec::new();
    for (index, entry) in array.iter().enumerate() {
        let table = entry.get_ref().as_table().ok_or_else(not_array)?;
        list.push(pool(source, entry.span().start, table)?.with_index(index));
    }
    list.sort_by_key(|p| (p.priority, p.index));
    if on_command_line(matches, "urls") {
        return Ok(());
    }
    let users = on_command_line(matches, "users");
    let passwords = on_command_line(matches, "passwords");
    for p in list {
        args.push(format!("--url={}", p.url).into());
        if !users {
            args.push(format!("--user={}", p.user).into());
        }
        if !passwords {
            args.push(format!("--pass={}", p.pass).into());
        }
    }
    Ok(())
}

struct Pool {
    url: String,
    user: String,
    pass: String,
    priority: i64,
    index: usize,
}

impl Pool {
    fn with_index(self, index: usize) -> Pool {
        Pool { index, ..self }
    }
}

fn pool(source: &Source, start: usize, table: &DeTable) -> Result<Pool, ConfigError> {
    let mut url = None;
    let mut user = "hashforge".to_string();
    let mut pass = "x".to_string();
    let mut tls = None;
    let mut priority = 0;
    for (key, value) in table.iter() {
        let name = key.get_ref().as_ref();
        let at = value.span().start;
        let wrong = |expected: &str| {
            source.error(
                at,
                format!(
                    "mine.pools.{name}: expected {expected}, found {}",
                    value.get_ref().type_str()
                ),
            )
        };
        let string = || {
            value
                .get_ref()
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| wrong("a string"))
        };
        match name {
            "url" => url = Some((string()?, at)),
            "user" => user = string()?,
            "pass" => pass = string()?,
            "tls" => {
                tls = Some(
                    value
                        .get_ref()
                        .as_bool()
                        .ok_or_else(|| wrong("true or false"))?,
                )
            }
            "priority" => {
                let text = scalar(value.get_ref())
                    .filter(|_| value.get_ref().is_integer())
                    .ok_or_else(|| wrong("a whole number"))?;
                priority = text.parse().map_err(|_| wrong("a whole number"))?;
            }
            _ => {
                return Err(source.error(
                    key.span().start,
                    format!(
                        "unknown key 'mine.pools.{name}' (a pool has {})",
                        POOL_KEYS.join(", ")
                    ),
                ))
            }
        }
    }
    let (mut url, at) =
        url.ok_or_else(|| source.error(start, "mine.pools: a pool without a url"))?;
    super::cli::pool_url(&url).map_err(|e| source.error(at, format!("mine.pools.url: {e}")))?;
    let parsed = hashforge_stratum::PoolUrl::parse(&url)
        .map_err(|e| source.error(at, format!("mine.pools.url: {e}")))?;
    match tls {
        Some(true) if !parsed.tls => {
            url = format!("stratum+ssl://{}", parsed.addr());
        }
        Some(false) if parsed.tls => {
            return Err(source.error(
                at,
                format!("mine.pools.url: tls = false, but '{url}' is a TLS URL"),
            ))
        }
        _ => {}
    }
    Ok(Pool {
        url,
        user,
        pass,
        priority,
        index: 0,
    })
}

/// The commented example `config init` writes: every key of every section, with its help and
/// its default (keys without one commented out).
pub fn example(cli: &Command) -> String {
    let mut out = String::new();
    out.push_str(
        "# hashforge config file (TOML). Use it with `hashforge mine --config FILE` or\n\
         # `hashforge serve --config FILE`; check it with `hashforge config check FILE`.\n\
         # Every key is the long name of a command-line option of that command; an option\n\
         # given on the command line overrides the file. Below, every key is set to its\n\
         # default; a key with no default is commented out.\n",
    );
    for name in SECTIONS {
        let Some(command) = cli.find_subcommand(name) else {
            continue;
        };
        let _ = writeln!(out, "\n[{name}]");
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if NO_KEY.contains(&arg.get_id().as_str()) || long == "help" || long == "version" {
                continue;
            }
            out.push('\n');
            let help = arg
                .get_long_help()
                .or_else(|| arg.get_help())
                .map(|h| h.to_string())
                .unwrap_or_default();
            for line in wrap(&help, 88) {
                let _ = writeln!(out, "# {line}");
            }
            if matches!(arg.get_action(), ArgAction::SetTrue) {
                let _ = writeln!(out, "{long} = false");
                continue;
            }
            match arg.get_default_values().first() {
                Some(default) => {
                    let default = default.to_string_lossy();
                    let _ = writeln!(out, "{long} = {}", toml_value(&default));
                }
                None => {
                    let _ = writeln!(out, "# {long} = (not set)");
                }
            }
        }
        if name == "mine" {
            out.push_str(
                "\n# Pools, tried in priority order (lowest first; file order on ties), failing\n\
                 # over to the next as --failover-after says. Without a pool (and without\n\
                 # `node`), `mine` mines on its embedded pool. tls = true makes a stratum+tcp://\n\
                 # URL stratum+ssl://. -o on the command line replaces these pools; -u and -p\n\
                 # replace their user and password.\n\
                 # [[mine.pools]]\n\
                 # url = \"stratum+tcp://pool.example.com:3333\"\n\
                 # user = \"hashforge\"\n\
                 # pass = \"x\"\n\
                 # tls = false\n\
                 # priority = 0\n",
            );
        }
    }
    out
}

/// A default value as TOML: a number as it is, anything else a string.
fn toml_value(text: &str) -> String {
    if text.parse::<f64>().is_ok_and(f64::is_finite) {
        text.to_string()
    } else {
        toml::Value::String(text.to_string()).to_string()
    }
}

/// Help text as comment lines of at most `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

/// The path a `config init FILE` writes, refusing to overwrite a file.
pub fn write_example(path: &PathBuf, text: &str) -> Result<(), ConfigError> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| ConfigError(format!("cannot write {}: {e}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(|e| ConfigError(format!("cannot write {}: {e}", path.display())))
}

/// The sections a file has (for `config check`), after checking its top level.
pub fn sections(path: &Path) -> Result<Vec<String>, ConfigError> {
    let text = read(path)?;
    let source = Source { path, text: &text };
    let root = parse(&source)?;
    let names = root
        .get_ref()
        .iter()
        .map(|(k, _)| k.get_ref().to_string())
        .collect();
    Ok(names)
}
