//! The command line of every Digits binary, with clap. Each setting is one
//! clap argument that names its environment variable, its default and its
//! help, so `--help`, the errors, the defaults and the README's tables
//! (checked by each service's tests) come from that one definition.
//!
//! Settings come from the environment (flags of the same name override them
//! for a one-off run). A variable set to an empty value counts as unset, as
//! compose files write `VAR=` for "the default".

use clap::error::{ContextKind, ContextValue};
use clap::{Arg, ArgMatches, Args, Command, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// The command line of a Digits service: a subcommand (none means serve),
/// the service's settings `S`, and the shared logging settings.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
pub struct ServiceCli<S: Args, C: Subcommand = ServiceCommand> {
    /// What to do; without one, serve.
    #[command(subcommand)]
    pub command: Option<C>,
    /// The service's settings.
    #[command(flatten)]
    pub settings: S,
    /// Logging.
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

/// The subcommands every service has.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum ServiceCommand {
    /// Serve until Ctrl-C or SIGTERM (the default)
    Serve,
    /// Exit 0 if the server at ADDR is SERVING (a container health check)
    Healthcheck {
        /// The server; by default this configuration's port on 127.0.0.1
        addr: Option<String>,
    },
}

/// A binary's command: `P`'s, under the binary's own name and description.
pub fn command<P: CommandFactory>(name: &'static str, about: &'static str) -> Command {
    P::command().name(name).bin_name(name).about(about)
}

/// Parses the process's arguments and environment for the binary `name`, or
/// exits with clap's message (`--help`, `--version`, or a usage error; when
/// the bad value came from an environment variable, a note names it).
pub fn parse<P: Parser>(name: &'static str, about: &'static str) -> P {
    let command = command::<P>(name, about).mut_args(unset_when_empty);
    let matches = command.clone().try_get_matches().unwrap_or_else(|error| exit_with(&error, &command));
    P::from_arg_matches(&matches).unwrap_or_else(|error| exit_with(&error, &command))
}

fn exit_with(error: &clap::Error, command: &Command) -> ! {
    let _ = error.print();
    if let Some(name) = env_behind(error, command) {
        eprintln!("note: the value comes from the environment variable {name}");
    }
    std::process::exit(error.exit_code())
}

/// The variable that supplied the argument an error is about, when the
/// command line did not.
fn env_behind(error: &clap::Error, command: &Command) -> Option<String> {
    let ContextValue::String(shown) = error.get(ContextKind::InvalidArg)? else { return None };
    let long = shown.split([' ', '=']).next()?.strip_prefix("--")?;
    let given_as_flag = std::env::args().any(|a| a == format!("--{long}") || a.starts_with(&format!("--{long}=")));
    let arg = command.get_arguments().find(|arg| arg.get_long() == Some(long))?;
    let name = arg.get_env()?;
    (!given_as_flag && std::env::var_os(name).is_some()).then(|| name.to_string_lossy().into_owned())
}

/// Runs the outcome of a binary's work: success exits 0; an error prints
/// `error: ` and its chain of causes on one line (never a backtrace) and exits 1.
pub fn report<E: std::fmt::Display>(outcome: Result<(), E>) -> std::process::ExitCode {
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The settings `A` holds when no variable and no flag is given: its
/// defaults, whatever the environment says.
///
/// # Panics
/// When a default does not parse (a mistake in `A`'s definition, which the
/// services' tests catch).
pub fn defaults<A: Args + FromArgMatches>() -> A {
    let command = A::augment_args(Command::new("defaults")).mut_args(|arg| arg.env(None));
    let matches: ArgMatches = command.get_matches_from(["defaults"]);
    A::from_arg_matches(&matches).unwrap_or_else(|error| panic!("the defaults do not parse: {error}"))
}

/// A variable set to an empty (or blank) value is treated as unset.
fn unset_when_empty(arg: Arg) -> Arg {
    let blank = arg.get_env().and_then(std::env::var_os).is_some_and(|value| value.to_string_lossy().trim().is_empty());
    if blank { arg.env(None) } else { arg }
}

/// The environment variables of `command` as the rows of a Markdown table
/// (`| variable | default | meaning |`), in the order they are defined: what
/// README shows for each service.
pub fn env_table(command: &Command) -> String {
    let mut table = String::from("| variable | default | meaning |\n|---|---|---|\n");
    for arg in command.get_arguments() {
        let Some(name) = arg.get_env() else { continue };
        let defaults: Vec<String> =
            arg.get_default_values().iter().map(|value| value.to_string_lossy().into_owned()).collect();
        let default = if defaults.is_empty() { "(none)".to_owned() } else { format!("`{}`", defaults.join(",")) };
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        table.push_str(&format!("| `{}` | {default} | {help} |\n", name.to_string_lossy()));
    }
    table
}

/// Checks a service's command line: clap's own consistency checks (which
/// panic), and README's table of its variables.
///
/// # Errors
/// See [`check_readme`].
pub fn check_service<P: CommandFactory>(name: &'static str, about: &'static str, readme: &str) -> Result<(), String> {
    let command = command::<P>(name, about);
    command.clone().debug_assert();
    check_readme(readme, name, &command)
}

/// Checks that README's table for `binary` is [`env_table`] of its command.
///
/// # Errors
/// The table README should hold, when it holds another or none.
pub fn check_readme(readme: &str, binary: &str, command: &Command) -> Result<(), String> {
    let expected = env_table(command);
    if readme_table(readme, binary) == Some(expected.as_str()) {
        Ok(())
    } else {
        Err(format!(
            "README's table for {binary} (between <!-- env: {binary} --> and <!-- /env -->) must read:\n{expected}"
        ))
    }
}

/// The table README shows for `binary`: the lines between
/// `<!-- env: BINARY -->` and `<!-- /env -->`, which each service's tests
/// compare with [`env_table`] of its command line.
pub fn readme_table<'a>(readme: &'a str, binary: &str) -> Option<&'a str> {
    let start_marker = format!("<!-- env: {binary} -->\n");
    let start = readme.find(&start_marker)? + start_marker.len();
    let end = start + readme[start..].find("<!-- /env -->")?;
    Some(&readme[start..end])
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (used in containers).
    Json,
}

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// On.
    On,
    /// Off.
    Off,
}

