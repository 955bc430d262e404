//! PostgreSQL for tests, with nothing to set up by hand.
//!
//! - [`Cluster::start`] runs a private cluster (`initdb` + `postgres`) in a
//!   temporary folder on a free loopback port. As root it runs them as the
//!   `postgres` user, since `initdb` refuses to run as root. A watchdog stops
//!   the server when the test process ends, however it ends.
//! - [`shared`] is one cluster per test process, or the server of
//!   `DATABASE_URL` when that is set (CI or a developer's own server).
//! - [`TestDatabase`] is a fresh, uniquely named database on the shared
//!   server, dropped when the value is dropped.
//!
//! - [`Cluster::standby`] adds a streaming-replication standby, synchronous
//!   if asked, that [`Cluster::promote`] turns into the primary after
//!   [`Cluster::kill`] stopped the old one as a lost machine would.
//!
//! Databases are created and dropped with `psql`, which ships with the server.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Starting or using PostgreSQL failed.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// A PostgreSQL program is not installed.
    #[error("{0} not found: install PostgreSQL (e.g. apt-get install postgresql) or set DATABASE_URL")]
    Missing(&'static str),
    /// A command failed.
    #[error("{command} failed: {output}")]
    Command {
        /// What ran.
        command: String,
        /// What it printed.
        output: String,
    },
    /// The server did not accept connections in time.
    #[error("PostgreSQL did not start within {0:?}: {1}")]
    Timeout(Duration, String),
    /// File system or process error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

fn bin_dir() -> Result<PathBuf, PgError> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| dir.join("initdb").exists() && dir.join("postgres").exists());
    if let Some(dir) = on_path {
        // The folder of the installation itself, not of a link to initdb on
        // PATH: the other programs (pg_basebackup, psql) are beside it.
        return Ok(std::fs::canonicalize(dir.join("initdb"))?.parent().map_or(dir, Path::to_path_buf));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path().join("bin"))).collect())
        .unwrap_or_default();
    versions.sort();
    versions.into_iter().rev().find(|d| d.join("initdb").exists()).ok_or(PgError::Missing("initdb"))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn free_port() -> Result<u16, PgError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A command that runs as the `postgres` user when we are root.
