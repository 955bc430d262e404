//! `cargo xtask test`: every check and suite, in the order that fails fastest.
//!
//! Options: `--skip-python` leaves out the training tests (and the venv).
//!
//! The web app is built first (`cargo xtask web`): the browser test serves it.
//! The container step builds the images from the release binaries of the
//! step before it and runs the compose scenarios (`cargo xtask containers`);
//! the Swarm step deploys the same images to three engine nodes (`cargo
//! xtask swarm`), and then the engine and all it held are removed.

use std::cell::RefCell;
use std::process::Command;
use std::time::Instant;

use anyhow::bail;

use crate::{containers, contract, deploy, lifecycle, oip, prometheus, recognition, setup, traces, web};

/// A named step of the test run.
type Step<'a> = (&'static str, Box<dyn Fn() -> anyhow::Result<()> + 'a>);

pub fn test(skip_python: bool) -> anyhow::Result<()> {
    setup::rust_tools()?;
    setup::postgres()?;
    setup::browser()?;
    let axe = setup::axe()?;
    let mnist = setup::mnist_dir()?;

    // The images of the container step, kept for the Swarm step.
    let images: RefCell<Option<containers::Images>> = RefCell::new(None);

    let mut steps: Vec<Step<'_>> = vec![
        ("format", Box::new(|| setup::run(Command::new("cargo").args(["fmt", "--all", "--check"])))),
        (
            "clippy",
            Box::new(|| {
                setup::run(Command::new("cargo").args([
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ]))
            }),
        ),
        (
            "clippy (wasm32 web app)",
            Box::new(|| {
                setup::run(Command::new("cargo").args([
                    "clippy",
                    "-p",
                    "digits-web-ui",
                    "--target",
                    "wasm32-unknown-unknown",
                    "--",
                    "-D",
                    "warnings",
                ]))?;
                // The model runtime's SIMD code, compiled only in the app's SIMD build.
                setup::run(
                    Command::new("cargo")
                        .args(["clippy", "-p", "digits-onnx-lite", "--target", "wasm32-unknown-unknown"])
                        .args(["--target-dir", "target/wasm-simd", "--", "-D", "warnings"])
                        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", "-C target-feature=+simd128"),
                )
            }),
        ),
        ("web app build", Box::new(|| web::build().map(|_| ()))),
        ("deploy files", Box::new(deploy::check_files)),
        (
            "rust tests",
            Box::new(|| {
                setup::run(
                    Command::new("cargo")
                        .args(["test", "--workspace"])
                        .env("DIGITS_MNIST_DIR", &mnist)
                        .env("DIGITS_AXE_JS", &axe),
                )
            }),
        ),
    ];
    steps.push(("release builds", Box::new(deploy::release_builds)));
    steps.push(("API contract (schemathesis)", Box::new(contract::contract)));
    steps.push(("metrics (Prometheus)", Box::new(prometheus::prometheus_test)));
    steps.push(("Open Inference Protocol (tritonclient)", Box::new(oip::oip_test)));
    steps.push(("traces (OTLP)", Box::new(traces::traces_test)));
    steps.push((
        "containers (images, compose scenarios)",
        Box::new(|| {
            let built = containers::Images::build(false)?;
            let result = built.compose_scenarios();
            *images.borrow_mut() = Some(built);
            result
        }),
    ));
    steps.push((
        "Swarm (three engine nodes)",
        Box::new(|| {
            // Dropped at the end of the step: the engine goes with it.
            let built = match images.borrow_mut().take() {
                Some(built) => built,
                None => containers::Images::build(false)?,
            };
            built.swarm_scenarios()
        }),
    ));
    if !skip_python {
        steps.push(("model lifecycle (retrain, canary)", Box::new(lifecycle::lifecycle_test)));
        steps.push((
            "photos of paper (generated, read as a request and in the page)",
            Box::new(recognition::photos_test),
        ));
        steps.push((
            "training tests",
            Box::new(|| {
                let python = setup::python_venv()?;
                setup::run(
                    Command::new(python)
                        .args(["-m", "pytest", "-q", "training/tests", "-p", "no:cacheprovider"])
                        .env("DIGITS_MNIST_DIR", &mnist),
                )
            }),
        ));
    }

    let mut failed = Vec::new();
    let mut report = Vec::new();
    for (name, step) in &steps {
        eprintln!("\n=== {name} ===");
        let started = Instant::now();
        let result = step();
        let secs = started.elapsed().as_secs_f64();
        report.push(format!("{:<40} {:>8.1}s  {}", name, secs, if result.is_ok() { "ok" } else { "FAILED" }));
        if let Err(e) = result {
            eprintln!("{name}: {e:#}");
            failed.push(*name);
        }
    }
    eprintln!("\n=== summary ===");
    for line in &report {
        eprintln!("{line}");
    }
    println!("xtask: {} passed, {} failed", steps.len() - failed.len(), failed.len());
    if !failed.is_empty() {
        bail!("failed: {}", failed.join(", "));
    }
    Ok(())
}
