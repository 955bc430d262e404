//! The base images (official ones, or the test stand-ins of
//! `deploy/test-images/` on a private engine) and the three Digits images.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use super::Engine;
use crate::deploy::SERVICES;
use crate::setup;

/// The base images the Dockerfiles and compose file name, with the stand-in
/// Dockerfile each is built from on a private engine (`None`: debootstrap).
const BASES: [(&str, Option<&str>); 5] = [
    ("debian:bookworm-slim", None),
    ("gcr.io/distroless/cc-debian12:nonroot", Some("distroless-cc.Dockerfile")),
    ("postgres:16-bookworm", Some("postgres.Dockerfile")),
    ("caddy:2", Some("caddy.Dockerfile")),
    ("prom/prometheus:v2.53.2", Some("prometheus.Dockerfile")),
];
/// The builder image, needed only to compile inside the build.
const RUST: &str = "rust:1.95-slim-bookworm";

/// Makes every base image available: pulled on an engine that reaches a
/// registry, built as a stand-in on the private one.
pub fn base_images(engine: &Engine, from_source: bool) -> anyhow::Result<()> {
    let mut wanted: Vec<(&str, Option<&str>)> = BASES.to_vec();
    if from_source {
        wanted.push((RUST, Some("rust.Dockerfile")));
    }
    for (tag, standin) in wanted {
        if engine.has_image(tag) {
            continue;
        }
        if !engine.is_private() {
            setup::run(engine.docker().args(["pull", tag]))?;
            continue;
        }
        match standin {
            None => import_debian(engine, tag)?,
            Some("rust.Dockerfile") => build_rust_standin(engine)?,
            Some(dockerfile) => {
                let dir = setup::root().join("deploy/test-images");
                setup::run(engine.docker().args(["build", "-q", "-t", tag, "-f"]).arg(dir.join(dockerfile)).arg(&dir))?;
            }
        }
        eprintln!("stand-in {tag}: built");
    }
    Ok(())
}

/// Imports a minimal bookworm root as `tag`; the root is made once with
/// debootstrap and kept in `~/.cache/digits` like any download.
fn import_debian(engine: &Engine, tag: &str) -> anyhow::Result<()> {
    import_root(engine, "bookworm-minbase.tar", &[], tag)
}

/// Imports a bookworm root with `packages` as `tag`; the root is made once
/// with debootstrap and kept in `~/.cache/digits/<tarball>`.
pub fn import_root(engine: &Engine, tarball: &str, packages: &[&str], tag: &str) -> anyhow::Result<()> {
    let tarball = setup::cache_dir().join(tarball);
    if !tarball.exists() {
        std::fs::create_dir_all(setup::cache_dir())?;
        let root = std::env::temp_dir().join(format!("digits-root-{}", std::process::id()));
        let mut debootstrap = Command::new("debootstrap");
        debootstrap.arg("--variant=minbase");
        if !packages.is_empty() {
            debootstrap.arg(format!("--include={}", packages.join(",")));
        }
        setup::run(debootstrap.arg("bookworm").arg(&root).arg(setup::debian_mirror()))?;
        // Written aside, then renamed: an interrupted run leaves no half tarball.
        let partial = tarball.with_extension("tar.partial");
        setup::run(Command::new("tar").arg("-C").arg(&root).arg("-cf").arg(&partial).arg("."))?;
        std::fs::rename(&partial, &tarball)?;
        std::fs::remove_dir_all(&root)?;
    }
    let input = std::fs::File::open(&tarball)?;
    let status = engine
        .docker()
        .args(["import", "-", tag])
        .stdin(input)
        .stdout(Stdio::null())
        .status()
        .context("docker import")?;
    if !status.success() {
        bail!("docker import of {} failed", tarball.display());
    }
    Ok(())
}

