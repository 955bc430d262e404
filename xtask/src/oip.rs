//! `cargo xtask oip`: the real tritonclient (PyPI) against the Open
//! Inference Protocol on a local stack of the release binaries: the
//! gateway's REST endpoints and public gRPC port, and the inference
//! service's own gRPC port (`deploy/peers/test_tritonclient.py`).

use std::process::Command;

use crate::local_stack::{LocalStack, UNLIMITED};
use crate::setup;

pub fn oip_test() -> anyhow::Result<()> {
    let tools = setup::peers_venv()?;
    // The test is one client comparing a thousand answers.
    let stack = LocalStack::start(&UNLIMITED)?;
    setup::run(
        Command::new(tools.join("pytest"))
            .args(["-q", "-s", "-p", "no:cacheprovider", "deploy/peers/test_tritonclient.py"])
            .env("DIGITS_HTTP", stack.url.trim_start_matches("http://"))
            .env("DIGITS_GATEWAY_GRPC", &stack.grpc)
            .env("DIGITS_INFERENCE_GRPC", stack.inference_url.trim_start_matches("http://"))
            .env("DIGITS_MNIST_DIR", setup::mnist_dir()?),
    )
}
