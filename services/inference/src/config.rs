//! Configuration of the inference service. Every setting is an environment
//! variable with a default that suits a single machine:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DIGITS_INFERENCE_ADDR` | `0.0.0.0:50051` | address the gRPC server listens on |
//! | `DIGITS_MODEL_DIR` | *(embedded model)* | folder with `model.onnx` and `model.json`; unset serves the model built into the binary |
//! | `DIGITS_INFERENCE_WORKERS` | number of cores | worker threads, each with its own model state |
//! | `DIGITS_INFERENCE_QUEUE` | `256` | jobs that may wait for a worker; beyond it calls get `RESOURCE_EXHAUSTED` |
//! | `DIGITS_MAX_IMAGE_PIXELS` | `4194304` | most pixels in one image (decoded or raw) |
//! | `DIGITS_MAX_IMAGE_SIDE` | `4096` | longest side of one image |
//! | `DIGITS_MAX_BATCH` | `256` | most images in one `PredictBatch` |
//! | `DIGITS_MAX_MESSAGE_BYTES` | `16777216` | largest request message |
//! | `DIGITS_INFERENCE_REPLICA` | `$HOSTNAME`, else `inference` | this replica's name, sent in the `digits-replica` response metadata |
//!
//! Logging is set by `RUST_LOG` and `DIGITS_LOG_FORMAT` (see `digits_service_kit::telemetry`).

use std::net::SocketAddr;
use std::path::PathBuf;

use digits_preprocess::Limits;
use digits_service_kit::env::{self, EnvError};

/// Where the model comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// The release built into the binary (`models/mnist/<version>/`).
    Embedded,
    /// A folder holding `model.onnx` and `model.json`.
    Dir(PathBuf),
}

/// Settings of one inference server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address; port 0 picks a free port (tests).
    pub addr: SocketAddr,
    /// The model to serve.
    pub model: ModelSource,
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
}

impl Config {
    /// Reads the configuration from the environment.
    ///
    /// # Errors
    /// When a variable is set to an unusable value.
    pub fn from_env() -> Result<Self, EnvError> {
        let defaults = Self::default();
        Ok(Self {
            addr: env::var_or("DIGITS_INFERENCE_ADDR", defaults.addr)?,
            model: env::var("DIGITS_MODEL_DIR").map_or(ModelSource::Embedded, |d| ModelSource::Dir(d.into())),
            workers: env::positive_or("DIGITS_INFERENCE_WORKERS", defaults.workers)?,
            queue: env::positive_or("DIGITS_INFERENCE_QUEUE", defaults.queue)?,
            limits: Limits {
                max_side: env::positive_or("DIGITS_MAX_IMAGE_SIDE", defaults.limits.max_side)?,
                max_pixels: env::positive_or("DIGITS_MAX_IMAGE_PIXELS", defaults.limits.max_pixels)?,
            },
            max_batch: env::positive_or("DIGITS_MAX_BATCH", defaults.max_batch)?,
            max_message_bytes: env::positive_or("DIGITS_MAX_MESSAGE_BYTES", defaults.max_message_bytes)?,
            replica: env::var("DIGITS_INFERENCE_REPLICA").or_else(|| env::var("HOSTNAME")).unwrap_or(defaults.replica),
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([0, 0, 0, 0], 50051)),
            model: ModelSource::Embedded,
            workers: std::thread::available_parallelism().map_or(1, usize::from),
            queue: 256,
            limits: Limits::default(),
            max_batch: 256,
            max_message_bytes: 16 * 1024 * 1024,
            replica: "inference".into(),
        }
    }
}
