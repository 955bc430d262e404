//! The Digits gateway. It serves the web app and a JSON API over HTTP
//! (axum), forwards images to the inference service over gRPC, balanced over
//! every replica the service name resolves to, queues each prediction for the
//! logging service without making the user wait, and offers the inference
//! gRPC API on its own port for developers.

pub mod admission;
pub mod cli;
pub mod client_addr;
pub mod config;
pub mod discovery;
pub mod error;
pub mod grpc_proxy;
pub mod http_server;
pub mod identity;
pub mod image_body;
pub mod inference;
pub mod log_queue;
pub mod openapi;
pub mod request_metrics;
pub mod routes;
pub mod spool;
pub mod startup;
pub mod state;
pub mod views;
