//! Connections: the backend is chosen by the `DATABASE_URL` scheme, never
//! guessed. `postgres://` or `postgresql://` is PostgreSQL; `sqlite://PATH`,
//! `sqlite:PATH` or a plain file path is SQLite (created if missing).
//!
//! A replicated PostgreSQL is named by a libpq multi-host URL,
//! `postgres://USER@pg1,pg2,pg3/DB?target_session_attrs=read-write`: each
//! new connection goes to the member that takes writes, and a pooled one is
//! checked before each use, so after a failover the pool holds only
//! connections to the new primary.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::StoreError;

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../sql/migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../sql/migrations/sqlite");

/// The PostgreSQL advisory lock that serialises migrations, so replicas that
/// start together on an empty database take turns ("digits" in ASCII).
const MIGRATION_LOCK: i64 = 0x6469_6769_7473;

/// The longest one PostgreSQL statement may run: no caller waits longer
/// (the gateway's calls time out after 5 s), so a runaway query is stopped
/// instead of holding a pooled connection.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

// diesel's derive generates undocumented public items (a backend type and
// its helpers), so the documentation lint is off for this module only.
#[allow(missing_docs)]
mod connection {
    use diesel::pg::PgConnection;
    use diesel::sqlite::SqliteConnection;

    /// A connection to either backend; diesel builds each query for the one in use.
    #[derive(diesel::MultiConnection)]
    pub enum DbConnection {
        /// PostgreSQL (production, compose).
        Postgresql(PgConnection),
        /// SQLite (the embedded default).
        Sqlite(SqliteConnection),
    }
}

pub use connection::{DbConnection, MultiBackend};

/// Which backend a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A libpq URL.
    Postgres(String),
    /// A file path.
    Sqlite(String),
}

