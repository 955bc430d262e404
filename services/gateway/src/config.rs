//! Gateway configuration: each setting is one clap argument with its
//! environment variable, default and help (see `digits-gateway --help`;
//! README's table is checked against it).

use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

use digits_service_kit::cli;

/// The gateway's settings, as the command line and the environment give them.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// HTTP address: the web app and the JSON API
    #[arg(long, env = "DIGITS_GATEWAY_ADDR", default_value = "0.0.0.0:8080", value_name = "ADDR")]
    pub http_addr: SocketAddr,
    /// gRPC address: the inference API, forwarded to the replicas
    #[arg(long, env = "DIGITS_GATEWAY_GRPC_ADDR", default_value = "0.0.0.0:50050", value_name = "ADDR")]
    pub grpc_addr: SocketAddr,
    /// The inference service; its host name is re-resolved to find every replica
    #[arg(long, env = "DIGITS_INFERENCE_URL", default_value = "http://127.0.0.1:50051", value_name = "URL")]
    pub inference_url: String,
    /// The logging service; its host name is re-resolved to find every replica
    #[arg(long, env = "DIGITS_LOGGING_URL", default_value = "http://127.0.0.1:50052", value_name = "URL")]
    pub logging_url: String,
    /// How often the inference and logging replicas are re-resolved and probed, in milliseconds
    #[arg(long, env = "DIGITS_BACKEND_REFRESH_MS", default_value = "2000", value_name = "MS")]
    pub backend_refresh_ms: NonZeroU64,
    /// Deadline of one call to a backend, in milliseconds
    #[arg(long, env = "DIGITS_GRPC_TIMEOUT_MS", default_value = "5000", value_name = "MS")]
    pub grpc_timeout_ms: NonZeroU64,
    /// Largest image body of `POST /api/predictions`, in bytes (2 MiB); feedback takes at most 1 KiB
    #[arg(long, env = "DIGITS_MAX_BODY_BYTES", default_value = "2097152", value_name = "BYTES")]
    pub max_body_bytes: NonZeroUsize,
    /// Time a client has to send its request headers, and then its body, in seconds
    #[arg(long, env = "DIGITS_HTTP_READ_TIMEOUT_S", default_value = "10", value_name = "S")]
    pub http_read_timeout_s: NonZeroU64,
    /// Requests in progress at once, HTTP API and gRPC together; beyond it, 503 / `UNAVAILABLE` at once
    #[arg(long, env = "DIGITS_MAX_CONCURRENT", default_value = "128", value_name = "N")]
    pub max_concurrent: NonZeroUsize,
    /// Requests per second per caller: a browser (its visitor cookie), an API token, or an address without either (API and gRPC)
    #[arg(long, env = "DIGITS_RATE_LIMIT", default_value = "30", value_name = "N")]
    pub rate_limit: NonZeroU32,
    /// Requests a caller may send at once before its rate applies
    #[arg(long, env = "DIGITS_RATE_BURST", default_value = "60", value_name = "N")]
    pub rate_burst: NonZeroU32,
    /// Requests per second per client address, all its callers together (a class behind one NAT fits)
    #[arg(long, env = "DIGITS_ADDRESS_RATE_LIMIT", default_value = "120", value_name = "N")]
    pub address_rate_limit: NonZeroU32,
    /// Requests one address may send at once before its rate applies
    #[arg(long, env = "DIGITS_ADDRESS_RATE_BURST", default_value = "600", value_name = "N")]
    pub address_rate_burst: NonZeroU32,
    /// Comma-separated IPs or CIDRs of reverse proxies whose `X-Forwarded-For` names the client
    #[arg(long, env = "DIGITS_TRUSTED_PROXIES", value_name = "LIST")]
    pub trusted_proxies: Option<String>,
    /// Comma-separated `name:key` or `name:key:per_second`: developers' keys (`authorization: Bearer KEY`), each with its own rate (default `DIGITS_RATE_LIMIT`)
    #[arg(long, env = "DIGITS_API_KEYS", value_name = "LIST", hide_env_values = true)]
    pub api_keys: Option<String>,
    /// The operators' bearer token for the global history and the export; those views are off when unset
    #[arg(long, env = "DIGITS_ADMIN_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Bearer token Prometheus sends for `/metrics`; unset serves `/metrics` to loopback and private-network clients only
    #[arg(long, env = "DIGITS_METRICS_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Most images in one `PredictBatch` on the public gRPC port
    #[arg(long, env = "DIGITS_PUBLIC_MAX_BATCH", default_value = "16", value_name = "N")]
    pub public_max_batch: NonZeroUsize,
    /// Predictions waiting to be logged, at most
    #[arg(long, env = "DIGITS_LOG_QUEUE", default_value = "10000", value_name = "N")]
    pub log_queue: NonZeroUsize,
    /// Folder where queued predictions are kept on disk until stored, so a crash loses none
    #[arg(long, env = "DIGITS_LOG_SPOOL_DIR", default_value = "digits-spool", value_name = "DIR")]
    pub log_spool_dir: PathBuf,
    /// How long a shutdown waits for the queue to drain, in seconds
    #[arg(long, env = "DIGITS_LOG_FLUSH_TIMEOUT_S", default_value = "10", value_name = "S")]
    pub log_flush_timeout_s: u64,
    /// The built web app
    #[arg(long, env = "DIGITS_WEB_DIR", default_value = "web-ui/dist", value_name = "DIR")]
    pub web_dir: PathBuf,
    /// Comma-separated origins allowed to call the API from other sites; closed when unset
    #[arg(long, env = "DIGITS_CORS_ORIGINS", value_name = "LIST")]
    pub cors_origins: Option<String>,
}

