//! `cargo xtask soak [SECONDS] [CONCURRENCY]`: 60 s of mixed traffic at
//! concurrency 64 by default, against a local stack of the release
//! binaries, sampling each service's resident memory every 5 s. Prints the
//! load generator's tally and the memory at the start and the end.
//!
//! `--people` makes the visitors people at a person's pace, and
//! `--server-drafts` has them send the drafts the web app sent before it
//! read them itself: `cargo xtask soak 60 2000 --people` against
//! `cargo xtask soak 60 300 --people --server-drafts` shows how many people
//! drawing at once the machine carries, either way.

use std::process::Command;
use std::time::Duration;

use anyhow::Context;

use crate::local_stack::{LocalStack, UNLIMITED};
use crate::{deploy, setup};

pub fn soak(seconds: u64, concurrency: usize, pace: Option<&str>) -> anyhow::Result<()> {
    deploy::release_builds()?;
    setup::run(Command::new("cargo").args(["build", "--release", "-p", "digits-loadgen", "--bin", "soak"]))?;
    // One machine sends everything: the per-client rate would stop it.
    let stack = LocalStack::start(&UNLIMITED)?;
    let start = stack.rss_mib();
    let mut load = Command::new(setup::root().join("target/release/soak"))
        .args([stack.url.as_str(), &concurrency.to_string(), &seconds.to_string()])
        .args(pace)
        .spawn()
        .context("starting the load")?;
    let mut samples = vec![start.clone()];
    while load.try_wait()?.is_none() {
        std::thread::sleep(Duration::from_secs(5));
        samples.push(stack.rss_mib());
    }
    let end = stack.rss_mib();
    println!("\nsoak: {seconds} s at concurrency {concurrency}; resident memory (MiB):");
    for (i, (name, first)) in start.iter().enumerate() {
        let peak = samples.iter().map(|s| s[i].1).fold(0.0, f64::max);
        println!("  {name:<10} start {first:6.1}  end {:6.1}  peak {peak:6.1}", end[i].1);
    }
    Ok(())
}
