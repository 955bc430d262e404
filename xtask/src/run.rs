//! `cargo xtask run`: builds the web app and the three services in release
//! mode and runs them locally with the embedded defaults (the committed
//! model, SQLite) until Ctrl-C, SIGTERM or SIGHUP (a supervisor, a closed
//! terminal), which stop them cleanly: no service outlives the command.

use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;

use crate::local_stack::INFERENCE_ALLOCATOR;
use crate::{deploy, setup, web};

/// One service process.
struct Service {
    name: &'static str,
    child: Child,
}

fn var_or(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned())
}

pub fn run() -> anyhow::Result<()> {
    let dist = web::build()?;
    // The binaries alone: the test command's build adds the recognition
    // readers, whose dev-dependencies cost a first start minutes.
    deploy::release_bins()?;
    let bin = setup::root().join("target/release");
    let inference = var_or("DIGITS_INFERENCE_ADDR", "127.0.0.1:50051");
    let logging = var_or("DIGITS_LOGGING_ADDR", "127.0.0.1:50052");
    let http = var_or("DIGITS_GATEWAY_ADDR", "127.0.0.1:8080");
    let grpc = var_or("DIGITS_GATEWAY_GRPC_ADDR", "127.0.0.1:50050");
    // The embedded default: a SQLite file in the repository (git-ignored).
    let database = var_or("DATABASE_URL", "sqlite://digits.db");
    let spawn = |name: &'static str, cmd: &mut Command| -> anyhow::Result<Service> {
        Ok(Service { name, child: cmd.spawn().with_context(|| format!("starting {name}"))? })
    };
    let services = vec![
        spawn(
            "inference",
            Command::new(bin.join("digits-inference"))
                .env(INFERENCE_ALLOCATOR.0, INFERENCE_ALLOCATOR.1)
                .env("DIGITS_INFERENCE_ADDR", &inference),
        )?,
        spawn(
            "logging",
            Command::new(bin.join("digits-logging"))
                .env("DIGITS_LOGGING_ADDR", &logging)
                .env("DATABASE_URL", &database),
        )?,
        spawn(
            "gateway",
            Command::new(bin.join("digits-gateway"))
                .env("DIGITS_GATEWAY_ADDR", &http)
                .env("DIGITS_GATEWAY_GRPC_ADDR", &grpc)
                .env("DIGITS_INFERENCE_URL", format!("http://{inference}"))
                .env("DIGITS_LOGGING_URL", format!("http://{logging}"))
                .env("DIGITS_WEB_DIR", &dist),
        )?,
    ];
    eprintln!("\n  Digits is running: open http://{http}/");
    eprintln!("  JSON API:          http://{http}/api/openapi.json");
    eprintln!("  inference gRPC:    {grpc} (through the gateway; reflection on)");
    eprintln!("  history database:  {database}");
    eprintln!("  Ctrl-C stops everything.\n");

    let stop = stop_signals()?;
    supervise(services, &stop)
}

/// A flag raised by SIGINT, SIGTERM or SIGHUP, instead of dying at once.
fn stop_signals() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register(signal, stop.clone()).context("installing a signal handler")?;
    }
    Ok(stop)
}

/// Waits until `stop` is raised (by a signal) or until one service exits by
/// itself, e.g. because its port is taken; then asks the others to stop
/// with SIGTERM and waits for all of them.
fn supervise(mut services: Vec<Service>, stop: &AtomicBool) -> anyhow::Result<()> {
    let mut failed = false;
    let mut stopping = false;
    while !services.is_empty() {
        if !stopping && stop.load(Ordering::Relaxed) {
            stopping = true;
            for service in &services {
                let _ = Command::new("kill").args(["-TERM", &service.child.id().to_string()]).status();
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sigterm_to_xtask_stops_every_service_it_started() {
        let stop = stop_signals().expect("handlers");
        let spawn = |name| Service { name, child: Command::new("sleep").arg("60").spawn().expect("sleep") };
        let services = vec![spawn("one"), spawn("two"), spawn("three")];
        let pids: Vec<u32> = services.iter().map(|s| s.child.id()).collect();
        let me = std::process::id().to_string();
        let started = std::time::Instant::now();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            let _ = Command::new("kill").args(["-TERM", &me]).status();
        });
        // The services die of the forwarded SIGTERM: not a failure of theirs.
        supervise(services, &stop).expect("a clean stop");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        for pid in pids {
            assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "service {pid} outlived xtask");
        }
    }
}
