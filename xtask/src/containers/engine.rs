//! The Docker engine the container commands talk to: one that already
//! answers, or a private `dockerd` started here and removed on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::setup;

/// Private engines live in `<PRIVATE_PREFIX><pid of the xtask that started it>`.
const PRIVATE_PREFIX: &str = "/tmp/digits-docker-";

/// A Docker engine with its client and Compose.
pub struct Engine {
    /// The docker client (BuildKit-capable).
    pub client: PathBuf,
    /// `docker-compose`.
    pub compose: PathBuf,
    /// Set when this process started the engine.
    private: Option<PrivateDaemon>,
}

/// A `dockerd` with its own socket, state and data folders under `dir`.
struct PrivateDaemon {
    child: Child,
    dir: PathBuf,
}

impl Engine {
    /// Uses the engine that answers `docker info`, or starts a private one.
    pub fn start() -> anyhow::Result<Self> {
        let client = setup::docker()?;
        let compose = setup::docker_compose()?;
        if succeeds(Command::new(&client).arg("info")) {
            eprintln!("using the running Docker engine");
            return Ok(Self { client, compose, private: None });
        }
        reap_stale();
        let dir = PathBuf::from(format!("{PRIVATE_PREFIX}{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let log = std::fs::File::create(dir.join("dockerd.log"))?;
        let dockerd = setup::on_path("dockerd").context("dockerd is not on PATH")?;
        let shown = dir.display().to_string();
        let child = Command::new(dockerd)
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .arg("-H")
            .arg(docker_host(&dir))
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting dockerd")?;
        let engine = Self { client, compose, private: Some(PrivateDaemon { child, dir }) };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if succeeds(engine.docker().arg("info")) {
                break;
            }
            if Instant::now() > deadline {
                engine.dump_logs();
                bail!("the private dockerd did not answer within 60 s");
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        eprintln!("started a private Docker engine in {shown}");
        Ok(engine)
    }

    /// True when this process started the engine (and so no registry is
    /// assumed: base images are the local stand-ins).
    pub fn is_private(&self) -> bool {
        self.private.is_some()
    }

    /// The environment that points a client at this engine.
    pub fn env(&self) -> Vec<(String, String)> {
        self.private.as_ref().map(|p| vec![("DOCKER_HOST".to_owned(), docker_host(&p.dir))]).unwrap_or_default()
    }

    /// A `docker` command for this engine, with BuildKit on.
    pub fn docker(&self) -> Command {
        let mut cmd = Command::new(&self.client);
        cmd.envs(self.env()).env("DOCKER_BUILDKIT", "1");
        cmd
    }

    /// Whether an image with this tag exists in the engine.
    pub fn has_image(&self, tag: &str) -> bool {
        succeeds(self.docker().args(["image", "inspect", tag]))
    }

    /// Prints the tail of the private daemon's log, for a failure report.
    pub fn dump_logs(&self) {
        if let Some(p) = &self.private {
            let log = std::fs::read_to_string(p.dir.join("dockerd.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            eprintln!("--- dockerd.log (last lines) ---");
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// The socket of the private engine in `dir`, as `DOCKER_HOST` / `dockerd -H`.
fn docker_host(dir: &Path) -> String {
    format!("unix://{}/docker.sock", dir.display())
}

/// Runs a command quietly; true when it exits 0.
fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

impl Drop for PrivateDaemon {
    /// Stops the daemon (its containers with it) and removes its folders,
    /// so that nothing of the run is left for the next one.
    fn drop(&mut self) {
        stop_and_remove(self.child.id(), &self.dir);
        let _ = self.child.wait();
    }
}

/// Removes the private engines of earlier runs that were interrupted before
/// they could clean up (their xtask process is gone).
fn reap_stale() {
    let Ok(entries) = std::fs::read_dir("/tmp") else { return };
    for entry in entries.flatten() {
        let dir = entry.path();
        let owner = dir.to_string_lossy().strip_prefix(PRIVATE_PREFIX).and_then(|p| p.parse::<u32>().ok());
        let Some(owner) = owner else { continue };
        if Path::new(&format!("/proc/{owner}")).exists() {
            continue;
        }
        let daemon = std::fs::read_to_string(dir.join("dockerd.pid")).ok().and_then(|p| p.trim().parse().ok());
        eprintln!("removing the private Docker engine of an interrupted run: {}", dir.display());
        stop_and_remove(daemon.unwrap_or(0), &dir);
    }
}

/// Stops the dockerd `pid` (0: none) and removes `dir` with what it mounted.
fn stop_and_remove(pid: u32, dir: &Path) {
    if pid != 0 {
        let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
            // A zombie (our own child, not yet waited for) has stopped too.
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if state.split_whitespace().nth(2) == Some("Z") {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        if Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
    }
    // Namespaces and overlays a killed daemon left mounted would block the removal.
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("grep -o ' {}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l", dir.display()))
        .status();
    match std::fs::remove_dir_all(dir) {
        Ok(()) => eprintln!("stopped the private Docker engine and removed {}", dir.display()),
        Err(e) => eprintln!("could not remove {}: {e}", dir.display()),
    }
}
