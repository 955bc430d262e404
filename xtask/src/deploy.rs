//! Checks of the deployment files that run without a Docker engine: the
//! compose file resolved by a real compose implementation and held to its
//! rules (`deploy/check_compose.py`), the Dockerfiles linted by hadolint, and
//! the release binaries built with the Dockerfiles' own command.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::setup;

/// The services with an image, as named in `deploy/<name>.Dockerfile`.
pub const SERVICES: [&str; 3] = ["inference", "logging", "gateway"];

/// Validates `deploy/docker-compose.yml` and lints the Dockerfiles.
pub fn check_files() -> anyhow::Result<()> {
    let root = setup::root();
    let compose = setup::docker_compose()?;
    // A throwaway .env: the real one holds secrets and is not in the repository.
    let env = std::env::temp_dir().join(format!("digits-compose-check-{}.env", std::process::id()));
    let example = std::fs::read_to_string(root.join("deploy/.env.example"))?;
    std::fs::write(&env, example.replace("POSTGRES_PASSWORD=\n", "POSTGRES_PASSWORD=only-for-the-check\n"))?;
    let resolved = Command::new(&compose)
        .arg("--env-file")
        .arg(&env)
        .args(["-f", "deploy/docker-compose.yml", "--profile", "https", "config"])
        .current_dir(&root)
        .output()
        .context("running docker-compose config")?;
    let _ = std::fs::remove_file(&env);
    if !resolved.status.success() {
        bail!("docker-compose config rejected the file:\n{}", String::from_utf8_lossy(&resolved.stderr));
    }
    let mut checker = Command::new("python3")
        .arg("deploy/check_compose.py")
        .current_dir(&root)
        .stdin(Stdio::piped())
        .spawn()
        .context("starting deploy/check_compose.py")?;
    checker.stdin.take().context("checker stdin")?.write_all(&resolved.stdout)?;
    if !checker.wait()?.success() {
        bail!("deploy/docker-compose.yml breaks the rules above");
    }

    let hadolint = setup::hadolint()?;
    let dockerfiles: Vec<PathBuf> = SERVICES.iter().map(|s| root.join(format!("deploy/{s}.Dockerfile"))).collect();
    setup::run(Command::new(hadolint).args(&dockerfiles))?;
    eprintln!("hadolint: {} Dockerfiles clean", dockerfiles.len());
    Ok(())
}

/// Builds each service's release binary exactly as its Dockerfile does.
pub fn release_builds() -> anyhow::Result<()> {
    for service in SERVICES {
        setup::run(Command::new("cargo").args(["build", "--release", "--locked", "-p", &format!("digits-{service}")]))?;
    }
    Ok(())
}