/// The logging, metrics and trace settings every service shares.
#[derive(Debug, Clone, Args)]
pub struct TelemetryArgs {
    /// Log filter, e.g. `digits_inference=debug,info`.
    #[arg(long = "log-filter", env = "RUST_LOG", default_value = "info", value_name = "FILTER")]
    pub filter: String,
    /// `json` for one JSON object per line, `text` for people.
    #[arg(long = "log-format", env = "DIGITS_LOG_FORMAT", default_value = "text", value_enum, ignore_case = true)]
    pub format: LogFormat,
    /// `off` records no Prometheus metrics (`/metrics` answers an empty page), to measure what they cost
    #[arg(long = "metrics", env = "DIGITS_METRICS", default_value = "on", value_enum, ignore_case = true)]
    pub metrics: Switch,
    /// OTLP/gRPC collector to export trace spans to, e.g. `http://otel-collector:4317`; unset exports none (log lines still carry trace ids)
    #[arg(long = "otlp-endpoint", env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Parser)]
    struct Example {
        /// Jobs that may wait.
        #[arg(long, env = "DIGITS_TEST_CLI_QUEUE", default_value_t = 256)]
        queue: usize,
        /// A folder; unset means none.
        #[arg(long, env = "DIGITS_TEST_CLI_DIR")]
        dir: Option<String>,
        #[command(flatten)]
        telemetry: TelemetryArgs,
    }

    #[test]
    fn defaults_ignore_the_environment_and_the_table_lists_every_variable() {
        let defaults: Example = defaults();
        assert_eq!((defaults.queue, defaults.dir), (256, None));
        assert_eq!(defaults.telemetry.format, LogFormat::Text);
        let table = env_table(&Example::command());
        assert!(table.contains("| `DIGITS_TEST_CLI_QUEUE` | `256` | Jobs that may wait |"), "{table}");
        assert!(table.contains("| `DIGITS_TEST_CLI_DIR` | (none) | A folder; unset means none |"), "{table}");
        assert!(table.contains("| `DIGITS_LOG_FORMAT` | `text` |"), "{table}");
    }

    #[test]
    fn the_readme_table_is_found_between_its_markers() {
        let readme = "intro\n<!-- env: digits-x -->\n| a |\n<!-- /env -->\nmore";
        assert_eq!(readme_table(readme, "digits-x"), Some("| a |\n"));
        assert_eq!(readme_table(readme, "digits-y"), None);
    }

    #[test]
    fn a_bad_value_is_an_error_naming_the_flag() {
        let error = Example::try_parse_from(["example", "--queue", "many"]).expect_err("not a number");
        assert!(error.to_string().contains("--queue"), "{error}");
    }
}
