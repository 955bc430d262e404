//! Shared plumbing of the Digits services, so each concern has one definition:
//!
//! - [`cli`]: the command line of every binary (clap): settings from
//!   environment variables, defaults, and the README tables;
//! - [`telemetry`]: the one tracing setup (env filter, text or JSON);
//! - [`shutdown`]: the one graceful-shutdown signal (Ctrl-C or SIGTERM);
//! - [`grpc`]: [`grpc::GrpcServer`], the one way every gRPC service is
//!   served (health and reflection under the generated service name, the
//!   listener, the graceful stop), and reading a call's deadline;
//! - [`metrics`]: the one Prometheus recorder, build info, gRPC call
//!   metrics and the `/metrics` endpoint;
//! - [`healthcheck`]: the gRPC health probe behind each binary's `healthcheck`
//!   subcommand, used by container health checks.

pub mod cli;
pub mod grpc;
pub mod healthcheck;
pub mod metrics;
pub mod shutdown;
pub mod telemetry;
pub mod trace;