/// The Rust builder stand-in: this host's rustup toolchain and trust store
/// on the bookworm root.
fn build_rust_standin(engine: &Engine) -> anyhow::Result<()> {
    let home = PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?);
    let context = std::env::temp_dir().join(format!("digits-rust-standin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&context);
    let toolchain = "toolchains/stable-x86_64-unknown-linux-gnu";
    std::fs::create_dir_all(context.join("rustup/toolchains"))?;
    std::fs::create_dir_all(context.join("cargo/bin"))?;
    std::fs::copy(home.join(".rustup/settings.toml"), context.join("rustup/settings.toml"))?;
    setup::run(
        Command::new("cp").arg("-a").arg(home.join(".rustup").join(toolchain)).arg(context.join("rustup/toolchains/")),
    )?;
    std::fs::copy(home.join(".cargo/bin/rustup"), context.join("cargo/bin/rustup"))?;
    for proxy in ["cargo", "rustc"] {
        std::os::unix::fs::symlink("rustup", context.join("cargo/bin").join(proxy))?;
    }
    std::fs::copy("/etc/ssl/certs/ca-certificates.crt", context.join("ca-certificates.crt"))?;
    let dockerfile = setup::root().join("deploy/test-images/rust.Dockerfile");
    let result = setup::run(engine.docker().args(["build", "-q", "-t", RUST, "-f"]).arg(dockerfile).arg(&context));
    std::fs::remove_dir_all(&context)?;
    result
}

/// One built image: its total size and what it adds to its base image.
pub struct Built {
    /// `digits-<service>:<tag>`.
    pub image: String,
    /// Bytes, base included.
    pub size: u64,
    /// The runtime base image (the stand-in's size is not the official one's).
    pub base: String,
    /// Bytes of the image's own layers.
    pub own: u64,
}

/// Builds `digits-<service>:<tag>` for each service from `deploy/Dockerfile`.
pub fn build(engine: &Engine, from_source: bool, tag: &str) -> anyhow::Result<Vec<Built>> {
    let root = setup::root();
    if from_source {
        // Nothing of this host's build goes into the context.
        let _ = std::fs::remove_dir_all(root.join("target/container"));
    } else {
        stage_prebuilt(&root)?;
    }
    let dockerfile = std::fs::read_to_string(root.join("deploy/Dockerfile"))?;
    let mut built = Vec::new();
    for service in SERVICES {
        let image = format!("digits-{service}:{tag}");
        let binaries = if from_source { "BINARIES=source" } else { "BINARIES=prebuilt" };
        let started = std::time::Instant::now();
        setup::run(
            engine
                .docker()
                .args(["build", "-f", "deploy/Dockerfile", "--target", service, "--build-arg", binaries, "-t"])
                .arg(&image)
                .arg("."),
        )?;
        eprintln!("{image}: built in {:.0} s", started.elapsed().as_secs_f64());
        let base = runtime_base(&dockerfile, service).context("no `FROM <base> AS <service>` in deploy/Dockerfile")?;
        let size = image_size(engine, &image)?;
        let own = size.saturating_sub(image_size(engine, &base)?);
        built.push(Built { image, size, base, own });
    }
    Ok(built)
}

/// The image the `<service>` target starts from (`FROM <base> AS <service>`).
fn runtime_base(dockerfile: &str, service: &str) -> Option<String> {
    dockerfile.lines().find_map(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["FROM", base, as_, name] if as_.eq_ignore_ascii_case("as") && *name == service => Some((*base).to_owned()),
            _ => None,
        }
    })
}

fn image_size(engine: &Engine, image: &str) -> anyhow::Result<u64> {
    let out = engine.docker().args(["image", "inspect", "-f", "{{.Size}}", image]).output()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().with_context(|| format!("size of {image}"))
}

/// Puts the release binaries, the built web app and the gateway's empty
/// spool folder into `target/container/`,
/// the one part of `target/` in the build context (`.dockerignore`).
fn stage_prebuilt(root: &Path) -> anyhow::Result<()> {
    let staged = root.join("target/container");
    let _ = std::fs::remove_dir_all(&staged);
    std::fs::create_dir_all(&staged)?;
    for service in SERVICES {
        let binary = format!("digits-{service}");
        std::fs::copy(root.join("target/release").join(&binary), staged.join(&binary))
            .with_context(|| format!("staging {binary}"))?;
    }
    setup::run(Command::new("cp").arg("-r").arg(root.join("web-ui/dist")).arg(staged.join("web")))?;
    // The gateway's (empty) spool folder, owned by its user in the image.
    std::fs::create_dir_all(staged.join("spool"))?;
    Ok(())
}
