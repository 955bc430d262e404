//! The project's commands, run as `cargo xtask <command>` from anywhere in the repository:
//!
//! - `run`: builds and starts the services locally with the embedded defaults.
//! - `test`: installs what is missing, then runs every check and test suite.
//! - `web`: builds the web app into `web-ui/dist`.
//! - `bench`: the inference benchmark beside the onnxruntime/PyTorch one.
//! - `containers`: builds the images and runs the compose scenarios.
//!
//! Each command sets up what it needs itself (the wasm target, the Python
//! venv) so that a fresh machine needs nothing but Rust and Python.

mod bench;
mod containers;
mod contract;
mod deploy;
mod docs;
mod fuzz;
mod local_stack;
mod run;
mod setup;
mod soak;
mod test;
mod web;

use anyhow::bail;

/// Runs the command; a failure prints its chain of causes, not a backtrace
/// of xtask's own frames, and exits 1.
fn main() {
    if let Err(error) = command() {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

fn command() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = &args[args.len().min(1)..];
    match args.first().map(String::as_str) {
        Some("run") => run::run(rest),
        Some("test") => test::test(rest),
        Some("bench") => bench::bench(rest),
        Some("web") => web::web(rest),
        Some("containers") => containers::containers(rest),
        Some("soak") => soak::soak(rest),
        Some("contract") => contract::contract(),
        Some("fuzz") => fuzz::fuzz(rest),
        _ => bail!(
            "usage: cargo xtask <command>\n\n  run     build and start Digits locally\n  test    \
             install what is missing and run every test\n  web     build the web app into web-ui/dist\n  bench   inference benchmarks (tract vs onnxruntime)\n  containers  build the images and run the compose scenarios (--from-source, --build-only)\n  contract  schemathesis against the served OpenAPI (release binaries already built)\n  soak    60 s of mixed load at concurrency 64 on a local stack, with each service's memory ([SECONDS] [CONCURRENCY])\n  fuzz    decoding and preprocessing under libFuzzer for a fixed time ([SECONDS], nightly)"
        ),
    }
}
