//! `cargo xtask containers`: builds the three images from `deploy/Dockerfile`
//! and runs the compose scenarios (`deploy/tests/test_stack.py`) against the
//! real `deploy/docker-compose.yml`. `cargo xtask swarm` deploys the same
//! images and compose file to a Swarm of three engine nodes
//! (`deploy/tests/test_swarm.py`, see [`swarm`]).
//!
//! Options:
//! - `--from-source`: compile inside the image build, as an operator's
//!   `docker compose build` does, and print how long it took. Without it the
//!   build stage takes the release binaries and web app built on this host
//!   (`BINARIES=prebuilt`); the runtime stages are the same either way.
//! - `--build-only`: build and report the images, run no scenario.
//!
//! A Docker engine that already answers is used as it is. Otherwise, as
//! root, a private `dockerd` is started on a socket and data folder of its
//! own, and everything it held is removed when the command ends. No registry
//! answers here, so on a private engine the official base images are
//! replaced by the test stand-ins of `deploy/test-images/`.

mod engine;
mod images;
mod swarm;

use std::process::Command;
use std::time::Instant;

use anyhow::bail;

use crate::{deploy, setup, web};

pub use engine::Engine;

/// The image tag of the images under test.
const TAG: &str = "test";

pub fn containers(from_source: bool, build_only: bool) -> anyhow::Result<()> {
    if !from_source {
        web::build()?;
        deploy::release_builds()?;
    }
    let images = Images::build(from_source)?;
    if build_only {
        return Ok(());
    }
    images.compose_scenarios()
}

/// `cargo xtask swarm`: the images from this host's release binaries, then
/// the Swarm scenarios.
pub fn swarm() -> anyhow::Result<()> {
    web::build()?;
    deploy::release_builds()?;
    Images::build(false)?.swarm_scenarios()
}

/// The three images under test, in an engine that lives as long as this
/// value: the compose and Swarm steps of `cargo xtask test` share them.
pub struct Images {
    engine: Engine,
    tools: std::path::PathBuf,
}

impl Images {
    /// Starts (or finds) the engine, makes the base images and builds the
    /// three images, from source or from this host's binaries.
    pub fn build(from_source: bool) -> anyhow::Result<Self> {
        let tools = setup::tools_venv()?;
        let engine = Engine::start()?;
        images::base_images(&engine, from_source)?;
        let started = Instant::now();
        let built = images::build(&engine, from_source, TAG)?;
        eprintln!(
            "\nimages built ({}) in {:.0} s:",
            if from_source { "from source" } else { "from the host's binaries" },
            started.elapsed().as_secs_f64()
        );
        for b in &built {
            eprintln!(
                "  {:<24} {:>6.1} MB, of which {:>5.1} MB on top of {}{}",
                b.image,
                b.size as f64 / 1e6,
                b.own as f64 / 1e6,
                b.base,
                if engine.is_private() { " (stand-in)" } else { "" }
            );
        }
        Ok(Self { engine, tools })
    }

    /// The compose scenarios on one engine.
    pub fn compose_scenarios(&self) -> anyhow::Result<()> {
        scenarios(&self.engine, &self.tools)
    }

    /// The Swarm scenarios on three engine nodes.
    pub fn swarm_scenarios(&self) -> anyhow::Result<()> {
        swarm::scenarios(&self.engine, &self.tools, TAG)
    }
}

/// Runs the scenarios with pytest against the images tagged [`TAG`].
fn scenarios(engine: &Engine, tools: &std::path::Path) -> anyhow::Result<()> {
    let mut pytest = Command::new(tools.join("pytest"));
    pytest
        .args(["-v", "-s", "-p", "no:cacheprovider", "deploy/tests/test_stack.py"])
        .envs(engine.env())
        .env("DIGITS_DOCKER", &engine.client)
        .env("DIGITS_COMPOSE", &engine.compose)
        .env("DIGITS_TAG", TAG)
        .env("DIGITS_MNIST_DIR", setup::mnist_dir()?);
    if let Err(e) = setup::run(&mut pytest) {
        engine.dump_logs();
        bail!("container scenarios failed: {e:#}");
    }
    Ok(())
}
