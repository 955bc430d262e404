//! The `digits-inference` command line: serve (the default), check a
//! server's health, or recognise image files with a running server.

use std::path::PathBuf;

use clap::Subcommand;
use digits_service_kit::cli::{ServiceCli, ServiceCommand};

use crate::config::Settings;

/// The binary's name.
pub const NAME: &str = "digits-inference";

/// What `--help` says first.
pub const ABOUT: &str = "The Digits inference gRPC server: recognises handwritten digits with the released model. \
                         Settings come from the environment variables shown; a flag overrides one for a single run.";

/// The command line.
pub type Cli = ServiceCli<Settings, Command>;

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serving and the health check, as every service has them.
    #[command(flatten)]
    Service(ServiceCommand),
    /// Recognise PNG or JPEG files with a running server
    Predict {
        /// The image files
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The server; by default this configuration's port on 127.0.0.1
        #[arg(long)]
        addr: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};
    use digits_service_kit::cli;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed_and_readme_documents_every_variable() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).expect("README");
        cli::check_service::<Cli>(NAME, ABOUT, &readme).unwrap_or_else(|error| panic!("{error}"));
        assert!(Cli::command().get_subcommands().any(|c| c.get_name() == "healthcheck"));
    }

    #[test]
    fn subcommands_parse_and_serving_is_the_default() {
        let serve = Cli::try_parse_from([NAME]).expect("no arguments");
        assert!(serve.command.is_none());
        let predict = Cli::try_parse_from([NAME, "predict", "a.png", "--addr", "http://h:1"]).expect("predict");
        assert!(matches!(predict.command, Some(Command::Predict { ref files, .. }) if files.len() == 1));
        assert!(Cli::try_parse_from([NAME, "predict"]).is_err(), "predict needs a file");
        assert!(Cli::try_parse_from([NAME, "--queue", "0"]).is_err(), "the queue must be positive");
    }
}
