//! `cargo xtask bench --capacity`: what one request costs each part of the
//! stack in CPU time, and what one stored prediction costs PostgreSQL in CPU
//! time and bytes: the figures DEPLOYMENT.md's capacity section is worked out
//! from.
//!
//! The three release binaries and a durable PostgreSQL (`fsync` on, as in
//! production) run on this machine; `wrk -t2 -c32 -d10s` posts the web app's
//! request (a real MNIST digit as the 28x28 input), as drafts and as stored
//! predictions. Each process's CPU time (user + system, from `/proc`) is read
//! before and after a run, once the log queue has drained, and divided by
//! the requests answered, or for PostgreSQL by the rows stored. CPU time per
//! request does not depend on how busy the machine is, so the figures hold
//! on larger machines: a core gives `1 s / cost` requests a second.

use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use digits_test_postgres::Cluster;

use super::load;
use crate::local_stack::{LocalStack, UNLIMITED};
use crate::setup;

/// The wrk run of each case: 32 connections on two threads for 10 s.
const RUN: (u32, u32, u32) = (32, 2, 10);

pub fn capacity() -> anyhow::Result<()> {
    setup::postgres()?;
    crate::deploy::release_builds()?;
    let dir = std::env::temp_dir().join(format!("digits-capacity-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let body = dir.join("input.bin");
    std::fs::write(&body, first_mnist_digit()?)?;
    std::fs::write(dir.join("post.lua"), load::SCRIPT)?;
    let wrk = setup::wrk()?;

    let pg = Cluster::start_durable()?;
    pg.psql("postgres", "CREATE DATABASE digits")?;
    let postgres = pg.server_pid().context("the PostgreSQL server's pid")?;
    let stack = LocalStack::start_all(
        &[("DATABASE_URL", pg.url("digits").as_str())],
        &[&UNLIMITED[..], &[("DIGITS_MAX_CONCURRENT", "1024")]].concat(),
    )?;
    let ticks = clock_ticks()?;
    let cpu = |pid: u32, children: bool| cpu_seconds(pid, children, ticks);
    let pids: Vec<(&str, u32)> = stack.services.iter().map(|(name, child)| (*name, child.id())).collect();
    let rows = || -> anyhow::Result<u64> { Ok(pg.psql("digits", "SELECT count(*) FROM predictions")?.trim().parse()?) };
    let wal = || -> anyhow::Result<u64> {
        Ok(pg.psql("digits", "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")?.trim().parse::<f64>()? as u64)
    };

    println!(
        "\nCPU time per request, wrk -t{} -c{} -d{}s on this machine (all on the same cores)\n",
        RUN.1, RUN.0, RUN.2
    );
    println!(
        "{:<28} {:>8} {:>10} {:>10} {:>10} {:>11} {:>11}",
        "POST /api/predictions", "req/s", "gateway", "inference", "logging", "PostgreSQL", "WAL/row"
    );
    for (name, logged) in [("28x28 input, draft", false), ("28x28 input, stored", true)] {
        let url = format!("{}/api/predictions{}", stack.url, if logged { "" } else { "?log=false" });
        let before: Vec<f64> = pids.iter().map(|(_, pid)| cpu(*pid, false)).collect();
        let (pg_before, rows_before, wal_before) = (cpu(postgres, true), rows()?, wal()?);
        let run = load::wrk_run(&wrk, &dir.join("post.lua"), &url, &body, MNIST_TYPE, RUN)?;
        if run.failed > 0 {
            bail!("{} requests were not answered 2xx", run.failed);
        }
        wait_drained(&stack.url)?;
        let answered = run.rate * f64::from(RUN.2);
        let stored = (rows()? - rows_before) as f64;
        let per = |seconds: f64, count: f64| {
            if count > 0.0 { format!("{:.0} µs", 1e6 * seconds / count) } else { "-".into() }
        };
        let spent: Vec<f64> = pids.iter().zip(&before).map(|((_, pid), b)| cpu(*pid, false) - b).collect();
        let by = |service: &str| pids.iter().position(|(n, _)| *n == service).map_or(0.0, |i| spent[i]);
        println!(
            "{name:<28} {:>8.0} {:>10} {:>10} {:>10} {:>11} {:>11}",
            run.rate,
            per(by("gateway"), answered),
            per(by("inference"), answered),
            per(by("logging"), stored.max(0.0)),
            per(cpu(postgres, true) - pg_before, stored),
            if stored > 0.0 { format!("{:.0} B", (wal()? - wal_before) as f64 / stored) } else { "-".into() },
        );
    }
    let size = pg.psql(
        "digits",
        "SELECT pg_total_relation_size('predictions'), pg_database_size('digits'), count(*) FROM predictions",
    )?;
    let numbers: Vec<f64> = size.trim().split('|').filter_map(|n| n.parse().ok()).collect();
    if let [table, database, count] = numbers[..] {
        println!(
            "\nstored: {count:.0} predictions; the predictions table with its indexes {:.0} bytes a row, \
             the whole database {:.0} bytes a row ({:.2} GB per million drawings)",
            table / count,
            database / count,
            database / count * 1e6 / 1e9
        );
    }
    println!("(logging and PostgreSQL are per stored row; gateway and inference per request answered)");
    drop(stack);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The web app's content type for its 28x28 input.
const MNIST_TYPE: &str = "application/vnd.digits.mnist";

/// The first MNIST test digit: 784 bytes, ink 255 on 0, as the web app sends.
fn first_mnist_digit() -> anyhow::Result<Vec<u8>> {
    let file = std::fs::File::open(setup::mnist_dir()?.join("t10k-images-idx3-ubyte.gz"))?;
    let mut images = Vec::new();
    flate2::read::GzDecoder::new(file).take(16 + 784).read_to_end(&mut images)?;
    images.get(16..).map(<[u8]>::to_vec).filter(|d| d.len() == 784).context("a short MNIST file")
}

/// Waits until the gateway's log queue is empty (`/readyz`).
fn wait_drained(base: &str) -> anyhow::Result<()> {
    let host = base.trim_start_matches("http://");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        if crate::local_stack::readyz(host).is_some_and(|body| body.contains("\"pending\":0")) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("the log queue did not drain within 120 s")
}

/// Seconds of CPU `pid` has used (user + system), and with `children` its
/// processes too: the live ones, and those it has waited for.
fn cpu_seconds(pid: u32, children: bool, ticks: f64) -> f64 {
    let fields = |pid: &str| -> Option<Vec<String>> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The name in parentheses may hold spaces: the fields start after it.
        Some(stat.rsplit_once(") ")?.1.split_whitespace().map(str::to_owned).collect())
    };
    let number = |f: &[String], i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    let Some(own) = fields(&pid.to_string()) else { return 0.0 };
    let mut total = number(&own, 11) + number(&own, 12);
    if children {
        total += number(&own, 13) + number(&own, 14);
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(child) = name.parse::<u32>().ok().and_then(|_| fields(&name))
                && child.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(pid)
            {
                total += number(&child, 11) + number(&child, 12);
            }
        }
    }
    total / ticks
}

/// Clock ticks per second of `/proc`'s CPU times.
fn clock_ticks() -> anyhow::Result<f64> {
    let out = Command::new("getconf").arg("CLK_TCK").output().context("getconf CLK_TCK")?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
}
