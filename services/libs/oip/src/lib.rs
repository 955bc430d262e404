//! The Open Inference Protocol v2 (the "V2 inference protocol" of KServe,
//! also spoken by Triton) over Digits' own inference API, so that
//! `tritonclient`, `perf_analyzer` and KServe tooling can call the digit
//! model.
//!
//! Nothing here runs a model: a protocol request becomes a native
//! `PredictBatch` ([`Call::parse`]), and the native answer becomes the
//! protocol's ([`Call::respond`]). So limits, deadlines, admission, logging
//! and metrics are those of the native API wherever this is served:
//! [`OipService`] adapts any native `Inference` server (the inference
//! service's own, or the gateway's public one), and [`rest`] holds the JSON
//! forms the gateway serves under `/v2`.
//!
//! The model, its inputs and outputs are described in
//! `proto/oip/grpc_predict_v2.proto`.

mod call;
mod error;
pub mod rest;
mod service;

pub use call::{Call, Output, check_model, model_metadata, server_metadata};
pub use error::OipError;
pub use service::OipService;

/// The model's name in the protocol.
pub const MODEL: &str = "mnist";
/// The platform reported in the model's metadata: an ONNX model run by tract.
pub const PLATFORM: &str = "tract_onnx";
/// The FP32 input: `[N, 1, 28, 28]` pixels from 0.0 (paper) to 1.0 (ink).
pub const IMAGE_INPUT: &str = "image";
/// The BYTES input: `[N]` PNG or JPEG files.
pub const ENCODED_INPUT: &str = "encoded";
/// The protocol extensions the REST endpoints support.
pub const REST_EXTENSIONS: &[&str] = &["binary_tensor_data"];
