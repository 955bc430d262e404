//! Checks of the deployment files that run without a Docker engine: the
//! compose files resolved by Docker Compose v2 and held to their rules
//! (`deploy/check_compose.py`), the Swarm stack merged by `docker stack
//! config` and held to its own (`deploy/check_swarm.py`), the Dockerfiles
//! linted by hadolint, the Kubernetes manifests rendered, schema-validated
//! and held to their rules (`deploy/check_k8s.py`), and the release binaries
//! built with the Dockerfile's own command.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::setup;

/// The services with an image: the targets of `deploy/Dockerfile`.
pub const SERVICES: [&str; 3] = ["inference", "logging", "gateway"];

/// Validates the compose files and the Swarm stack, and lints the Dockerfiles.
pub fn check_files() -> anyhow::Result<()> {
    let root = setup::root();
    let tools = setup::tools_venv()?;
    // A throwaway password file: the real one holds a secret and is not in the repository.
    let secret = std::env::temp_dir().join(format!("digits-deploy-check-{}", std::process::id()));
    std::fs::write(&secret, "only-for-the-check\n")?;
    let result = (|| {
        let compose = resolved(
            Command::new(setup::docker_compose()?)
                .arg("--env-file")
                .arg(root.join("deploy/.env.example"))
                .args(["-f", "deploy/docker-compose.yml", "-f", "deploy/compose.https.yml"])
                .args(["-f", "deploy/compose.monitoring.yml", "config"])
                .env("DIGITS_POSTGRES_PASSWORD_FILE", &secret),
            "docker compose config",
        )?;
        check_rules(&tools, "deploy/check_compose.py", &compose)?;
        let stack = resolved(
            Command::new(setup::stack_client()?)
                .args(["stack", "config", "-c", "deploy/docker-compose.yml", "-c", "deploy/swarm.yml"])
                .env("DIGITS_POSTGRES_PASSWORD_FILE", &secret)
                .env("DIGITS_REGISTRY", "registry.example.com/digits")
                .env("DIGITS_TAG", "1.0.0"),
            "docker stack config",
        )?;
        check_rules(&tools, "deploy/check_swarm.py", &stack)
    })();
    let _ = std::fs::remove_file(&secret);
    result?;

    let mut dockerfiles = vec![root.join("deploy/Dockerfile")];
    for entry in std::fs::read_dir(root.join("deploy/test-images"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "Dockerfile") {
            dockerfiles.push(path);
        }
    }
    setup::run(Command::new(tools.join("hadolint")).args(&dockerfiles))?;
    eprintln!("hadolint: {} Dockerfiles clean", dockerfiles.len());
    kubernetes(&tools)
}

/// Renders the example overlay with `kubectl kustomize`, validates every
/// object against the Kubernetes schemas (`kubernetes-validate --strict`)
/// and holds the result to `deploy/check_k8s.py`'s rules.
fn kubernetes(tools: &Path) -> anyhow::Result<()> {
    // A copy with a throwaway password file: the real one is never committed.
    let copy = std::env::temp_dir().join(format!("digits-k8s-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&copy);
    std::fs::create_dir_all(&copy)?;
    setup::run(Command::new("cp").arg("-r").arg(setup::root().join("deploy/k8s")).arg(&copy))?;
    std::fs::write(copy.join("k8s/overlays/example/postgres-password"), "only-for-the-check")?;
    let rendered = Command::new(tools.join("kubectl"))
        .arg("kustomize")
        .arg(copy.join("k8s/overlays/example"))
        .output()
        .context("running kubectl kustomize")?;
    let manifests = copy.join("rendered.yaml");
    std::fs::write(&manifests, &rendered.stdout)?;
    let result = (|| {
        if !rendered.status.success() {
            bail!("kubectl kustomize failed:\n{}", String::from_utf8_lossy(&rendered.stderr));
        }
        setup::run(Command::new(tools.join("kubernetes-validate")).args(["--strict", "--quiet"]).arg(&manifests))?;
        check_rules(tools, "deploy/check_k8s.py", &rendered.stdout)
    })();
    let _ = std::fs::remove_dir_all(&copy);
    result
}

/// The standard output of a command that resolves deployment files, run in
/// the repository root; its error output when it refuses them.
fn resolved(cmd: &mut Command, what: &str) -> anyhow::Result<Vec<u8>> {
    let out = cmd.current_dir(setup::root()).output().with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!("{what} rejected the files:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(out.stdout)
}

/// Runs a rules checker (`deploy/check_*.py`) on `input`, given on stdin.
fn check_rules(tools: &Path, script: &str, input: &[u8]) -> anyhow::Result<()> {
    let mut checker = Command::new(tools.join("python"))
        .arg(script)
        .current_dir(setup::root())
        .stdin(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {script}"))?;
    checker.stdin.take().context("checker stdin")?.write_all(input)?;
    if !checker.wait()?.success() {
        bail!("{script}: the rules above are broken");
    }
    Ok(())
}

/// Builds the three services' release binaries in one cargo invocation, so
/// the dependencies they share compile once (a cold build takes about 7
/// minutes here instead of 8.5 for three separate ones), and with them the
/// inference examples that read the recognition and photo sets. Those need
/// the packages' dev-dependencies, which change the features the shared
/// dependencies resolve to: built apart, with `cargo run -p
/// digits-inference --example photos`, they compiled about 90 crates again
/// (5 minutes). Built here, they cost their own code.
pub fn release_builds() -> anyhow::Result<()> {
    setup::run(
        Command::new("cargo")
            .args(["build", "--release", "--locked"])
            .args(service_packages())
            .arg("--bins")
            .args(RELEASE_EXAMPLES.iter().flat_map(|example| ["--example", example])),
    )
}

/// The three services' release binaries alone, for `cargo xtask run`: the
/// quickest first start. Their shared dependencies resolve to other
/// features than in [`release_builds`], so after one the other compiles
/// them again.
pub fn release_bins() -> anyhow::Result<()> {
    setup::run(Command::new("cargo").args(["build", "--release", "--locked"]).args(service_packages()))
}

/// The inference examples [`release_builds`] builds.
const RELEASE_EXAMPLES: [&str; 2] = ["recognition", "photos"];

/// The release build of an inference example of [`RELEASE_EXAMPLES`],
/// built with the services if it is not yet.
pub fn release_example(name: &str) -> anyhow::Result<PathBuf> {
    anyhow::ensure!(RELEASE_EXAMPLES.contains(&name), "{name} is not built with the release binaries");
    release_builds()?;
    Ok(setup::root().join("target/release/examples").join(name))
}

fn service_packages() -> impl Iterator<Item = String> {
    SERVICES.iter().flat_map(|service| ["-p".to_owned(), format!("digits-{service}")])
}
