//! `cargo xtask traces`: the three release binaries export their spans to a
//! real OTLP/gRPC receiver (`deploy/peers/test_traces.py`, built on the
//! OpenTelemetry protocol definitions), which checks that one request's
//! trace reaches every service, in their spans and in their log lines.

use std::process::Command;

use crate::local_stack::{LocalStack, free_port};
use crate::setup;

pub fn traces_test() -> anyhow::Result<()> {
    let tools = setup::peers_venv()?;
    let port = free_port()?.to_string();
    let endpoint = format!("http://127.0.0.1:{port}");
    let stack = LocalStack::start_all(
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            // Export within a fifth of a second rather than five.
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
            // The request's own lines are at debug level.
            ("RUST_LOG", "info,digits_gateway=debug,digits_inference=debug,digits_logging=debug,tower_http=debug"),
        ],
        &[],
    )?;
    setup::run(
        Command::new(tools.join("pytest"))
            .args(["-q", "-s", "-p", "no:cacheprovider", "deploy/peers/test_traces.py"])
            .env("DIGITS_HTTP", stack.url.trim_start_matches("http://"))
            .env("DIGITS_GATEWAY_GRPC", &stack.grpc)
            .env("DIGITS_OTLP_PORT", &port)
            .env("DIGITS_LOGS_DIR", stack.logs())
            .env("DIGITS_MNIST_DIR", setup::mnist_dir()?),
    )
}
