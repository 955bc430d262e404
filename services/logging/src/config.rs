//! Configuration of the logging service, from environment variables:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DIGITS_LOGGING_ADDR` | `0.0.0.0:50052` | address the gRPC server listens on |
//! | `DATABASE_URL` | `sqlite://digits.db` | `postgres://user:password@host/db`, or `sqlite://PATH` (file created if missing) |
//! | `DIGITS_DB_POOL_SIZE` | `16` | most PostgreSQL connections (SQLite always uses one) |
//! | `DIGITS_DB_TIMEOUT_MS` | `2000` | how long a call waits for a connection before `UNAVAILABLE` |
//! | `DIGITS_DB_STARTUP_TIMEOUT_S` | `60` | how long start-up waits for the database to come up |
//! | `DIGITS_RETENTION_DAYS` | `0` (keep) | delete predictions without feedback once older than this many days; labelled ones are kept for training |
//!
//! Logging is set by `RUST_LOG` and `DIGITS_LOG_FORMAT` (see `digits_service_kit::telemetry`).

use std::net::SocketAddr;
use std::time::Duration;

use digits_service_kit::env::{self, EnvError};

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
}

impl Config {
    /// Reads the configuration from the environment.
    ///
    /// # Errors
    /// When a variable is set to an unusable value.
    pub fn from_env() -> Result<Self, EnvError> {
        let defaults = Self::default();
        Ok(Self {
            addr: env::var_or("DIGITS_LOGGING_ADDR", defaults.addr)?,
            database_url: env::var("DATABASE_URL").unwrap_or(defaults.database_url),
            pool_size: env::positive_or("DIGITS_DB_POOL_SIZE", defaults.pool_size)?,
            db_timeout: Duration::from_millis(env::positive_or("DIGITS_DB_TIMEOUT_MS", 2000u64)?),
            startup_timeout: Duration::from_secs(env::positive_or("DIGITS_DB_STARTUP_TIMEOUT_S", 60u64)?),
            retention: match env::var_or("DIGITS_RETENTION_DAYS", 0u64)? {
                0 => None,
                days => Some(Duration::from_secs(days * 86_400)),
            },
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([0, 0, 0, 0], 50052)),
            database_url: "sqlite://digits.db".into(),
            pool_size: 16,
            db_timeout: Duration::from_millis(2000),
            startup_timeout: Duration::from_secs(60),
            retention: None,
        }
    }
}
