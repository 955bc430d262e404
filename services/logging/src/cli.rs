//! The `digits-logging` command line: serve (the default) or check a
//! server's health.

use digits_service_kit::cli::ServiceCli;

use crate::config::Settings;

/// The binary's name.
pub const NAME: &str = "digits-logging";

/// What `--help` says first.
pub const ABOUT: &str = "The Digits logging gRPC server: stores every prediction and its feedback in PostgreSQL or \
                         SQLite. Settings come from the environment variables shown; a flag overrides one for a \
                         single run.";

/// The command line.
pub type Cli = ServiceCli<Settings>;

#[cfg(test)]
mod tests {
    use clap::Parser;
    use digits_service_kit::cli::{self, ServiceCommand};

    use super::*;

    #[test]
    fn the_command_line_is_well_formed_and_readme_documents_every_variable() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).expect("README");
        cli::check_service::<Cli>(NAME, ABOUT, &readme).unwrap_or_else(|error| panic!("{error}"));
        let check = Cli::try_parse_from([NAME, "healthcheck", "http://h:1"]).expect("healthcheck");
        assert_eq!(check.command, Some(ServiceCommand::Healthcheck { addr: Some("http://h:1".into()) }));
    }
}