impl DatabaseUrl {
    /// Reads the scheme of `url`.
    pub fn parse(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres(url.to_owned())
        } else {
            let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
            Self::Sqlite(path.to_owned())
        }
    }

    /// Bounds each connection attempt to PostgreSQL by `timeout` (libpq's
    /// `connect_timeout`, whole seconds, at least 2) unless the URL sets its
    /// own: without it, a host that vanished with its machine holds the
    /// attempt for minutes, and with a multi-host URL keeps the next host
    /// from being tried.
    #[must_use]
    pub fn with_connect_timeout(self, timeout: Duration) -> Self {
        match self {
            Self::Postgres(url) if !url.contains("connect_timeout=") => {
                let seconds = timeout.as_secs_f64().ceil().max(2.0);
                let separator = if url.contains('?') { '&' } else { '?' };
                Self::Postgres(format!("{url}{separator}connect_timeout={seconds}"))
            }
            other => other,
        }
    }

    /// Opens one connection.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached.
    pub fn connect(&self) -> Result<DbConnection, StoreError> {
        let unavailable = |e: diesel::ConnectionError| StoreError::Unavailable(e.to_string());
        match self {
            Self::Postgres(url) => {
                let mut conn = PgConnection::establish(url).map_err(unavailable)?;
                conn.batch_execute(&format!("SET statement_timeout = {}", STATEMENT_TIMEOUT.as_millis()))
                    .map_err(StoreError::Database)?;
                Ok(DbConnection::Postgresql(conn))
            }
            Self::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path).map_err(unavailable)?;
                // Wait for a writer instead of failing at once; WAL lets readers run beside it.
                // FULL syncs the WAL at each commit: a stored row survives a power cut, as it
                // must once the gateway has dropped the entry from its spool (NORMAL may lose
                // the last commits then).
                conn.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
                    .map_err(StoreError::Database)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// Applies the pending migrations of the connection's backend. On
/// PostgreSQL they run under an advisory lock: a second replica waits, then
/// finds nothing left to do.
///
/// # Errors
/// [`StoreError::Migration`].
pub fn migrate(conn: &mut DbConnection) -> Result<(), StoreError> {
    let result = match conn {
        DbConnection::Postgresql(c) => {
            c.batch_execute(&format!("SET statement_timeout = 0; SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                .map_err(StoreError::Database)?;
            let result = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len());
            c.batch_execute(&format!(
                "SELECT pg_advisory_unlock({MIGRATION_LOCK}); SET statement_timeout = {}",
                STATEMENT_TIMEOUT.as_millis()
            ))
            .map_err(StoreError::Database)?;
            result
        }
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    let applied = result.map_err(|e| StoreError::Migration(e.to_string()))?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(())
}

/// The r2d2 connection manager: connects through [`DatabaseUrl::connect`].
#[derive(Debug, Clone)]
pub struct Manager(DatabaseUrl);

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = StoreError;

    fn connect(&self) -> Result<DbConnection, StoreError> {
        self.0.connect()
    }

    /// A PostgreSQL connection is valid only while its server takes writes:
    /// one to a former primary that came back as a standby is dropped, and
    /// the next connection finds the new primary.
    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), StoreError> {
        let unavailable = |e: diesel::result::Error| StoreError::Unavailable(e.to_string());
        match conn {
            // PostgreSQL counts the rows a SELECT returned.
            DbConnection::Postgresql(_) => {
                match diesel::sql_query("SELECT 1 WHERE NOT pg_is_in_recovery()").execute(conn) {
                    Ok(1) => Ok(()),
                    Ok(_) => Err(StoreError::Unavailable("the server is a standby now".into())),
                    Err(e) => Err(unavailable(e)),
                }
            }
            DbConnection::Sqlite(_) => diesel::sql_query("SELECT 1").execute(conn).map(|_| ()).map_err(unavailable),
        }
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// A pool of connections.
pub type Pool = r2d2::Pool<Manager>;

/// Builds a pool for `url` and applies the migrations. SQLite gets one
/// connection (one writer at a time is all it allows).
///
/// # Errors
/// When the database is unreachable or a migration fails.
pub fn pool(url: &str, max_size: u32, timeout: Duration) -> Result<Pool, StoreError> {
    let url = DatabaseUrl::parse(url).with_connect_timeout(timeout);
    let size = if matches!(url, DatabaseUrl::Sqlite(_)) { 1 } else { max_size };
    let pool = r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(timeout)
        .test_on_check_out(true)
        .build_unchecked(Manager(url));
    migrate(&mut *pool.get()?)?;
    Ok(pool)
}

/// Reports the pool's connections, in use and idle, to the metrics
/// (`digits_db_pool_connections{state}`, `digits_db_pool_max`).
pub fn record_pool_state(pool: &Pool) {
    let state = pool.state();
    let idle = f64::from(state.idle_connections);
    metrics::gauge!("digits_db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("digits_db_pool_connections", "state" => "in_use").set(f64::from(state.connections) - idle);
    metrics::gauge!("digits_db_pool_max").set(f64::from(pool.max_size()));
}

/// A connection from `pool`, counted in `digits_db_pool_waiting` while the
/// call waits for it.
///
/// # Errors
/// [`StoreError::Unavailable`] when none frees up within the pool's timeout.
pub fn connection(pool: &Pool) -> Result<r2d2::PooledConnection<Manager>, StoreError> {
    let waiting = metrics::gauge!("digits_db_pool_waiting");
    waiting.increment(1.0);
    let conn = pool.get();
    waiting.decrement(1.0);
    record_pool_state(pool);
    Ok(conn?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_gets_a_connect_timeout_unless_it_has_its_own() {
        let second = Duration::from_millis(1500);
        let with = |url: &str| DatabaseUrl::parse(url).with_connect_timeout(second);
        assert_eq!(with("postgres://u@h/db"), DatabaseUrl::Postgres("postgres://u@h/db?connect_timeout=2".into()));
        assert_eq!(
            with("postgres://u@h1,h2/db?target_session_attrs=read-write"),
            DatabaseUrl::Postgres("postgres://u@h1,h2/db?target_session_attrs=read-write&connect_timeout=2".into())
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db").with_connect_timeout(Duration::from_millis(4200)),
            DatabaseUrl::Postgres("postgres://u@h/db?connect_timeout=5".into())
        );
        assert_eq!(
            with("postgres://u@h/db?connect_timeout=9"),
            DatabaseUrl::Postgres("postgres://u@h/db?connect_timeout=9".into())
        );
        assert_eq!(with("sqlite://x.db"), DatabaseUrl::Sqlite("x.db".into()));
    }
}