fn as_owner(program: &Path, root: bool) -> Command {
    if root {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn run(cmd: &mut Command) -> Result<String, PgError> {
    let out = cmd.output()?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() { Ok(text) } else { Err(PgError::Command { command: format!("{cmd:?}"), output: text }) }
}

/// A new, uniquely named temporary folder, owned by `postgres` when we are root.
fn owned_dir(prefix: &str, root: bool) -> Result<PathBuf, PgError> {
    let dir = std::env::temp_dir().join(unique(prefix));
    std::fs::create_dir_all(&dir)?;
    if root {
        run(Command::new("chown").arg("postgres:").arg(&dir))?;
    }
    Ok(dir)
}

/// A private PostgreSQL cluster, stopped and deleted on drop.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    root: bool,
    durable: bool,
    server: Option<Child>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

impl Cluster {
    /// Creates a cluster in a new temporary folder and starts it.
    ///
    /// # Errors
    /// When PostgreSQL is missing or does not start.
    pub fn start() -> Result<Self, PgError> {
        Self::create(false)
    }

    /// Like [`Cluster::start`], but every commit waits for its log on disk
    /// (`fsync` on, as in production) instead of trusting the tests not to
    /// crash the machine: for benchmarks of what a real server costs.
    ///
    /// # Errors
    /// When PostgreSQL is missing or does not start.
    pub fn start_durable() -> Result<Self, PgError> {
        Self::create(true)
    }

    fn create(durable: bool) -> Result<Self, PgError> {
        let bin = bin_dir()?;
        let root = is_root();
        let dir = owned_dir("digits-pg", root)?;
        run(as_owner(&bin.join("initdb"), root).arg("-D").arg(dir.join("data")).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ]))?;
        let mut cluster = Self { dir, bin, port: free_port()?, root, durable, server: None };
        cluster.resume()?;
        Ok(cluster)
    }

    /// A streaming-replication standby of this cluster, in a folder of its
    /// own on another free port (`pg_basebackup -R`). With `synchronous`,
    /// this cluster then waits for the standby before any commit returns,
    /// so that a committed row survives the loss of this server.
    ///
    /// # Errors
    /// When the copy fails or the standby does not start.
    pub fn standby(&self, synchronous: bool) -> Result<Self, PgError> {
        let dir = owned_dir("digits-pg-standby", self.root)?;
        run(as_owner(&self.bin.join("pg_basebackup"), self.root)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-X", "stream", "-R", "-D"])
            .arg(dir.join("data")))?;
        let mut standby = Self {
            dir,
            bin: self.bin.clone(),
            port: free_port()?,
            root: self.root,
            durable: self.durable,
            server: None,
        };
        standby.resume()?;
        if synchronous {
            self.psql("postgres", "ALTER SYSTEM SET synchronous_standby_names = '*'")?;
            self.psql("postgres", "SELECT pg_reload_conf()")?;
            let started = Instant::now();
            while self.psql("postgres", "SELECT sync_state FROM pg_stat_replication")?.trim() != "sync" {
                if started.elapsed() > Duration::from_secs(30) {
                    return Err(PgError::Timeout(started.elapsed(), "the standby never became synchronous".into()));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(standby)
    }

    /// Makes this standby the primary (`pg_ctl promote`), and waits until it
    /// takes writes.
    ///
    /// # Errors
    /// When it does not.
    pub fn promote(&self) -> Result<(), PgError> {
        run(as_owner(&self.bin.join("pg_ctl"), self.root)
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["promote", "-w"]))?;
        Ok(())
    }

    /// Whether this server is a standby (in recovery).
    ///
    /// # Errors
    /// When it cannot be asked.
    pub fn is_standby(&self) -> Result<bool, PgError> {
        Ok(self.psql("postgres", "SELECT pg_is_in_recovery()")?.trim() == "t")
    }

    /// Stops the server the way a lost machine does: at once, with no
    /// checkpoint and no goodbye to its clients (`pg_ctl stop -m immediate`).
    pub fn kill(&mut self) {
        self.stop("immediate");
    }

    /// A URL for `database` on this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A libpq multi-host URL for `database` on `clusters`, in that order,
    /// that connects only to the one taking writes: what a client of a
    /// replicated database is given.
    pub fn primary_url(clusters: &[&Self], database: &str) -> String {
        let hosts: Vec<String> = clusters.iter().map(|c| format!("127.0.0.1:{}", c.port)).collect();
        format!("postgres://postgres@{}/{database}?target_session_attrs=read-write", hosts.join(","))
    }

    /// Stops the server (fast shutdown), keeping the data: for tests of an
    /// outage. [`Cluster::resume`] starts it again on the same port.
    pub fn pause(&mut self) {
        self.stop("fast");
    }

    /// `pg_ctl stop -m mode`, if the server runs.
    fn stop(&mut self, mode: &str) {
        if let Some(mut server) = self.server.take() {
            let _ = run(as_owner(&self.bin.join("pg_ctl"), self.root)
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["stop", "-m", mode, "-w"]));
            // The watchdog notices the server is gone within a second.
            let _ = server.wait();
        }
    }

    /// Starts the server and waits until it accepts connections.
    ///
    /// # Errors
    /// When it does not start within 30 s.
    pub fn resume(&mut self) -> Result<(), PgError> {
        // The watchdog shell stops the server and deletes the cluster when
        // this test process is gone (a static cluster is never dropped).
        let script = format!(
            "\"$0\" -D \"$1\" -p {port} -k \"$1\" -c listen_addresses=127.0.0.1 -c fsync={fsync} & pg=$!; \
             while [ -d /proc/{parent} ] && kill -0 $pg 2>/dev/null; do sleep 1; done; \
             if [ ! -d /proc/{parent} ]; then kill -INT $pg 2>/dev/null; wait $pg; rm -rf \"$2\"; fi",
            port = self.port,
            parent = std::process::id(),
            fsync = if self.durable { "on" } else { "off" },
        );
        let server = as_owner(Path::new("sh"), self.root)
            .arg("-c")
            .arg(script)
            .arg(self.bin.join("postgres"))
            .arg(self.dir.join("data"))
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.server = Some(server);
        let started = Instant::now();
        let timeout = Duration::from_secs(30);
        loop {
            match self.psql("postgres", "SELECT 1") {
                Ok(_) => return Ok(()),
                Err(e) if started.elapsed() > timeout => return Err(PgError::Timeout(timeout, e.to_string())),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Runs `sql` in `database` with `psql`; returns what it printed
    /// (unaligned, tuples only).
    ///
    /// # Errors
    /// When psql fails.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, PgError> {
        psql(&self.bin, &self.url(database), sql)
    }

    /// The server's process id (the postmaster's), while it runs.
    pub fn server_pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.pause();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn psql(bin: &Path, url: &str, sql: &str) -> Result<String, PgError> {
    let psql = if bin.join("psql").exists() { bin.join("psql") } else { PathBuf::from("psql") };
    run(Command::new(psql).args(["-v", "ON_ERROR_STOP=1", "-qAtX", "-d", url, "-c", sql]))
}

/// Where the shared server is: an admin URL (to its `postgres` database).
struct Shared {
    admin_url: String,
    bin: PathBuf,
    _cluster: Option<Cluster>,
}

fn shared() -> &'static Result<Shared, String> {
    static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();
    SHARED.get_or_init(|| {
        let bin = bin_dir().unwrap_or_default();
        if let Ok(url) = std::env::var("DATABASE_URL")
            && url.starts_with("postgres")
        {
            return Ok(Shared { admin_url: url, bin, _cluster: None });
        }
        let cluster = Cluster::start().map_err(|e| e.to_string())?;
        Ok(Shared { admin_url: cluster.url("postgres"), bin: cluster.bin.clone(), _cluster: Some(cluster) })
    })
}

/// A fresh database on the shared server, dropped on drop.
pub struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates a uniquely named, empty database.
    ///
    /// # Panics
    /// When no PostgreSQL server can be had: tests should fail loudly then.
    pub fn new() -> Self {
        let shared = shared().as_ref().expect("a PostgreSQL server for tests");
        let name = unique("digits_test");
        psql(&shared.bin, &shared.admin_url, &format!("CREATE DATABASE {name}")).expect("CREATE DATABASE");
        let url = replace_database(&shared.admin_url, &name);
        Self { name, url }
    }

    /// The database's connection URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs SQL in this database with `psql` and returns its unaligned output.
    ///
    /// # Errors
    /// When psql fails.
    pub fn psql(&self, sql: &str) -> Result<String, PgError> {
        let shared = shared().as_ref().expect("server");
        psql(&shared.bin, &self.url, sql)
    }
}

impl Default for TestDatabase {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(shared) = shared() {
            let _ =
                psql(&shared.bin, &shared.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// `url` with its database name replaced by `name`.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let host_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[host_end..].find('/') {
        Some(slash) => &base[..host_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_in_a_url_is_replaced() {
        assert_eq!(replace_database("postgres://u@h:1/postgres", "x"), "postgres://u@h:1/x");
        assert_eq!(replace_database("postgres://u@h:1", "x"), "postgres://u@h:1/x");
        assert_eq!(replace_database("postgres://u:p@h/db?sslmode=disable", "x"), "postgres://u:p@h/x?sslmode=disable");
    }

    #[test]
    fn each_test_database_is_separate_and_dropped() {
        let a = TestDatabase::new();
        let b = TestDatabase::new();
        a.psql("CREATE TABLE t (x INT); INSERT INTO t VALUES (1)").expect("create");
        assert!(b.psql("SELECT * FROM t").is_err(), "b does not see a's table");
        let name = a.name.clone();
        drop(a);
        let listed = b.psql("SELECT datname FROM pg_database").expect("list");
        assert!(!listed.lines().any(|l| l == name), "{name} was dropped");
    }

    #[test]
    fn a_synchronous_standby_holds_every_commit_and_takes_over_when_promoted() {
        let mut primary = Cluster::start().expect("cluster");
        let standby = primary.standby(true).expect("standby");
        assert!(standby.is_standby().expect("asked"));
        primary.psql("postgres", "CREATE TABLE kept (x INT); INSERT INTO kept VALUES (7)").expect("create");
        primary.kill();
        standby.promote().expect("promoted");
        assert!(!standby.is_standby().expect("asked"));
        assert_eq!(standby.psql("postgres", "SELECT x FROM kept").expect("select").trim(), "7");
        standby.psql("postgres", "INSERT INTO kept VALUES (8)").expect("takes writes");
    }

    #[test]
    fn a_private_cluster_can_be_paused_and_resumed_keeping_its_data() {
        let mut cluster = Cluster::start().expect("cluster");
        cluster.psql("postgres", "CREATE TABLE kept (x INT); INSERT INTO kept VALUES (42)").expect("create");
        cluster.pause();
        assert!(cluster.psql("postgres", "SELECT 1").is_err(), "down while paused");
        cluster.resume().expect("resume");
        assert_eq!(cluster.psql("postgres", "SELECT x FROM kept").expect("select").trim(), "42");
    }
}
