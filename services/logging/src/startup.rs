//! Building and running the server: connect (waiting for the database if it
//! is still starting), migrate, then serve the logging API with gRPC health
//! and reflection until the shutdown future resolves. Health follows the
//! database: NOT_SERVING while it is unreachable, SERVING again when it is back.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use digits_proto::logging::v1::logging_server::LoggingServer;
use digits_service_kit::grpc::{GrpcServer, Health, ServeError};
use digits_service_kit::metrics as exporter;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::db::{self, Pool};
use crate::error::StoreError;
use crate::retention;
use crate::service::LoggingService;

/// The fully qualified service name, as health checks and reflection see it.
pub use digits_proto::logging::v1::logging_server::SERVICE_NAME;
/// How often the health monitor checks the database.
const HEALTH_INTERVAL: Duration = Duration::from_secs(1);

/// Start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database could not be reached or migrated in time.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The address could not be bound.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Serving failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// A bound, ready-to-serve logging server.
pub struct Application {
    listener: TcpListener,
    metrics_listener: TcpListener,
    pool: Pool,
    retention: Option<Duration>,
}

impl Application {
    /// Connects and migrates (retrying until `config.startup_timeout`), then binds.
    ///
    /// # Errors
    /// See [`StartupError`].
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let started = Instant::now();
        let pool = loop {
            let (url, size, timeout) = (config.database_url.clone(), config.pool_size, config.db_timeout);
            let attempt = tokio::task::spawn_blocking(move || db::pool(&url, size, timeout))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            match attempt {
                Ok(pool) => break pool,
                Err(StoreError::Unavailable(reason)) if started.elapsed() < config.startup_timeout => {
                    tracing::warn!(%reason, "database not reachable yet, retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
        exporter::init("logging", env!("CARGO_PKG_VERSION"));
        db::record_pool_state(&pool);
        let listener = TcpListener::bind(config.addr).await?;
        let metrics_listener = TcpListener::bind(config.metrics_addr).await?;
        Ok(Self { listener, metrics_listener, pool, retention: config.retention })
    }

    /// The bound address (useful when the port was 0).
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The bound address of the metrics port.
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn metrics_addr(&self) -> std::io::Result<SocketAddr> {
        self.metrics_listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then finishes the calls in flight.
    ///
    /// # Errors
    /// A transport error.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), StartupError> {
        let server = GrpcServer::new(self.listener, LoggingServer::new(LoggingService::new(self.pool.clone())));
        let monitor = tokio::spawn(monitor_database(self.pool.clone(), server.health()));
        let retention = self.retention.map(|keep| tokio::spawn(retention::run(self.pool, keep)));
        let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics_server = tokio::spawn(exporter::serve(self.metrics_listener, async {
            let _ = metrics_stopped.await;
        }));
        let result = server.serve(shutdown).await;
        let _ = stop_metrics.send(());
        let _ = metrics_server.await;
        monitor.abort();
        if let Some(task) = retention {
            task.abort();
        }
        tracing::info!("logging server stopped");
        Ok(result?)
    }
}

/// Reports SERVING while the database answers and NOT_SERVING while it does not.
async fn monitor_database(pool: Pool, health: Health) {
    let mut last = None;
    loop {
        let probe = pool.clone();
        let up = tokio::task::spawn_blocking(move || {
            probe.get().ok().is_some_and(|mut c| diesel::sql_query("SELECT 1").execute(&mut *c).is_ok())
        })
        .await
        .unwrap_or(false);
        if last != Some(up) {
            if up {
                tracing::info!("database reachable: serving");
            } else {
                tracing::warn!("database unreachable: not serving");
            }
            health.set(up).await;
            last = Some(up);
        }
        tokio::time::sleep(HEALTH_INTERVAL).await;
    }
}
