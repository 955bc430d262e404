//! The `digits-inference` binary as operators and containers use it: it
//! serves, its `healthcheck` and `predict` subcommands work against it, and
//! SIGTERM stops it cleanly.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_digits-inference");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn healthy(url: &str) -> bool {
    Command::new(BIN).args(["healthcheck", url]).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_serves_answers_its_tools_and_stops_on_sigterm() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    assert!(!healthy(&url), "nothing listens yet");

    let mut server = Server(
        Command::new(BIN)
            .env("DIGITS_INFERENCE_ADDR", format!("127.0.0.1:{port}"))
            .env("DIGITS_LOG_FORMAT", "json")
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts"),
    );
    let started = Instant::now();
    while !healthy(&url) {
        assert!(started.elapsed() < Duration::from_secs(30), "not healthy after 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }

    let test = digits_mnist_idx::test_set().expect("MNIST test set");
    let dir = std::env::temp_dir().join(format!("digits-binary-test-{port}"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("seven.png");
    let canvas = support::draw_on_canvas(&test.images[0], 280, 280, 40.0, 30.0, 8.0);
    std::fs::write(&file, support::png_rgba(280, 280, &canvas)).expect("write png");
    let junk = dir.join("junk.png");
    std::fs::write(&junk, b"not a png").expect("write junk");

    let out = Command::new(BIN).arg("predict").arg(&file).arg(&junk).args(["--addr", &url]).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("seven.png: 7 ("), "{stdout}");
    assert!(stdout.contains("junk.png: error InvalidArgument"), "{stdout}");

    // SIGTERM, as `docker stop` sends it: a clean exit, well within the grace period.
    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = server.0.try_wait().expect("wait") {
            break status;
        }
        assert!(stopping.elapsed() < Duration::from_secs(10), "still running 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
    let mut logs = String::new();
    std::io::Read::read_to_string(server.0.stderr.as_mut().expect("stderr"), &mut logs).expect("logs");
    assert!(logs.contains("SIGTERM received"), "{logs}");
    assert!(logs.lines().all(|l| l.starts_with('{')), "JSON logs: {logs}");
    assert!(!healthy(&url));
    let _ = std::fs::remove_dir_all(&dir);
}
