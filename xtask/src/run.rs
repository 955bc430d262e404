//! `cargo xtask run`: builds the services in release mode and runs them
//! locally with the embedded defaults until Ctrl-C, which stops them cleanly.

use std::process::{Child, Command};

use anyhow::Context;

use crate::setup;

/// One service process.
struct Service {
    name: &'static str,
    child: Child,
}

pub fn run(_args: &[String]) -> anyhow::Result<()> {
    setup::run(Command::new("cargo").args(["build", "--release", "-p", "digits-inference", "-p", "digits-logging"]))?;
    let bin = setup::root().join("target/release");
    let addr = std::env::var("DIGITS_INFERENCE_ADDR").unwrap_or_else(|_| "127.0.0.1:50051".into());
    let logging_addr = std::env::var("DIGITS_LOGGING_ADDR").unwrap_or_else(|_| "127.0.0.1:50052".into());
    // The embedded default: a SQLite file in the repository (git-ignored).
    let database = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://digits.db".into());
    let services = vec![
        Service {
            name: "inference",
            child: Command::new(bin.join("digits-inference"))
                .env("DIGITS_INFERENCE_ADDR", &addr)
                .spawn()
                .context("starting digits-inference")?,
        },
        Service {
            name: "logging",
            child: Command::new(bin.join("digits-logging"))
                .env("DIGITS_LOGGING_ADDR", &logging_addr)
                .env("DATABASE_URL", &database)
                .spawn()
                .context("starting digits-logging")?,
        },
    ];
    eprintln!("\nDigits inference gRPC API: http://{addr}");
    eprintln!("Digits logging gRPC API:   http://{logging_addr}  ({database})");
    eprintln!("Ctrl-C stops everything.");
    eprintln!("try: target/release/digits-inference predict some-digit.png --addr http://{addr}\n");

    // Ctrl-C reaches the whole process group, so every service gets SIGINT
    // and shuts down gracefully; wait for all of them.
    let mut failed = false;
    for mut service in services {
        let status = service.child.wait()?;
        eprintln!("{} exited: {status}", service.name);
        failed |= !status.success() && status.code().is_some();
    }
    anyhow::ensure!(!failed, "a service failed");
    Ok(())
}