/// Everything the gateway needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// HTTP listen address.
    pub http_addr: SocketAddr,
    /// gRPC listen address.
    pub grpc_addr: SocketAddr,
    /// The inference service, `http://HOST:PORT`.
    pub inference_url: String,
    /// Re-resolution and probe period of the inference and logging replicas.
    pub backend_refresh: Duration,
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
    /// Requests per second per caller.
    pub rate_limit: NonZeroU32,
    /// Requests a caller may send at once.
    pub rate_burst: NonZeroU32,
    /// Requests per second per client address, all callers together.
    pub address_rate_limit: NonZeroU32,
    /// Requests an address may send at once.
    pub address_rate_burst: NonZeroU32,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Developers' API keys.
    pub api_keys: Vec<ApiKey>,
    /// The operators' token; `None` turns the admin views off.
    pub admin_token: Option<Secret>,
    /// The token `/metrics` asks for; `None` serves it to private networks only.
    pub metrics_token: Option<Secret>,
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

impl TryFrom<Settings> for Config {
    type Error = ConfigError;

    fn try_from(s: Settings) -> Result<Self, ConfigError> {
        let rate_limit = s.rate_limit;
        Ok(Self {
            http_addr: s.http_addr,
            grpc_addr: s.grpc_addr,
            inference_url: s.inference_url,
            backend_refresh: Duration::from_millis(s.backend_refresh_ms.get()),
            logging_url: s.logging_url,
            grpc_timeout: Duration::from_millis(s.grpc_timeout_ms.get()),
            max_body_bytes: s.max_body_bytes.get(),
            read_timeout: Duration::from_secs(s.http_read_timeout_s.get()),
            max_concurrent: s.max_concurrent.get(),
            rate_limit,
            rate_burst: s.rate_burst,
            address_rate_limit: s.address_rate_limit,
            address_rate_burst: s.address_rate_burst,
            trusted_proxies: list("DIGITS_TRUSTED_PROXIES", s.trusted_proxies.as_deref(), parse_proxy)?,
            api_keys: list("DIGITS_API_KEYS", s.api_keys.as_deref(), |entry| ApiKey::parse(entry, rate_limit))?,
            admin_token: s.admin_token.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).map(Secret),
            metrics_token: s.metrics_token.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).map(Secret),
            public_max_batch: s.public_max_batch.get(),
            log_queue: s.log_queue.get(),
            log_spool_dir: s.log_spool_dir,
            log_flush_timeout: Duration::from_secs(s.log_flush_timeout_s),
            web_dir: s.web_dir,
            cors_origins: list("DIGITS_CORS_ORIGINS", s.cors_origins.as_deref(), |o| Ok(o.to_owned()))?,
        })
    }
}

impl Default for Config {
    /// The defaults of [`Settings`], whatever the environment says.
    fn default() -> Self {
        // The defaults hold no list, so they always convert.
        Self::try_from(cli::defaults::<Settings>()).unwrap_or_else(|error| panic!("the default settings: {error}"))
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

/// A setting is unusable. The message names the variable but never echoes
/// the value, which may hold secrets (API keys).
#[derive(Debug, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// Why it was refused.
    pub reason: String,
}

/// The comma-separated entries of `value`, each parsed by `parse`.
fn list<T>(
    name: &'static str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, ConfigError> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| parse(entry).map_err(|reason| ConfigError { name, reason }))
        .collect()
}
