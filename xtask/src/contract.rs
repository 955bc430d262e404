//! The API contract test: schemathesis, every check, against the OpenAPI
//! document the gateway serves, on a local stack of the release binaries.
//! Its settings are in `deploy/schemathesis.toml`.

use std::process::Command;

use crate::local_stack::{LocalStack, UNLIMITED};
use crate::setup;

/// The operators' token of the contract run (a test value, also in the toml).
const ADMIN_TOKEN: &str = "operators-token-for-the-contract-test";

pub fn contract() -> anyhow::Result<()> {
    let tools = setup::tools_venv()?;
    // schemathesis is one client sending far faster than a person.
    let stack = LocalStack::start(&[&UNLIMITED[..], &[("DIGITS_ADMIN_TOKEN", ADMIN_TOKEN)]].concat())?;
    setup::run(
        Command::new(tools.join("st"))
            .args(["--config-file", "deploy/schemathesis.toml"])
            .args(["run", &format!("{}/api/openapi.json", stack.url), "--url", &stack.url])
            .args(["--checks", "all", "--generation-deterministic", "--no-color"]),
    )
}
