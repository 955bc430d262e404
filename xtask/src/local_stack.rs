//! The three release binaries on free loopback ports, with SQLite and a
//! spool in a temporary folder: what the API contract test and the soak run
//! against. Dropping it stops the services with SIGTERM.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::setup;

/// Running services.
pub struct LocalStack {
    /// The gateway's HTTP base URL.
    pub url: String,
    /// The gateway's public gRPC address (host:port).
    pub grpc: String,
    /// The inference service's gRPC URL.
    pub inference_url: String,
    /// `host:port` of the inference service's metrics.
    pub inference_metrics: String,
    /// `host:port` of the logging service's metrics.
    pub logging_metrics: String,
    /// (name, process) of each service.
    pub services: Vec<(&'static str, Child)>,
    dir: PathBuf,
}

/// The rate limits of a stack driven by one fast client (a load generator, a
/// contract test): far above any pace, per caller and per address alike.
pub const UNLIMITED: [(&str, &str); 4] = [
    ("DIGITS_RATE_LIMIT", "1000000"),
    ("DIGITS_RATE_BURST", "1000000"),
    ("DIGITS_ADDRESS_RATE_LIMIT", "1000000"),
    ("DIGITS_ADDRESS_RATE_BURST", "1000000"),
];

/// The inference service's allocator setting, as its container image sets
/// it (`deploy/Dockerfile`): mimalloc commits memory as it is used.
pub const INFERENCE_ALLOCATOR: (&str, &str) = ("MIMALLOC_ARENA_EAGER_COMMIT", "0");

/// A port free on loopback now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl LocalStack {
    /// Starts inference, logging and the gateway (`gateway_env` added to
    /// its environment) and waits until `/readyz` is 200.
    pub fn start(gateway_env: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::start_all(&[], gateway_env)
    }

    /// Like [`Self::start`], with `env` added to every service's environment.
    pub fn start_all(env: &[(&str, &str)], gateway_env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let bin = setup::root().join("target/release");
        let dir = std::env::temp_dir().join(format!("digits-local-stack-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let (inference, logging) = (format!("127.0.0.1:{}", free_port()?), format!("127.0.0.1:{}", free_port()?));
        let (http, grpc) = (format!("127.0.0.1:{}", free_port()?), format!("127.0.0.1:{}", free_port()?));
        let (inference_metrics, logging_metrics) =
            (format!("127.0.0.1:{}", free_port()?), format!("127.0.0.1:{}", free_port()?));
        let log = |name: &str| -> anyhow::Result<Stdio> {
            Ok(std::fs::File::create(dir.join(format!("{name}.log")))?.into())
        };
        let mut stack = Self {
            url: format!("http://{http}"),
            grpc: grpc.clone(),
            inference_url: format!("http://{inference}"),
            inference_metrics: inference_metrics.clone(),
            logging_metrics: logging_metrics.clone(),
            services: Vec::new(),
            dir: dir.clone(),
        };
        let spawn = |name: &'static str, cmd: &mut Command| -> anyhow::Result<(&'static str, Child)> {
            cmd.envs(env.iter().copied());
            Ok((
                name,
                cmd.stdout(Stdio::null()).stderr(log(name)?).spawn().with_context(|| format!("starting {name}"))?,
            ))
        };
        stack.services.push(spawn(
            "inference",
            Command::new(bin.join("digits-inference"))
                .env(INFERENCE_ALLOCATOR.0, INFERENCE_ALLOCATOR.1)
                .env("DIGITS_INFERENCE_ADDR", &inference)
                .env("DIGITS_METRICS_ADDR", &inference_metrics),
        )?);
        stack.services.push(spawn(
            "logging",
            Command::new(bin.join("digits-logging"))
                .env("DIGITS_LOGGING_ADDR", &logging)
                .env("DIGITS_METRICS_ADDR", &logging_metrics)
                .env("DATABASE_URL", format!("sqlite://{}", dir.join("digits.db").display())),
        )?);
        let mut gateway = Command::new(bin.join("digits-gateway"));
        gateway
            .env("DIGITS_GATEWAY_ADDR", &http)
            .env("DIGITS_GATEWAY_GRPC_ADDR", &grpc)
            .env("DIGITS_INFERENCE_URL", format!("http://{inference}"))
            .env("DIGITS_LOGGING_URL", format!("http://{logging}"))
            .env("DIGITS_LOG_SPOOL_DIR", dir.join("spool"))
            .env("DIGITS_WEB_DIR", setup::root().join("web-ui/dist"));
        for (name, value) in gateway_env {
            gateway.env(name, value);
        }
        stack.services.push(spawn("gateway", &mut gateway)?);
        stack.wait_ready()?;
        Ok(stack)
    }

    fn wait_ready(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        let host = self.url.trim_start_matches("http://").to_owned();
        while started.elapsed() < Duration::from_secs(60) {
            if readyz_ok(&host) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        bail!("the local stack was not ready within 60 s; logs in {}", self.dir.display())
    }

    /// Resident memory of each service, in MiB.
    /// The folder of the services' log files (`gateway.log`, ...).
    pub fn logs(&self) -> &std::path::Path {
        &self.dir
    }

    pub fn rss_mib(&self) -> Vec<(&'static str, f64)> {
        self.services
            .iter()
            .map(|(name, child)| {
                let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
                let kib: f64 = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.split_whitespace().next()?.parse().ok())
                    .unwrap_or(0.0);
                (*name, kib / 1024.0)
            })
            .collect()
    }
}

/// Whether `GET /readyz` on `host` answers 200.
fn readyz_ok(host: &str) -> bool {
    readyz(host).is_some()
}

/// The answer of `GET /readyz` on `host` (headers and body) when it is 200.
pub fn readyz(host: &str) -> Option<String> {
    get_ok(host, "/readyz")
}

/// The answer of `GET path` on `host` (headers and body) when it is 200.
pub fn get_ok(host: &str, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n");
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).ok()?;
    stream.read_to_string(&mut answer).ok()?;
    answer.starts_with("HTTP/1.1 200").then_some(answer)
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        for (_, child) in self.services.iter_mut().rev() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
