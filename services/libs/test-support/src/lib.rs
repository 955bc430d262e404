//! What the Digits test suites share, so that each helper is written once:
//!
//! - [`server`]: a service running on the test's runtime, stopped gracefully
//!   through its handle;
//! - [`process`]: a child process killed when the test ends, and waiting
//!   for a condition with a deadline;
//! - [`TempDir`], [`free_port`], [`loopback`];
//! - [`png`]: images encoded as the files clients send;
//! - [`photo`]: photo-like pictures of a digit on paper, and JPEG files;
//! - [`drawing`]: pen strokes on a canvas (doodles that are not digits);
//! - [`init_test_log`]: `TEST_LOG=1 cargo test` shows the services' logs
//!   (in the output of the tests that fail; `-- --nocapture` for all);
//! - [`bench_figure`]: a benchmark's figure for `cargo xtask bench`'s summary.

pub mod drawing;
pub mod photo;
pub mod png;
pub mod process;
pub mod server;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub use server::Running;

/// Installs the services' own log setup for tests when `TEST_LOG` is set;
/// otherwise tests stay quiet. Safe to call from every test.
pub fn init_test_log() {
    if std::env::var_os("TEST_LOG").is_some() {
        digits_service_kit::telemetry::init_for_tests();
    }
}

/// Appends `name value` (the duration in µs) to the file `cargo xtask bench`
/// names in `DIGITS_BENCH_FIGURES`, for its summary; nothing without it.
///
/// # Panics
/// When the file cannot be written.
pub fn bench_figure(name: &str, value: std::time::Duration) {
    if let Some(path) = std::env::var_os("DIGITS_BENCH_FIGURES") {
        use std::io::Write;
        let line = format!("{name} {}\n", value.as_secs_f64() * 1e6);
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        written.expect("writing a figure");
    }
}

/// A loopback address on a port the system picks when it is bound.
pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A loopback port that was free a moment ago, for a program that must be
/// told its port (a child process); in-process servers bind [`loopback`].
///
/// # Panics
/// When no port can be bound.
pub fn free_port() -> u16 {
    TcpListener::bind(loopback()).and_then(|l| l.local_addr()).expect("a free loopback port").port()
}

/// A fresh folder under the system's temporary directory, removed with
/// everything in it when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `digits-<name>-<process>-<n>` in the temporary directory.
    ///
    /// # Panics
    /// When the folder cannot be created.
    pub fn new(name: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("digits-{name}-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        Self(dir)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside the folder.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_dirs_are_distinct_and_removed_when_dropped() {
        let (a, b) = (TempDir::new("unit"), TempDir::new("unit"));
        assert_ne!(a.path(), b.path());
        std::fs::write(a.join("file"), b"x").expect("writable");
        let path = a.path().to_path_buf();
        drop(a);
        assert!(!path.exists(), "removed with its contents");
        assert!(b.path().is_dir());
    }

    #[test]
    fn a_free_port_can_be_bound() {
        let port = free_port();
        assert_ne!(port, 0);
        TcpListener::bind(("127.0.0.1", port)).expect("still free");
    }
}
