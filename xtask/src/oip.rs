//! `cargo xtask oip`: the real tritonclient (PyPI) against the Open
//! Inference Protocol on a local stack of the release binaries: the
//! gateway's REST endpoints and public gRPC port, and the inference
//! service's own gRPC port (`deploy/peers/test_tritonclient.py`).

use std::process::Command;

use crate::local_stack::LocalStack;
use crate::setup;

pub fn oip_test() -> anyhow::Result<()> {
    let tools = setup::peers_venv()?;
    let stack = LocalStack::start(&[
        // The test is one client comparing a thousand answers.
        ("DIGITS_RATE_LIMIT", "100000"),
        ("DIGITS_RATE_BURST", "100000"),
    ])?;
    setup::run(
        Command::new(tools.join("pytest"))
            .args(["-q", "-s", "-p", "no:cacheprovider", "deploy/peers/test_tritonclient.py"])
            .env("DIGITS_HTTP", stack.url.trim_start_matches("http://"))
            .env("DIGITS_GATEWAY_GRPC", &stack.grpc)
            .env("DIGITS_INFERENCE_GRPC", stack.inference_url.trim_start_matches("http://"))
            .env("DIGITS_MNIST_DIR", setup::mnist_dir()?),
    )
}
