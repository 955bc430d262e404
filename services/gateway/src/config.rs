//! Gateway configuration, from environment variables only:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DIGITS_GATEWAY_ADDR` | `0.0.0.0:8080` | HTTP address: the web app and the JSON API |
//! | `DIGITS_GATEWAY_GRPC_ADDR` | `0.0.0.0:50050` | gRPC address: the inference API, forwarded to the replicas |
//! | `DIGITS_INFERENCE_URL` | `http://127.0.0.1:50051` | the inference service; its host name is re-resolved to find every replica |
//! | `DIGITS_INFERENCE_REFRESH_MS` | `2000` | how often the replicas are re-resolved and probed |
//! | `DIGITS_LOGGING_URL` | `http://127.0.0.1:50052` | the logging service |
//! | `DIGITS_GRPC_TIMEOUT_MS` | `5000` | deadline of one call to a backend |
//! | `DIGITS_MAX_BODY_BYTES` | `10485760` | largest accepted request body (10 MiB) |
//! | `DIGITS_LOG_QUEUE` | `10000` | predictions waiting to be logged, at most |
//! | `DIGITS_LOG_FLUSH_TIMEOUT_S` | `10` | how long a shutdown waits for the queue to drain |
//! | `DIGITS_WEB_DIR` | `web-ui/dist` | the built web app |
//! | `DIGITS_CORS_ORIGINS` | (none) | comma-separated origins allowed to call the API from other sites; closed when unset |

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use digits_service_kit::env::{self, EnvError};

/// Everything the gateway needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// HTTP listen address.
    pub http_addr: SocketAddr,
    /// gRPC listen address.
    pub grpc_addr: SocketAddr,
    /// The inference service, `http://HOST:PORT`.
    pub inference_url: String,
    /// Re-resolution and probe period of the inference replicas.
    pub inference_refresh: Duration,
    /// The logging service, `http://HOST:PORT`.
    pub logging_url: String,
    /// Deadline of one backend call.
    pub grpc_timeout: Duration,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Capacity of the log queue.
    pub log_queue: usize,
    /// How long a shutdown waits for queued logs.
    pub log_flush_timeout: Duration,
    /// The built web app.
    pub web_dir: PathBuf,
    /// Origins allowed by CORS; empty means none.
    pub cors_origins: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http_addr: SocketAddr::from(([0, 0, 0, 0], 8080)),
            grpc_addr: SocketAddr::from(([0, 0, 0, 0], 50050)),
            inference_url: "http://127.0.0.1:50051".into(),
            inference_refresh: Duration::from_millis(2000),
            logging_url: "http://127.0.0.1:50052".into(),
            grpc_timeout: Duration::from_millis(5000),
            max_body_bytes: 10 << 20,
            log_queue: 10_000,
            log_flush_timeout: Duration::from_secs(10),
            web_dir: PathBuf::from("web-ui/dist"),
            cors_origins: Vec::new(),
        }
    }
}

impl Config {
    /// Reads the environment.
    ///
    /// # Errors
    /// When a variable is set to something unusable.
    pub fn from_env() -> Result<Self, EnvError> {
        let d = Self::default();
        Ok(Self {
            http_addr: env::var_or("DIGITS_GATEWAY_ADDR", d.http_addr)?,
            grpc_addr: env::var_or("DIGITS_GATEWAY_GRPC_ADDR", d.grpc_addr)?,
            inference_url: env::var("DIGITS_INFERENCE_URL").unwrap_or(d.inference_url),
            inference_refresh: Duration::from_millis(env::positive_or("DIGITS_INFERENCE_REFRESH_MS", 2000u64)?),
            logging_url: env::var("DIGITS_LOGGING_URL").unwrap_or(d.logging_url),
            grpc_timeout: Duration::from_millis(env::positive_or("DIGITS_GRPC_TIMEOUT_MS", 5000u64)?),
            max_body_bytes: env::positive_or("DIGITS_MAX_BODY_BYTES", d.max_body_bytes)?,
            log_queue: env::positive_or("DIGITS_LOG_QUEUE", d.log_queue)?,
            log_flush_timeout: Duration::from_secs(env::var_or("DIGITS_LOG_FLUSH_TIMEOUT_S", 10u64)?),
            web_dir: env::var("DIGITS_WEB_DIR").map_or(d.web_dir, PathBuf::from),
            cors_origins: env::var("DIGITS_CORS_ORIGINS")
                .map(|v| v.split(',').map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect())
                .unwrap_or_default(),
        })
    }
}
