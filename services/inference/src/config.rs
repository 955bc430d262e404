//! Configuration of the inference service: each setting is one clap argument
//! with its environment variable, default and help (see `digits-inference
//! --help`; README's table is checked against it). The defaults suit a
//! single machine.

use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

use digits_preprocess::Limits;
use digits_service_kit::cli;

/// Where the model comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// The release built into the binary (`models/mnist/<version>/`).
    Embedded,
    /// A folder holding `model.onnx`, `model.json` and the golden fixture.
    Dir(PathBuf),
}

/// The inference server's settings, as the command line and the environment give them.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Address the gRPC server listens on
    #[arg(long, env = "DIGITS_INFERENCE_ADDR", default_value = "0.0.0.0:50051", value_name = "ADDR")]
    pub addr: SocketAddr,
    /// Model repository: `<name>/<version>/` folders of `model.onnx`, `model.json` and `golden.json`, and an optional `<name>/serving.json`; unset serves only the model built into the binary
    #[arg(long, env = "DIGITS_MODEL_REPOSITORY", value_name = "DIR")]
    pub model_repository: Option<PathBuf>,
    /// Seconds between reads of the model repository (new, changed and removed versions, `serving.json`); 0 reads it only at start
    #[arg(long, env = "DIGITS_MODEL_POLL_S", default_value = "10", value_name = "S")]
    pub model_poll_s: u64,
    /// Worker threads, each with its own model state; unset means one per core
    #[arg(long, env = "DIGITS_INFERENCE_WORKERS", value_name = "N")]
    pub workers: Option<NonZeroUsize>,
    /// Jobs that may wait for a worker; beyond it calls get `RESOURCE_EXHAUSTED`
    #[arg(long, env = "DIGITS_INFERENCE_QUEUE", default_value = "256", value_name = "N")]
    pub queue: NonZeroUsize,
    /// Most pixels in one image (decoded or raw)
    #[arg(long, env = "DIGITS_MAX_IMAGE_PIXELS", default_value = "4194304", value_name = "N")]
    pub max_image_pixels: NonZeroU64,
    /// Longest side of one image, in pixels
    #[arg(long, env = "DIGITS_MAX_IMAGE_SIDE", default_value = "4096", value_name = "N")]
    pub max_image_side: NonZeroU32,
    /// Most images in one `PredictBatch`
    #[arg(long, env = "DIGITS_MAX_BATCH", default_value = "256", value_name = "N")]
    pub max_batch: NonZeroUsize,
    /// Largest request message, in bytes
    #[arg(long, env = "DIGITS_MAX_MESSAGE_BYTES", default_value = "16777216", value_name = "BYTES")]
    pub max_message_bytes: NonZeroUsize,
    /// This replica's name, sent in the `digits-replica` response metadata; unset means `$HOSTNAME`, else `inference`
    #[arg(long, env = "DIGITS_INFERENCE_REPLICA", value_name = "NAME")]
    pub replica: Option<String>,
    /// Address of the admin HTTP port that serves Prometheus metrics at `/metrics`
    #[arg(long, env = "DIGITS_METRICS_ADDR", default_value = "0.0.0.0:9101", value_name = "ADDR")]
    pub metrics_addr: SocketAddr,
}

/// Settings of one inference server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address; port 0 picks a free port (tests).
    pub addr: SocketAddr,
    /// The model repository; none serves only the embedded model.
    pub repository: Option<PathBuf>,
    /// How often the repository is read again; zero: only at start.
    pub poll: Duration,
    /// Worker threads.
    pub workers: usize,
    /// Jobs that may wait for a worker.
    pub queue: usize,
    /// Image size limits.
    pub limits: Limits,
    /// Most images per `PredictBatch`.
    pub max_batch: usize,
    /// Largest request message in bytes.
    pub max_message_bytes: usize,
    /// This replica's name (the container's host name under Docker).
    pub replica: String,
    /// The admin port serving `/metrics`; port 0 picks a free port (tests).
    pub metrics_addr: SocketAddr,
}

impl From<Settings> for Config {
    fn from(s: Settings) -> Self {
        Self {
            addr: s.addr,
            repository: s.model_repository,
            poll: Duration::from_secs(s.model_poll_s),
            workers: s.workers.map_or_else(|| std::thread::available_parallelism().map_or(1, usize::from), usize::from),
            queue: s.queue.get(),
            limits: Limits { max_side: s.max_image_side.get(), max_pixels: s.max_image_pixels.get() },
            max_batch: s.max_batch.get(),
            max_message_bytes: s.max_message_bytes.get(),
            replica: s
                .replica
                .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
                .unwrap_or_else(|| "inference".into()),
            metrics_addr: s.metrics_addr,
        }
    }
}

impl Default for Config {
    /// The defaults of [`Settings`], whatever the environment says (but the
    /// replica name, which follows `$HOSTNAME`).
    fn default() -> Self {
        cli::defaults::<Settings>().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_documented_ones() {
        let config = Config::default();
        assert_eq!(config.addr, SocketAddr::from(([0, 0, 0, 0], 50051)));
        assert_eq!((config.repository, config.poll), (None, Duration::from_secs(10)));
        assert_eq!((config.queue, config.max_batch, config.max_message_bytes), (256, 256, 16 << 20));
        assert_eq!(config.limits, Limits::default(), "the preprocessing crate's limits");
        assert!(config.workers >= 1);
        assert_eq!(config.metrics_addr, SocketAddr::from(([0, 0, 0, 0], 9101)));
    }
}
