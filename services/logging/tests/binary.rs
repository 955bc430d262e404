//! The `digits-logging` binary with its defaults: SQLite file, healthcheck
//! subcommand, clean exit on SIGTERM.

use std::process::{Command, Stdio};
use std::time::Duration;

use digits_test_support::process::{ChildGuard, wait_until};
use digits_test_support::{TempDir, free_port};

const BIN: &str = env!("CARGO_BIN_EXE_digits-logging");

fn healthy(url: &str) -> bool {
    Command::new(BIN).args(["healthcheck", url]).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

#[test]
fn the_binary_serves_on_sqlite_and_stops_on_sigterm() {
    let port = free_port();
    let dir = TempDir::new("logging-binary");
    let url = format!("http://127.0.0.1:{port}");
    let mut server = ChildGuard(
        Command::new(BIN)
            .env("DIGITS_LOGGING_ADDR", format!("127.0.0.1:{port}"))
            .env("DIGITS_METRICS_ADDR", "127.0.0.1:0")
            .env("DATABASE_URL", format!("sqlite://{}", dir.join("digits.db").display()))
            .stderr(Stdio::null())
            .spawn()
            .expect("starts"),
    );
    wait_until("healthy", Duration::from_secs(30), || healthy(&url));
    assert!(dir.join("digits.db").exists(), "the SQLite file is created");
    let status = server.terminate(Duration::from_secs(10));
    assert!(status.success(), "{status}");
}
