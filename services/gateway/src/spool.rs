//! The durable copy of the log queue: every entry is on disk before its
//! prediction is answered, so a crash, an OOM kill or a power cut loses no
//! acknowledged prediction.
//!
//! - **Append, batched fsync:** one writer thread writes the records that
//!   arrive together and makes them durable with one `fdatasync`; each
//!   caller waits for the sync that covers its record (group commit). A
//!   lone caller's record is written at once: nothing lingers for company.
//! - **Segments made ahead:** records go to `seg-N.log` files of
//!   [`SEGMENT_BYTES`], each written with zeros and synced when it is
//!   created, so that a record overwrites blocks that already exist and its
//!   `fdatasync` flushes only that data (appending to a growing file also
//!   commits the file's new size to the journal: about twice the time on
//!   this project's test disk, `cargo xtask bench`). A segment whose entries
//!   have all been stored by the logging service is deleted.
//! - **Replay:** at start, the entries of the segments left behind are read
//!   back and queued again (logging is idempotent on the request id, so an
//!   entry stored just before a crash is not stored twice). A torn record at
//!   the end of a segment (a crash mid-write) ends that segment's replay.
//! - **Bounded:** the spool holds what the queue holds, at most
//!   `DIGITS_LOG_QUEUE` entries (about 1 KiB each) plus one segment of
//!   stored ones.
//!
//! A record is: length (u32 LE), CRC-32 of the payload (u32 LE), payload (the
//! protobuf `LogPredictionRequest`, never empty). A zero length is the
//! segment's unwritten rest.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};

use digits_proto::logging::v1::LogPredictionRequest;
use prost::Message;
use tokio::sync::oneshot;

/// A segment's size, written ahead; a segment is closed once the next
/// records would not fit (a group larger than a segment grows it).
pub const SEGMENT_BYTES: u64 = 4 << 20;
/// The largest record replay accepts (an entry is about 1 KiB).
const MAX_RECORD: usize = 64 << 10;
/// Records made durable by one sync, at most.
const GROUP: usize = 1024;

/// The on-disk spool.
pub struct Spool {
    appends: Mutex<mpsc::Sender<Append>>,
    segments: Arc<Mutex<Segments>>,
}

struct Append {
    request_id: String,
    record: Vec<u8>,
    done: oneshot::Sender<io::Result<()>>,
}

/// Which segments hold each unstored entry (one record per revision of a
/// drawing), and how many records each segment holds.
struct Segments {
    dir: PathBuf,
    current: u64,
    live: BTreeMap<u64, usize>,
    of: HashMap<String, Vec<u64>>,
}

impl Segments {
    fn path(&self, segment: u64) -> PathBuf {
        segment_path(&self.dir, segment)
    }

    /// Deletes `segment` if nothing in it is waiting and it is not being written.
    fn delete_if_done(&mut self, segment: u64) {
        if segment != self.current && self.live.get(&segment).is_none_or(|n| *n == 0) {
            self.live.remove(&segment);
            if let Err(e) = fs::remove_file(self.path(segment)) {
                tracing::warn!(error = %e, segment, "could not delete a spent spool segment");
            }
        }
    }
}

fn segment_path(dir: &Path, segment: u64) -> PathBuf {
    dir.join(format!("seg-{segment:020}.log"))
}

