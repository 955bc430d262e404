//! The `digits-gateway` command line: serve (the default) or check a
//! gateway's health.

use digits_service_kit::cli::ServiceCli;

use crate::config::Settings;

/// The binary's name.
pub const NAME: &str = "digits-gateway";

/// What `--help` says first.
pub const ABOUT: &str = "The Digits gateway: serves the web app and the JSON API, and the inference gRPC API on its \
                         own port, in front of the inference replicas and the logging service. Settings come from \
                         the environment variables shown; a flag overrides one for a single run.";

/// The command line.
pub type Cli = ServiceCli<Settings>;

#[cfg(test)]
mod tests {
    use clap::Parser;
    use digits_service_kit::cli;

    use super::*;
    use crate::config::Config;

    #[test]
    fn the_command_line_is_well_formed_and_readme_documents_every_variable() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).expect("README");
        cli::check_service::<Cli>(NAME, ABOUT, &readme).unwrap_or_else(|error| panic!("{error}"));
    }

    #[test]
    fn secrets_are_never_echoed_and_bad_lists_name_their_variable() {
        let help = cli::command::<Cli>(NAME, ABOUT).render_long_help().to_string();
        assert!(help.contains("DIGITS_ADMIN_TOKEN"), "{help}");
        let short_key = Cli::try_parse_from([NAME, "--api-keys", "alice:tooshort"]).expect("parses");
        let error = Config::try_from(short_key.settings).expect_err("a key under 16 characters");
        assert_eq!(error.name, "DIGITS_API_KEYS");
        assert!(!error.to_string().contains("tooshort"), "{error}");
        let proxy = Cli::try_parse_from([NAME, "--trusted-proxies", "10.0.0.0/8, nonsense"]).expect("parses");
        assert_eq!(Config::try_from(proxy.settings).expect_err("not an address").name, "DIGITS_TRUSTED_PROXIES");
    }
}
