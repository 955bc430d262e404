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
//! | `DIGITS_MAX_BODY_BYTES` | `2097152` | largest image body of `POST /api/predictions` (2 MiB); feedback takes at most 1 KiB |
//! | `DIGITS_HTTP_READ_TIMEOUT_S` | `10` | time a client has to send its request headers, and then its body |
//! | `DIGITS_MAX_CONCURRENT` | `128` | requests in progress at once, HTTP API and gRPC together; beyond it, 503 / `UNAVAILABLE` at once |
//! | `DIGITS_RATE_LIMIT` | `30` | requests per second per client address (API and gRPC) |
//! | `DIGITS_RATE_BURST` | `60` | requests a client may send at once before its rate applies |
//! | `DIGITS_TRUSTED_PROXIES` | (none) | comma-separated IPs or CIDRs of reverse proxies whose `X-Forwarded-For` names the client |
//! | `DIGITS_API_KEYS` | (none) | comma-separated `name:key` or `name:key:per_second`: developers' keys (`authorization: Bearer KEY`), each with its own rate (default `DIGITS_RATE_LIMIT`) |
//! | `DIGITS_ADMIN_TOKEN` | (none) | the operators' bearer token for the global history and the export; those views are off when unset |
//! | `DIGITS_PUBLIC_MAX_BATCH` | `16` | most images in one `PredictBatch` on the public gRPC port |
//! | `DIGITS_LOG_QUEUE` | `10000` | predictions waiting to be logged, at most |
//! | `DIGITS_LOG_SPOOL_DIR` | `digits-spool` | folder where queued predictions are kept on disk until stored, so a crash loses none |
//! | `DIGITS_LOG_FLUSH_TIMEOUT_S` | `10` | how long a shutdown waits for the queue to drain |
//! | `DIGITS_WEB_DIR` | `web-ui/dist` | the built web app |
//! | `DIGITS_CORS_ORIGINS` | (none) | comma-separated origins allowed to call the API from other sites; closed when unset |

use std::net::SocketAddr;
use std::num::NonZeroU32;
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
    /// Largest image body.
    pub max_body_bytes: usize,
    /// Time to send the request headers, and then the body.
    pub read_timeout: Duration,
    /// Requests in progress at once, over both ports.
    pub max_concurrent: usize,
    /// Requests per second per client address.
    pub rate_limit: NonZeroU32,
    /// Requests a client may send at once.
    pub rate_burst: NonZeroU32,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Developers' API keys.
    pub api_keys: Vec<ApiKey>,
    /// The operators' token; `None` turns the admin views off.
    pub admin_token: Option<Secret>,
    /// Most images per `PredictBatch` on the public port.
    pub public_max_batch: usize,
    /// Capacity of the log queue.
    pub log_queue: usize,
    /// Where queued logs are kept on disk.
    pub log_spool_dir: PathBuf,
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
            max_body_bytes: 2 << 20,
            read_timeout: Duration::from_secs(10),
            max_concurrent: 128,
            rate_limit: NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN),
            rate_burst: NonZeroU32::new(60).unwrap_or(NonZeroU32::MIN),
            trusted_proxies: Vec::new(),
            api_keys: Vec::new(),
            admin_token: None,
            public_max_batch: 16,
            log_queue: 10_000,
            log_spool_dir: PathBuf::from("digits-spool"),
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
            read_timeout: Duration::from_secs(env::positive_or("DIGITS_HTTP_READ_TIMEOUT_S", 10u64)?),
            max_concurrent: env::positive_or("DIGITS_MAX_CONCURRENT", d.max_concurrent)?,
            rate_limit: env::var_or("DIGITS_RATE_LIMIT", d.rate_limit)?,
            rate_burst: env::var_or("DIGITS_RATE_BURST", d.rate_burst)?,
            trusted_proxies: list("DIGITS_TRUSTED_PROXIES", parse_proxy)?,
            api_keys: list("DIGITS_API_KEYS", |entry| ApiKey::parse(entry, d.rate_limit))?,
            admin_token: env::var("DIGITS_ADMIN_TOKEN").map(|t| Secret(t.trim().to_owned())),
            public_max_batch: env::positive_or("DIGITS_PUBLIC_MAX_BATCH", d.public_max_batch)?,
            log_queue: env::positive_or("DIGITS_LOG_QUEUE", d.log_queue)?,
            log_spool_dir: env::var("DIGITS_LOG_SPOOL_DIR").map_or(d.log_spool_dir, PathBuf::from),
            log_flush_timeout: Duration::from_secs(env::var_or("DIGITS_LOG_FLUSH_TIMEOUT_S", 10u64)?),
            web_dir: env::var("DIGITS_WEB_DIR").map_or(d.web_dir, PathBuf::from),
            cors_origins: list("DIGITS_CORS_ORIGINS", |o| Ok(o.to_owned()))?,
        })
    }
}

/// A secret that `Debug` never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(hidden)")
    }
}

/// A developer's API key.
#[derive(Clone)]
pub struct ApiKey {
    /// Its name: logged with every prediction made with it.
    pub name: String,
    /// The secret the caller sends as `authorization: Bearer ...`.
    pub key: String,
    /// Its requests per second.
    pub per_second: NonZeroU32,
}

impl std::fmt::Debug for ApiKey {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey").field("name", &self.name).field("per_second", &self.per_second).finish()
    }
}

impl ApiKey {
    /// `name:key` or `name:key:per_second`.
    fn parse(entry: &str, default_rate: NonZeroU32) -> Result<Self, String> {
        let mut parts = entry.split(':');
        let (Some(name), Some(key)) = (parts.next(), parts.next()) else {
            return Err("expected name:key or name:key:per_second".into());
        };
        let per_second = match parts.next() {
            None => default_rate,
            Some(rate) => rate.parse().map_err(|e| format!("the rate of key {name:?}: {e}"))?,
        };
        if parts.next().is_some() || name.is_empty() || name.len() > 64 {
            return Err(format!("key {name:?}: expected name:key[:per_second] with a name of 1-64 bytes"));
        }
        if key.len() < 16 {
            return Err(format!("key {name:?} is shorter than 16 characters"));
        }
        Ok(Self { name: name.to_owned(), key: key.to_owned(), per_second })
    }
}

/// An IP address or a CIDR block.
fn parse_proxy(entry: &str) -> Result<ipnet::IpNet, String> {
    entry
        .parse::<ipnet::IpNet>()
        .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|e| format!("{entry:?} is not an IP address or CIDR block: {e}"))
}

/// A comma-separated variable, each entry parsed by `parse`.
fn list<T>(name: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, EnvError> {
    let Some(value) = env::var(name) else { return Ok(Vec::new()) };
    value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            parse(entry).map_err(|reason| EnvError {
                name: name.to_owned(),
                // The value may hold secrets (API keys): never echo it.
                value: "(hidden)".into(),
                reason,
            })
        })
        .collect()
}
