//! `cargo xtask fuzz [SECONDS]`: the fuzz target of decoding plus
//! preprocessing (`services/inference/fuzz`) under libFuzzer for a fixed time,
//! 300 s by default, starting from the seed images. Needs a nightly
//! toolchain (`rustup toolchain install nightly`); installs cargo-fuzz if
//! missing. A crash leaves its input in `services/inference/fuzz/artifacts/`
//! and fails the command.

use std::process::Command;

use crate::setup;

pub fn fuzz(seconds: u64) -> anyhow::Result<()> {
    if setup::on_path("cargo-fuzz").is_none() {
        setup::run(Command::new("cargo").args(["install", "cargo-fuzz", "--version", "0.13.2", "--locked"]))?;
    }
    let root = setup::root();
    let fuzz_dir = root.join("services/inference/fuzz");
    // libFuzzer grows this corpus; the seeds stay as committed.
    let corpus = root.join("target/fuzz-corpus/decode");
    std::fs::create_dir_all(&corpus)?;
    setup::run(
        Command::new("cargo")
            .args(["+nightly", "fuzz", "run", "--fuzz-dir"])
            .arg(&fuzz_dir)
            .args(["--target-dir", "target/fuzz", "decode"])
            .arg(&corpus)
            .arg(fuzz_dir.join("seeds"))
            .args(["--", &format!("-max_total_time={seconds}"), "-rss_limit_mb=2048", "-print_final_stats=1"])
            .current_dir(&root),
    )
}
