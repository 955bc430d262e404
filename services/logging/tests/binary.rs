//! The `digits-logging` binary with its defaults: SQLite file, healthcheck
//! subcommand, clean exit on SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_digits-logging");

fn healthy(url: &str) -> bool {
    Command::new(BIN).args(["healthcheck", url]).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

#[test]
fn the_binary_serves_on_sqlite_and_stops_on_sigterm() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let dir = std::env::temp_dir().join(format!("digits-logging-bin-{port}"));
    std::fs::create_dir_all(&dir).expect("dir");
    let url = format!("http://127.0.0.1:{port}");
    let mut server = Command::new(BIN)
        .env("DIGITS_LOGGING_ADDR", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", format!("sqlite://{}", dir.join("digits.db").display()))
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let started = Instant::now();
    while !healthy(&url) {
        assert!(started.elapsed() < Duration::from_secs(30), "not healthy after 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(dir.join("digits.db").exists(), "the SQLite file is created");
    assert!(Command::new("kill").args(["-TERM", &server.id().to_string()]).status().expect("kill").success());
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = server.try_wait().expect("wait") {
            break status;
        }
        assert!(stopping.elapsed() < Duration::from_secs(10), "still running 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let _ = std::fs::remove_dir_all(dir);
}
