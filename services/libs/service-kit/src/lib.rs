//! Shared plumbing of the Digits services, so each concern has one definition:
//!
//! - [`env`]: reading configuration from environment variables;
//! - [`telemetry`]: the one tracing setup (env filter, text or JSON);
//! - [`shutdown`]: the one graceful-shutdown signal (Ctrl-C or SIGTERM);
//! - [`grpc`]: what every gRPC server sets up the same way: reflection,
//!   health status and the listener;
//! - [`healthcheck`]: the gRPC health probe behind each binary's `healthcheck`
//!   subcommand, used by container health checks.

pub mod env;
pub mod grpc;
pub mod healthcheck;
pub mod shutdown;
pub mod telemetry;
