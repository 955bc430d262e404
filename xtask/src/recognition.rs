//! `cargo xtask recognition`: the recognition figures of a model through the
//! serving pipeline. Writes the held-out drawings once
//! (`training/digits_training/recognition_set.py`, into
//! `target/recognition/`), then reads them with the release build of
//! `services/inference/examples/recognition.rs`: canvas digits per style,
//! numbers of 2 to 4 digits read exactly, and drawings that are not digits
//! rejected, at the model's threshold and at others. Then the same for
//! photo-like pictures of digits on paper (`digits_training.photos`, into
//! `target/recognition-photos/`), read by `examples/photos.rs` the two ways
//! a photo is read: as a request's JPEG, and in the page's canvas.

use std::path::Path;
use std::process::Command;

use crate::{deploy, setup};

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
    let mut cmd = Command::new(deploy::release_example("recognition")?);
    cmd.arg(&set);
    if let Some(model) = model {
        cmd.env("DIGITS_MODEL_DIR", model);
    }
    setup::run(&mut cmd)?;

    let photos = root.join("target/recognition-photos");
    if !photos.join("index.json").is_file() {
        write_photos(&photos, &["--digits", "600", "--numbers", "100"])?;
    }
    read_photos(&photos, model, &[])
}

/// Writes photo-like pictures (`digits_training.photos`) into `out`.
pub fn write_photos(out: &Path, options: &[&str]) -> anyhow::Result<()> {
    let python = setup::python_venv()?;
    setup::run(
        Command::new(python)
            .args(["-m", "digits_training.photos", "--data"])
            .arg(setup::mnist_dir()?)
            .arg("--out")
            .arg(out)
            .args(options)
            .current_dir(setup::root().join("training")),
    )
}

/// Reads the photos in `dir` through the serving pipeline and the page's path.
pub fn read_photos(dir: &Path, model: Option<&Path>, options: &[&str]) -> anyhow::Result<()> {
    let mut cmd = Command::new(deploy::release_example("photos")?);
    cmd.arg(dir).args(options);
    if let Some(model) = model {
        cmd.env("DIGITS_MODEL_DIR", model);
    }
    setup::run(&mut cmd)
}

/// The test command's photo step: a small set, fresh each run (its seed fixed),
/// that must still be read as well as the pipeline reads it today.
pub fn photos_test() -> anyhow::Result<()> {
    let dir = setup::root().join("target/test-photos");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    write_photos(&dir, &["--digits", "80", "--numbers", "15", "--max-side", "2400", "--seed", "7"])?;
    read_photos(&dir, None, &["--require-digits", "92", "--require-numbers", "90"])
}
