//! `cargo xtask bench`: the Rust inference benchmark, then the onnxruntime
//! and PyTorch one on the same model, so the figures come from one run.

use std::process::Command;

use crate::setup;

pub fn bench() -> anyhow::Result<()> {
    let mnist = setup::mnist_dir()?;
    setup::run(
        Command::new("cargo")
            .args(["bench", "-p", "digits-inference", "--bench", "inference"])
            .env("DIGITS_MNIST_DIR", &mnist),
    )?;
    let python = setup::python_venv()?;
    let mut cmd = Command::new(python);
    cmd.arg("bench.py").arg("--mnist-dir").arg(&mnist).current_dir(setup::root().join("training"));
    eprintln!("$ (cd training && python bench.py)");
    anyhow::ensure!(cmd.status()?.success(), "training/bench.py failed");
    Ok(())
}
