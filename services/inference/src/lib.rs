//! The Digits inference service.
//!
//! A tonic gRPC server (`digits.inference.v1.Inference`) that turns images into
//! MNIST form with [`digits_preprocess`] and runs the released CNN with tract.
//!
//! - [`cli`], [`config`]: the command line and the settings (environment variables).
//! - [`model`]: the model card and loading the ONNX file into an optimised, checked plan.
//! - [`golden`]: the golden fixture a model must reproduce before it serves.
//! - [`repository`]: versions in a folder, polled and swapped in without a restart; the canary.
//! - [`engine`]: the worker pool; each worker thread owns a tract state per version it runs.
//! - [`decode`]: request images (PNG/JPEG, raw pixels, ready MNIST) to their digits in MNIST form.
//! - [`reading`]: the verdict of a drawing's scored parts (digit, number, not a digit).
//! - [`service`]: the gRPC methods.
//! - [`startup`]: [`startup::Application`], which binds, serves and shuts down.

pub mod cli;
pub mod config;
pub mod decode;
pub mod engine;
pub mod error;
pub mod golden;
pub mod model;
pub mod reading;
pub mod repository;
pub mod service;
pub mod startup;
mod vector_registers;
