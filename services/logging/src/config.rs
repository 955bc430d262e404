//! Configuration of the logging service: each setting is one clap argument
//! with its environment variable, default and help (see `digits-logging
//! --help`; README's table is checked against it).

use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64};
use std::path::PathBuf;
use std::time::Duration;

use digits_service_kit::cli;

/// The logging server's settings, as the command line and the environment give them.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Address the gRPC server listens on
    #[arg(long, env = "DIGITS_LOGGING_ADDR", default_value = "0.0.0.0:50052", value_name = "ADDR")]
    pub addr: SocketAddr,
    /// `postgres://user:password@host:5432/db`; for a replicated PostgreSQL every member, `postgres://user@pg1,pg2,pg3/db?target_session_attrs=read-write`, and the primary is found; or `sqlite://PATH` (the file is created if missing)
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://digits.db",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: String,
    /// A file holding the PostgreSQL password (a Docker secret such as `/run/secrets/postgres_password`), for a `DATABASE_URL` without one
    #[arg(long, env = "DIGITS_DATABASE_PASSWORD_FILE", value_name = "PATH")]
    pub database_password_file: Option<PathBuf>,
    /// Most PostgreSQL connections (SQLite always uses one)
    #[arg(long, env = "DIGITS_DB_POOL_SIZE", default_value = "16", value_name = "N")]
    pub db_pool_size: NonZeroU32,
    /// How long a call waits for a connection before `UNAVAILABLE`, in milliseconds; also each PostgreSQL connection attempt's limit (libpq's `connect_timeout`, at least 2 s) unless `DATABASE_URL` sets one
    #[arg(long, env = "DIGITS_DB_TIMEOUT_MS", default_value = "2000", value_name = "MS")]
    pub db_timeout_ms: NonZeroU64,
    /// How long start-up waits for the database to come up, in seconds
    #[arg(long, env = "DIGITS_DB_STARTUP_TIMEOUT_S", default_value = "60", value_name = "S")]
    pub db_startup_timeout_s: NonZeroU64,
    /// Delete predictions without feedback once older than this many days, hourly (0 keeps them); labelled ones are kept for training
    #[arg(long, env = "DIGITS_RETENTION_DAYS", default_value = "0", value_name = "DAYS")]
    pub retention_days: u64,
    /// Address of the admin HTTP port that serves Prometheus metrics at `/metrics`
    #[arg(long, env = "DIGITS_METRICS_ADDR", default_value = "0.0.0.0:9102", value_name = "ADDR")]
    pub metrics_addr: SocketAddr,
}

/// Settings of one logging server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address; port 0 picks a free port (tests).
    pub addr: SocketAddr,
    /// The database.
    pub database_url: String,
    /// Most pooled PostgreSQL connections.
    pub pool_size: u32,
    /// Wait for a pooled connection.
    pub db_timeout: Duration,
    /// Wait for the database at start-up.
    pub startup_timeout: Duration,
    /// How long predictions without feedback are kept; `None` keeps them.
    pub retention: Option<Duration>,
    /// The admin port serving `/metrics`; port 0 picks a free port (tests).
    pub metrics_addr: SocketAddr,
}

/// The settings do not make a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The password file could not be read.
    #[error("DIGITS_DATABASE_PASSWORD_FILE {path}: {source}")]
    PasswordFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The password file is empty.
    #[error("DIGITS_DATABASE_PASSWORD_FILE {0} is empty")]
    EmptyPassword(PathBuf),
    /// A password file was given for a URL that cannot take it.
    #[error("DIGITS_DATABASE_PASSWORD_FILE needs a postgres:// DATABASE_URL without a password of its own")]
    PasswordNotWanted,
}

impl TryFrom<Settings> for Config {
    type Error = ConfigError;

    fn try_from(s: Settings) -> Result<Self, ConfigError> {
        let database_url = match &s.database_password_file {
            Some(path) => with_password(&s.database_url, path)?,
            None => s.database_url,
        };
        Ok(Self {
            addr: s.addr,
            database_url,
            pool_size: s.db_pool_size.get(),
            db_timeout: Duration::from_millis(s.db_timeout_ms.get()),
            startup_timeout: Duration::from_secs(s.db_startup_timeout_s.get()),
            retention: (s.retention_days > 0).then(|| Duration::from_secs(s.retention_days.saturating_mul(86_400))),
            metrics_addr: s.metrics_addr,
        })
    }
}

/// `url` with the password read from `path` (its first line), so that the
/// password itself never sits in the environment or the service definition.
fn with_password(url: &str, path: &std::path::Path) -> Result<String, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::PasswordFile { path: path.to_owned(), source })?;
    let password = text.lines().next().unwrap_or_default();
    if password.is_empty() {
        return Err(ConfigError::EmptyPassword(path.to_owned()));
    }
    let mut parsed = url::Url::parse(url).map_err(|_| ConfigError::PasswordNotWanted)?;
    let postgres = matches!(parsed.scheme(), "postgres" | "postgresql");
    if !postgres || parsed.password().is_some() || parsed.username().is_empty() {
        return Err(ConfigError::PasswordNotWanted);
    }
    // Percent-encoded as a URL needs it; libpq decodes it again.
    parsed.set_password(Some(password)).map_err(|()| ConfigError::PasswordNotWanted)?;
    Ok(parsed.into())
}

impl Default for Config {
    /// The defaults of [`Settings`], whatever the environment says.
    fn default() -> Self {
        Self::try_from(cli::defaults::<Settings>()).expect("the defaults name no password file")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password_file(content: &str) -> (digits_test_support::TempDir, PathBuf) {
        let dir = digits_test_support::TempDir::new("logging-config");
        let path = dir.path().join("postgres_password");
        std::fs::write(&path, content).expect("write the password file");
        (dir, path)
    }

    #[test]
    fn the_password_file_fills_the_password_of_the_url_percent_encoded() {
        let (_dir, path) = password_file("p@ss:w/rd #1\n");
        let url = with_password("postgres://digits@postgres:5432/digits", &path).expect("a URL");
        assert_eq!(url, "postgres://digits:p%40ss%3Aw%2Frd%20%231@postgres:5432/digits");
    }

    #[test]
    fn a_password_file_is_refused_beside_a_password_in_the_url_or_for_sqlite() {
        let (_dir, path) = password_file("secret");
        for url in ["postgres://digits:other@postgres/digits", "sqlite://digits.db", "postgres://postgres/digits"] {
            assert!(matches!(with_password(url, &path), Err(ConfigError::PasswordNotWanted)), "{url}");
        }
    }

    #[test]
    fn a_missing_or_empty_password_file_is_a_clear_error() {
        let (_dir, path) = password_file("\n");
        assert!(matches!(with_password("postgres://d@h/d", &path), Err(ConfigError::EmptyPassword(_))));
        let missing = path.with_file_name("absent");
        let error = with_password("postgres://d@h/d", &missing).expect_err("no file");
        assert!(error.to_string().contains("DIGITS_DATABASE_PASSWORD_FILE"), "{error}");
    }
}
