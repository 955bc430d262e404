//! Configuration of the logging service: each setting is one clap argument
//! with its environment variable, default and help (see `digits-logging
//! --help`; README's table is checked against it).

use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

use digits_service_kit::cli;

/// The logging server's settings, as the command line and the environment give them.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Address the gRPC server listens on
    #[arg(long, env = "DIGITS_LOGGING_ADDR", default_value = "0.0.0.0:50052", value_name = "ADDR")]
    pub addr: SocketAddr,
    /// `postgres://user:password@host:5432/db`, or `sqlite://PATH` (the file is created if missing)
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://digits.db",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: String,
    /// Most PostgreSQL connections (SQLite always uses one)
    #[arg(long, env = "DIGITS_DB_POOL_SIZE", default_value = "16", value_name = "N")]
    pub db_pool_size: NonZeroU32,
    /// How long a call waits for a connection before `UNAVAILABLE`, in milliseconds
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

impl From<Settings> for Config {
    fn from(s: Settings) -> Self {
        Self {
            addr: s.addr,
            database_url: s.database_url,
            pool_size: s.db_pool_size.get(),
            db_timeout: Duration::from_millis(s.db_timeout_ms.get()),
            startup_timeout: Duration::from_secs(s.db_startup_timeout_s.get()),
            retention: (s.retention_days > 0).then(|| Duration::from_secs(s.retention_days.saturating_mul(86_400))),
            metrics_addr: s.metrics_addr,
        }
    }
}

impl Default for Config {
    /// The defaults of [`Settings`], whatever the environment says.
    fn default() -> Self {
        cli::defaults::<Settings>().into()
    }
}
