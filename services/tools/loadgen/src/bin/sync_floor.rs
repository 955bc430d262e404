//! What making a log record durable costs on this disk, each way the spool
//! could do it: a 1 KiB record (a logged prediction's size) written, then
//! flushed, one after another, as a lone caller's request pays for it.
//!
//! - page cache only (no sync): the floor without durability;
//! - append to a growing file, then `fdatasync` (the file's size changes
//!   with each record, so each sync also commits the journal);
//! - write into a segment made ahead of time (its blocks written with
//!   zeros and synced once), then `fdatasync`: only the data and the disk's
//!   cache flush;
//! - the same segment opened `O_DSYNC`: one system call per record;
//! - a segment reserved by `fallocate` but not written (its extents are
//!   "unwritten", so the first write to each block still changes metadata).
//!
//! ```text
//! cargo run --release -p digits-loadgen --bin sync_floor -- DIR   # DIR on the spool's disk
//! ```
//! With `DIGITS_BENCH_FIGURES=FILE`, the medians are appended to FILE as
//! `name value` lines for `cargo xtask bench`'s summary.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;

/// One way of writing the records into a file at a path: their latencies.
type Way<'a> = dyn Fn(&Path) -> anyhow::Result<Vec<Duration>> + 'a;

const RECORD: usize = 1024;
const RECORDS: usize = 2000;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args().nth(1).context("usage: sync_floor DIR")?;
    let dir = Path::new(&dir).join(format!("sync-floor-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let record = vec![0x5au8; RECORD];
    let size = (RECORD * RECORDS) as u64;

    let ways: [(&str, &str, Box<Way<'_>>); 5] = [
        (
            "no_sync",
            "page cache only, no sync (not durable)",
            Box::new(|p| {
                let mut file = OpenOptions::new().create(true).append(true).open(p)?;
                time(|_| file.write_all(&record))
            }),
        ),
        (
            "append_fdatasync",
            "append to a growing file + fdatasync",
            Box::new(|p| {
                let mut file = OpenOptions::new().create(true).append(true).open(p)?;
                time(|_| file.write_all(&record).and_then(|()| file.sync_data()))
            }),
        ),
        (
            "zeroed_fdatasync",
            "write into a zeroed segment + fdatasync",
            Box::new(|p| {
                let file = zeroed(p, size, false)?;
                time(|i| file.write_all_at(&record, (i * RECORD) as u64).and_then(|()| file.sync_data()))
            }),
        ),
        (
            "zeroed_odsync",
            "write into a zeroed segment opened O_DSYNC",
            Box::new(|p| {
                let file = zeroed(p, size, true)?;
                time(|i| file.write_all_at(&record, (i * RECORD) as u64))
            }),
        ),
        (
            "fallocated_fdatasync",
            "write into a fallocate'd segment + fdatasync",
            Box::new(|p| {
                let file = OpenOptions::new().create(true).truncate(true).read(true).write(true).open(p)?;
                rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, size)?;
                file.sync_all()?;
                time(|i| file.write_all_at(&record, (i * RECORD) as u64).and_then(|()| file.sync_data()))
            }),
        ),
    ];
    let figures = std::env::var_os("DIGITS_BENCH_FIGURES");
    println!("{RECORDS} records of {RECORD} bytes each, one at a time, in {}", dir.display());
    println!("{:<50} {:>9} {:>9}", "way", "p50", "p99");
    for (key, name, run) in &ways {
        let path = dir.join(format!("{key}.log"));
        let mut latencies = run(&path)?;
        std::fs::remove_file(&path)?;
        latencies.sort_unstable();
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
        println!("{name:<50} {:>6.0} µs {:>6.0} µs", at(0.5), at(0.99));
        if let Some(file) = &figures {
            let mut file = OpenOptions::new().create(true).append(true).open(file)?;
            writeln!(file, "sync_{key}_p50_us {}", at(0.5))?;
        }
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A file of `size` zero bytes, written and synced, opened for writing in
/// place (with `O_DSYNC` when `dsync`).
fn zeroed(path: &Path, size: u64, dsync: bool) -> anyhow::Result<File> {
    let mut file = OpenOptions::new().create(true).truncate(true).write(true).open(path)?;
    file.write_all(&vec![0u8; size as usize])?;
    file.sync_all()?;
    drop(file);
    let mut options = OpenOptions::new();
    options.write(true);
    if dsync {
        options.custom_flags(rustix::fs::OFlags::DSYNC.bits() as i32);
    }
    Ok(options.open(path)?)
}

/// Times `write(i)` for each record.
fn time(mut write: impl FnMut(usize) -> std::io::Result<()>) -> anyhow::Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(RECORDS);
    for i in 0..RECORDS {
        let started = Instant::now();
        write(i)?;
        latencies.push(started.elapsed());
    }
    Ok(latencies)
}
