//! `cargo xtask containers`: builds the three images from `deploy/Dockerfile`
//! and runs the compose scenarios (`deploy/tests/test_stack.py`) against the
//! real `deploy/docker-compose.yml`.
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
    build_and_run(from_source, build_only)
}

/// The step of `cargo xtask test`, after its web app and release builds:
/// images from those binaries, then every scenario.
pub fn test_step() -> anyhow::Result<()> {
    build_and_run(false, false)
}

fn build_and_run(from_source: bool, build_only: bool) -> anyhow::Result<()> {
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
    if build_only {
        return Ok(());
    }
    scenarios(&engine, &tools)
}

/// Runs the scenarios with pytest against the images tagged [`TAG`].
fn scenarios(engine: &Engine, tools: &std::path::Path) -> anyhow::Result<()> {
    let mut pytest = Command::new(tools.join("pytest"));
    pytest
        .args(["-v", "-s", "-p", "no:cacheprovider", "deploy/tests"])
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
