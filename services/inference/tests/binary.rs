//! The `digits-inference` binary as operators and containers use it: it
//! serves, its `healthcheck` and `predict` subcommands work against it, and
//! SIGTERM stops it cleanly.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use digits_test_support::process::{ChildGuard, wait_until};
use digits_test_support::{TempDir, free_port};

const BIN: &str = env!("CARGO_BIN_EXE_digits-inference");

fn healthy(url: &str) -> bool {
    Command::new(BIN).args(["healthcheck", url]).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

#[test]
fn the_binary_serves_answers_its_tools_and_stops_on_sigterm() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    assert!(!healthy(&url), "nothing listens yet");

    let mut server = ChildGuard(
        Command::new(BIN)
            .env("DIGITS_INFERENCE_ADDR", format!("127.0.0.1:{port}"))
            .env("DIGITS_METRICS_ADDR", "127.0.0.1:0")
            .env("DIGITS_LOG_FORMAT", "json")
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts"),
    );
    wait_until("healthy", Duration::from_secs(30), || healthy(&url));

    let test = digits_mnist_idx::test_set().expect("MNIST test set");
    let dir = TempDir::new("inference-binary");
    let file = dir.join("seven.png");
    let canvas = support::draw_on_canvas(&test.images[0], 280, 280, 40.0, 30.0, 8.0);
    std::fs::write(&file, digits_test_support::png::rgba(280, 280, &canvas)).expect("write png");
    let junk = dir.join("junk.png");
    std::fs::write(&junk, b"not a png").expect("write junk");

    let out = Command::new(BIN).arg("predict").arg(&file).arg(&junk).args(["--addr", &url]).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("seven.png: 7 ("), "{stdout}");
    assert!(stdout.contains("junk.png: error InvalidArgument"), "{stdout}");

    // SIGTERM, as `docker stop` sends it: a clean exit, well within the grace period.
    let status = server.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
    let mut logs = String::new();
    std::io::Read::read_to_string(server.0.stderr.as_mut().expect("stderr"), &mut logs).expect("logs");
    assert!(logs.contains("SIGTERM received"), "{logs}");
    assert!(logs.lines().all(|l| l.starts_with('{')), "JSON logs: {logs}");
    assert!(!healthy(&url));
}
