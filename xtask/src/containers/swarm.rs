//! The Swarm scenarios: three Docker engines, each a container of the test's
//! engine with its own `dockerd`, joined in one Swarm; a registry they pull
//! from; the stack of `deploy/docker-compose.yml` + `deploy/swarm.yml`
//! deployed with `docker stack deploy` (`deploy/tests/test_swarm.py`).
//!
//! This module makes the two images that stand in for machines and the
//! registry (see `deploy/test-images/README.md`); the test makes and removes
//! everything else.

use std::path::Path;
use std::process::Command;

use anyhow::bail;

use super::{Engine, images};
use crate::setup;

/// A server with Docker Engine: bookworm with Debian's `docker.io`.
pub const NODE_IMAGE: &str = "digits-swarm-node:stand-in";
/// Debian's `docker-registry`.
pub const REGISTRY_IMAGE: &str = "digits-registry:stand-in";
/// A node's packages: the engine and the tools its `dockerd` calls.
const NODE_PACKAGES: [&str; 5] = ["docker.io", "iptables", "ca-certificates", "iproute2", "procps"];

/// Builds the node and registry stand-ins when the engine lacks them.
pub fn stand_ins(engine: &Engine) -> anyhow::Result<()> {
    if !engine.has_image(NODE_IMAGE) {
        images::import_root(engine, "bookworm-docker-node.tar", &NODE_PACKAGES, NODE_IMAGE)?;
        eprintln!("stand-in {NODE_IMAGE}: built");
    }
    if !engine.has_image(REGISTRY_IMAGE) {
        let dir = setup::root().join("deploy/test-images");
        setup::run(
            engine
                .docker()
                .args(["build", "-q", "-t", REGISTRY_IMAGE, "-f"])
                .arg(dir.join("registry.Dockerfile"))
                .arg(&dir),
        )?;
        eprintln!("stand-in {REGISTRY_IMAGE}: built");
    }
    Ok(())
}

/// Runs `deploy/tests/test_swarm.py` against the images tagged `tag`.
pub fn scenarios(engine: &Engine, tools: &Path, tag: &str) -> anyhow::Result<()> {
    stand_ins(engine)?;
    let mut pytest = Command::new(tools.join("pytest"));
    pytest
        .args(["-v", "-s", "-p", "no:cacheprovider", "deploy/tests/test_swarm.py"])
        .envs(engine.env())
        .env("DIGITS_DOCKER", &engine.client)
        .env("DIGITS_STACK_DOCKER", setup::stack_client()?)
        .env("DIGITS_TAG", tag)
        .env("DIGITS_NODE_IMAGE", NODE_IMAGE)
        .env("DIGITS_REGISTRY_IMAGE", REGISTRY_IMAGE)
        .env("DIGITS_MNIST_DIR", setup::mnist_dir()?);
    if let Err(e) = setup::run(&mut pytest) {
        engine.dump_logs();
        bail!("Swarm scenarios failed: {e:#}");
    }
    Ok(())
}
