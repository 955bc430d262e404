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

    supervise(services)
}

/// Waits until Ctrl-C (which the terminal sends to every process of the
/// group, so each service shuts down gracefully) or until one service exits
/// by itself, e.g. because its port is taken; then asks the others to stop
/// with SIGTERM and waits for all of them.
fn supervise(mut services: Vec<Service>) -> anyhow::Result<()> {
    let mut failed = false;
    let mut stopping = false;
    while !services.is_empty() {
        let mut i = 0;
        while i < services.len() {
            if let Some(status) = services[i].child.try_wait()? {
                let service = services.remove(i);
                eprintln!("{} exited: {status}", service.name);
                // Killed by Ctrl-C's signal or exited 0: a clean stop.
                failed |= !status.success() && status.code().is_some();
                if !stopping {
                    stopping = true;
                    for other in &services {
                        let _ = Command::new("kill").args(["-TERM", &other.child.id().to_string()]).status();
                    }
                }
            } else {
                i += 1;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    anyhow::ensure!(!failed, "a service failed; see its log above");
    Ok(())
}