fn lock(segments: &Mutex<Segments>) -> MutexGuard<'_, Segments> {
    segments.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Spool {
    /// Opens the spool in `dir` (created if missing) and returns the entries
    /// left by an earlier run, oldest first, to be queued again.
    ///
    /// # Errors
    /// When the folder cannot be created, read or written.
    pub fn open(dir: &Path) -> io::Result<(Self, Vec<LogPredictionRequest>)> {
        fs::create_dir_all(dir)?;
        let mut found: Vec<u64> = fs::read_dir(dir)?
            .filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("seg-")?.strip_suffix(".log")?.parse().ok())
            .collect();
        found.sort_unstable();
        let current = found.last().map_or(0, |last| last + 1);
        let mut segments = Segments { dir: dir.to_owned(), current, live: BTreeMap::new(), of: HashMap::new() };
        let mut replayed = Vec::new();
        for segment in found {
            let entries = read_segment(&segments.path(segment))?;
            for entry in &entries {
                segments.of.entry(entry.request_id.clone()).or_default().push(segment);
            }
            segments.live.insert(segment, entries.len());
            replayed.extend(entries);
            segments.delete_if_done(segment);
        }
        let file = create_segment(dir, current)?;
        let segments = Arc::new(Mutex::new(segments));
        let (appends, receiver) = mpsc::channel();
        let writer = segments.clone();
        std::thread::Builder::new().name("log-spool".into()).spawn(move || write_loop(file, &writer, &receiver))?;
        Ok((Self { appends: Mutex::new(appends), segments }, replayed))
    }

    /// Writes `entries` and returns once they are on disk. They reach the
    /// writer together, so one sync usually covers them all.
    ///
    /// # Errors
    /// When the write or the sync failed.
    pub async fn append(&self, entries: &[LogPredictionRequest]) -> io::Result<()> {
        let stopped = || io::Error::other("the spool writer stopped");
        let mut syncs = Vec::with_capacity(entries.len());
        {
            let appends = self.appends.lock().unwrap_or_else(PoisonError::into_inner);
            for entry in entries {
                let payload = entry.encode_to_vec();
                let mut record = Vec::with_capacity(payload.len() + 8);
                record.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(u32::MAX).to_le_bytes());
                record.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
                record.extend_from_slice(&payload);
                let (done, synced) = oneshot::channel();
                appends.send(Append { request_id: entry.request_id.clone(), record, done }).map_err(|_| stopped())?;
                syncs.push(synced);
            }
        }
        for synced in syncs {
            synced.await.map_err(|_| stopped())??;
        }
        Ok(())
    }

    /// Marks an entry as stored by the logging service, every revision of
    /// it; a segment goes once nothing in it is waiting.
    pub fn release(&self, request_id: &str) {
        let mut segments = lock(&self.segments);
        let Some(held) = segments.of.remove(request_id) else { return };
        for segment in held {
            if let Some(live) = segments.live.get_mut(&segment) {
                *live = live.saturating_sub(1);
            }
            segments.delete_if_done(segment);
        }
    }

    /// At a clean stop: deletes the segments when every entry in them has
    /// been stored, the one being written included, so that the next start
    /// replays nothing (a crash leaves it for the next start to send again).
    /// Returns the entries still waiting, which stay on disk.
    pub fn close(&self) -> usize {
        let mut segments = lock(&self.segments);
        let waiting = segments.of.len();
        if waiting == 0 {
            let all: Vec<u64> = segments.live.keys().copied().chain([segments.current]).collect();
            for segment in all {
                if let Err(e) = fs::remove_file(segments.path(segment))
                    && e.kind() != io::ErrorKind::NotFound
                {
                    tracing::warn!(error = %e, segment, "could not delete a spent spool segment");
                }
            }
            segments.live.clear();
        }
        waiting
    }

    /// Segment files on disk.
    pub fn segments(&self) -> usize {
        let segments = lock(&self.segments);
        segments.live.len() + usize::from(!segments.live.contains_key(&segments.current))
    }
}

/// A new segment of [`SEGMENT_BYTES`] zeros, on disk with its name.
fn create_segment(dir: &Path, segment: u64) -> io::Result<File> {
    let mut file = OpenOptions::new().create_new(true).write(true).open(segment_path(dir, segment))?;
    let zeros = vec![0u8; 256 << 10];
    for _ in 0..SEGMENT_BYTES / zeros.len() as u64 {
        file.write_all(&zeros)?;
    }
    file.sync_all()?;
    // The new name must survive a crash too.
    File::open(dir)?.sync_all()?;
    Ok(file)
}

