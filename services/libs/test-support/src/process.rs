//! Child processes that never outlive their test, and waiting with a deadline.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// A child process killed (and reaped) when dropped, so that a failing
/// test leaves nothing listening on its ports.
pub struct ChildGuard(pub Child);

impl ChildGuard {
    /// Sends SIGTERM, as a supervisor does, and waits up to `limit` for the exit.
    ///
    /// # Panics
    /// When `kill` cannot run or the process outlives `limit`.
    pub fn terminate(&mut self, limit: Duration) -> ExitStatus {
        let pid = self.0.id().to_string();
        let sent = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(sent.success(), "SIGTERM sent to {pid}");
        let started = Instant::now();
        loop {
            if let Some(status) = self.0.try_wait().expect("wait") {
                return status;
            }
            assert!(started.elapsed() < limit, "still running {limit:?} after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `ready` every 100 ms until it holds.
///
/// # Panics
/// When it does not hold within `limit`; the message names `what`.
pub fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// [`wait_until`] for a condition that must be awaited.
///
/// # Panics
/// When it does not hold within `limit`; the message names `what`.
pub async fn wait_until_async(what: &str, limit: Duration, mut ready: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !ready().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
