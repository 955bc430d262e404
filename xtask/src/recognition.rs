//! `cargo xtask recognition`: the recognition figures of a model through the
//! serving pipeline. Writes the held-out drawings once
//! (`training/digits_training/recognition_set.py`, into
//! `target/recognition/`), then reads them with the release build of
//! `services/inference/examples/recognition.rs`: canvas digits per style,
//! numbers of 2 to 4 digits read exactly, and drawings that are not digits
//! rejected, at the model's threshold and at others.

use std::path::Path;
use std::process::Command;

use crate::setup;

pub fn recognition(model: Option<&Path>) -> anyhow::Result<()> {
    let mnist = setup::mnist_dir()?;
    let python = setup::python_venv()?;
    let root = setup::root();
    let set = root.join("target/recognition");
    if !set.join("index.json").is_file() {
        setup::run(
            Command::new(python)
                .args(["-m", "digits_training.recognition_set", "--data"])
                .arg(&mnist)
                .arg("--out")
                .arg(&set)
                .current_dir(root.join("training")),
        )?;
    }
    let mut cmd = Command::new("cargo");
    cmd.args(["run", "--release", "-p", "digits-inference", "--example", "recognition", "--"]).arg(&set);
    if let Some(model) = model {
        cmd.env("DIGITS_MODEL_DIR", model);
    }
    setup::run(&mut cmd)
}