fn read_segment(path: &Path) -> io::Result<Vec<LogPredictionRequest>> {
    let bytes = fs::read(path)?;
    let mut entries = Vec::new();
    let mut rest = bytes.as_slice();
    while rest.len() >= 8 {
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len == 0 {
            // The segment's unwritten rest (a torn record leaves other bytes).
            rest = rest.iter().position(|&b| b != 0).map_or(&[], |at| &rest[at..]);
            break;
        }
        let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        let Some(payload) = rest.get(8..8 + len).filter(|_| len <= MAX_RECORD) else { break };
        if crc32fast::hash(payload) != crc {
            break;
        }
        match LogPredictionRequest::decode(payload) {
            Ok(entry) => entries.push(entry),
            Err(_) => break,
        }
        rest = &rest[8 + len..];
    }
    if !rest.is_empty() {
        tracing::warn!(path = %path.display(), bytes = rest.len(), "a torn record ends this spool segment");
    }
    Ok(entries)
}

/// The writer thread: appends what has arrived, syncs once, answers all.
fn write_loop(mut file: File, segments: &Mutex<Segments>, appends: &mpsc::Receiver<Append>) {
    // Each run writes a segment of its own, from its start.
    let mut written = 0u64;
    while let Ok(first) = appends.recv() {
        let mut group = vec![first];
        while group.len() < GROUP {
            match appends.try_recv() {
                Ok(more) => group.push(more),
                Err(_) => break,
            }
        }
        let bytes: Vec<u8> = group.iter().flat_map(|a| a.record.iter().copied()).collect();
        let segment = {
            let mut s = lock(segments);
            if written > 0 && written + bytes.len() as u64 > SEGMENT_BYTES {
                match create_segment(&s.dir, s.current + 1) {
                    Ok(next) => {
                        let old = s.current;
                        s.current += 1;
                        file = next;
                        written = 0;
                        s.delete_if_done(old);
                    }
                    Err(e) => tracing::error!(error = %e, "could not start a new spool segment"),
                }
            }
            let current = s.current;
            for append in &group {
                *s.live.entry(current).or_default() += 1;
                s.of.entry(append.request_id.clone()).or_default().push(current);
            }
            current
        };
        let result = file.write_all_at(&bytes, written).and_then(|()| file.sync_data());
        // After a failed write the segment may hold a gap that would end its
        // replay early: the next records go to a new one.
        written = if result.is_ok() { written + bytes.len() as u64 } else { SEGMENT_BYTES };
        if let Err(e) = &result {
            tracing::error!(error = %e, "the log spool could not write; these predictions are queued in memory only");
            let mut s = lock(segments);
            for append in &group {
                if let Some(held) = s.of.get_mut(&append.request_id) {
                    held.pop();
                    if held.is_empty() {
                        s.of.remove(&append.request_id);
                    }
                }
            }
            if let Some(live) = s.live.get_mut(&segment) {
                *live = live.saturating_sub(group.len());
            }
        }
        for append in group {
            let answer = match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
            };
            let _ = append.done.send(answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use digits_test_support::TempDir;

    use super::*;

    fn entry(id: &str) -> LogPredictionRequest {
        LogPredictionRequest { request_id: id.into(), input: vec![7; 784], ..Default::default() }
    }

    #[tokio::test]
    async fn entries_survive_a_restart_until_released_and_a_torn_tail_is_skipped() {
        let dir = TempDir::new("spool-unit");
        {
            let (spool, replayed) = Spool::open(dir.path()).expect("opens");
            assert!(replayed.is_empty());
            for i in 0..5 {
                spool.append(&[entry(&format!("e{i}"))]).await.expect("durable");
            }
            spool.release("e1");
            spool.release("e3");
            // Dropped without any shutdown, as in a crash.
        }
        // A crash mid-write left half a record after the five.
        let last =
            fs::read_dir(dir.path()).expect("dir").filter_map(Result::ok).map(|e| e.path()).max().expect("a segment");
        let end = 5 * (8 + entry("e0").encoded_len()) as u64;
        let file = OpenOptions::new().write(true).open(&last).expect("open");
        file.write_all_at(&[200, 0, 0, 0, 1, 2], end).expect("write");

        let (spool, replayed) = Spool::open(dir.path()).expect("reopens");
        let ids: Vec<_> = replayed.iter().map(|e| e.request_id.as_str()).collect();
        // Released entries come back too (their segment was still being written):
        // logging is idempotent, so that is safe, and nothing acknowledged is lost.
        assert_eq!(ids, ["e0", "e1", "e2", "e3", "e4"]);
        for id in ids {
            spool.release(id);
        }
        assert_eq!(spool.segments(), 1, "only the new, current segment is left");
        drop(spool);
        let (_, replayed) = Spool::open(dir.path()).expect("reopens");
        assert!(replayed.is_empty());
    }

    #[tokio::test]
    async fn a_clean_stop_with_everything_stored_leaves_nothing_to_replay() {
        let dir = TempDir::new("spool-unit");
        {
            let (spool, _) = Spool::open(dir.path()).expect("opens");
            spool.append(&[entry("a"), entry("b")]).await.expect("durable");
            spool.release("a");
            assert_eq!(spool.close(), 1, "b still waits: nothing is deleted");
        }
        let (spool, replayed) = Spool::open(dir.path()).expect("reopens");
        assert_eq!(replayed.len(), 2, "the segment was kept");
        for entry in &replayed {
            spool.release(&entry.request_id);
        }
        spool.append(&[entry("c")]).await.expect("durable");
        spool.release("c");
        assert_eq!(spool.close(), 0);
        drop(spool);
        let (_, replayed) = Spool::open(dir.path()).expect("reopens");
        assert!(replayed.is_empty(), "a clean stop left {} entries to send again", replayed.len());
    }

    #[tokio::test]
    async fn every_revision_of_a_drawing_is_released_with_it() {
        let dir = TempDir::new("spool-unit");
        let (spool, _) = Spool::open(dir.path()).expect("opens");
        let revision = |r| LogPredictionRequest { revision: r, ..entry("drawing") };
        spool.append(&[revision(0)]).await.expect("durable");
        spool.append(&[revision(1), entry("other")]).await.expect("durable");
        spool.release("drawing");
        drop(spool);
        let (spool, replayed) = Spool::open(dir.path()).expect("reopens");
        // The segment was still being written, so all of it comes back, in order.
        let got: Vec<_> = replayed.iter().map(|e| (e.request_id.as_str(), e.revision)).collect();
        assert_eq!(got, [("drawing", 0), ("drawing", 1), ("other", 0)]);
        spool.release("drawing");
        spool.release("other");
        drop(spool);
        let (_, replayed) = Spool::open(dir.path()).expect("reopens");
        assert!(replayed.is_empty(), "both revisions were released at once");
    }

    #[tokio::test]
    async fn full_segments_are_deleted_once_every_entry_in_them_is_stored() {
        let dir = TempDir::new("spool-unit");
        let (spool, _) = Spool::open(dir.path()).expect("opens");
        // About 1 KiB each: 6,000 fill one segment and start a second.
        let n = 6000;
        // In batches of 16, as a PredictBatch on the public port sends them.
        let batch = |start: usize| (start..start + 16).map(|i| entry(&format!("e{i}"))).collect::<Vec<_>>();
        for start in (0..n).step_by(16) {
            spool.append(&batch(start)).await.expect("durable");
        }
        let files = || fs::read_dir(dir.path()).expect("dir").count();
        assert_eq!(files(), 2);
        for i in 0..n {
            spool.release(&format!("e{i}"));
        }
        assert_eq!(files(), 1, "the full segment is gone; the current one stays");
    }
}
