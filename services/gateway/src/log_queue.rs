//! Logging off the request path. A prediction is answered as soon as the
//! model has spoken; its log entry waits here until the writer has stored it
//! in the logging service. Entries are keyed by request id, so a retry after
//! a lost answer cannot store a row twice, and feedback can flush its entry
//! ahead of the queue. The queue is bounded: when it is full, new entries are
//! dropped, counted, and reported in `/readyz` and the logs.
//!
//! With a [`Spool`], an entry is on disk before [`LogQueue::push`] returns,
//! and the entries a crashed run left are queued again at start.
//!
//! A drawing that is still being drawn is logged again under the same
//! request id with a higher `revision`: the queue holds only its latest
//! revision, and an entry is done only once its latest revision is stored.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use digits_proto::logging::v1 as pb;
use digits_service_kit::trace::TracedChannel;

use crate::discovery::ReplicaChannel;
use pb::logging_client::LoggingClient;
use serde::Serialize;
use tokio::sync::{Notify, watch};

use crate::spool::Spool;

/// Entries sent to the logging service in one call (it takes up to 1,000).
pub(crate) const BATCH: usize = 256;
/// How long the writer lets entries gather before a call that would carry
/// less than a full batch. Every call costs the logging service and the
/// database about the same whatever its size, so under load this turns many
/// calls of a few entries into few calls of many; an entry is on disk (with
/// a spool) before it waits, and feedback takes its entry out of turn.
const LINGER: Duration = Duration::from_millis(5);
/// The longest pause between retries while the logging service is down.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Log entries waiting to be written.
pub struct LogQueue {
    state: Mutex<State>,
    ready: Notify,
    /// Told whenever the writer finishes sending a batch.
    sent: Notify,
    capacity: usize,
    dropped: AtomicU64,
    written: AtomicU64,
    spooled: AtomicU64,
    replayed: u64,
    spool: Option<Spool>,
}

#[derive(Default)]
struct State {
    /// Request ids not yet handed to the writer, oldest first.
    waiting: VecDeque<String>,
    /// Every unwritten entry (its latest revision), including those the
    /// writer is sending.
    entries: HashMap<String, pb::LogPredictionRequest>,
    /// Request ids the writer is sending now.
    sending: HashSet<String>,
}

/// What [`LogQueue::forget`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forgotten {
    /// An unwritten entry of the caller's, now dropped: it never reaches the store.
    Pending,
    /// No unwritten entry with that id.
    Nothing,
    /// The unwritten entry is another owner's; it stays.
    NotYours,
}

/// Counters for `/readyz`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct QueueStats {
    /// Entries not yet stored.
    pub pending: usize,
    /// The queue's capacity.
    pub capacity: usize,
    /// Entries dropped because the queue was full, since start.
    pub dropped: u64,
    /// Entries stored, since start.
    pub written: u64,
    /// Entries a previous run left in the spool, queued again at start.
    pub replayed: u64,
}

impl LogQueue {
    /// An empty queue in memory only, holding at most `capacity` entries.
    pub fn new(capacity: usize) -> Arc<Self> {
        Self::build(capacity, None, Vec::new())
    }

    /// A queue backed by `spool`, holding the `replayed` entries it gave
    /// back and at most `capacity` new ones.
    pub fn with_spool(capacity: usize, spool: Spool, replayed: Vec<pb::LogPredictionRequest>) -> Arc<Self> {
        if !replayed.is_empty() {
            tracing::info!(entries = replayed.len(), "predictions from the spool queued again");
        }
        Self::build(capacity, Some(spool), replayed)
    }

    fn build(capacity: usize, spool: Option<Spool>, replayed: Vec<pb::LogPredictionRequest>) -> Arc<Self> {
        let mut state = State::default();
        for entry in replayed.iter().cloned() {
            state.waiting.push_back(entry.request_id.clone());
            state.entries.insert(entry.request_id.clone(), entry);
        }
        Arc::new(Self {
            state: Mutex::new(state),
            ready: Notify::new(),
            sent: Notify::new(),
            capacity,
            dropped: AtomicU64::new(0),
            written: AtomicU64::new(0),
            spooled: AtomicU64::new(0),
            replayed: replayed.len() as u64,
            spool,
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues the entries of one call, on disk first when there is a spool
    /// (one sync for all of them); returns how many were queued: those that
    /// do not fit in the queue are dropped and counted.
    pub async fn push(&self, mut entries: Vec<pb::LogPredictionRequest>) -> usize {
        let room = self.capacity.saturating_sub(self.state().entries.len());
        for dropped in entries.drain(room.min(entries.len())..) {
            let count = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::error!(
                dropped = count,
                capacity = self.capacity,
                request_id = %dropped.request_id,
                "log queue full: prediction not logged"
            );
        }
        if entries.is_empty() {
            return 0;
        }
        if let Some(spool) = &self.spool {
            match spool.append(&entries).await {
                Ok(()) => drop(self.spooled.fetch_add(entries.len() as u64, Ordering::Relaxed)),
                Err(e) => {
                    tracing::error!(error = %e, entries = entries.len(), "spool write failed; queued in memory only");
                }
            }
        }
        let queued = entries.len();
        {
            // Once on disk they are queued, even if concurrent pushes filled
            // the queue meanwhile: the excess is bounded by the concurrency limit.
            let mut state = self.state();
            for entry in entries {
                state.waiting.push_back(entry.request_id.clone());
                state.entries.insert(entry.request_id.clone(), entry);
            }
        }
        self.ready.notify_one();
        queued
    }

    /// The unwritten entry with this request id, if any.
    pub fn pending(&self, request_id: &str) -> Option<pb::LogPredictionRequest> {
        self.state().entries.get(request_id).cloned()
    }

    /// Up to `max` unwritten entries of `owner` (of every owner for `None`).
    pub fn pending_of(&self, owner: Option<&str>, max: usize) -> Vec<pb::LogPredictionRequest> {
        let state = self.state();
        state.entries.values().filter(|entry| owner.is_none_or(|o| entry.owner == o)).take(max).cloned().collect()
    }

    /// Marks revision `revision` of an entry as stored: the entry is done
    /// unless a later revision of it is waiting.
    pub fn written(&self, request_id: &str, revision: u32) {
        if self.remove_up_to(request_id, revision) {
            self.written.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Removes the entry `request_id` if it holds `revision` or an earlier
    /// one, with its spooled records; `true` if it was there.
    fn remove_up_to(&self, request_id: &str, revision: u32) -> bool {
        {
            let mut state = self.state();
            match state.entries.get(request_id) {
                Some(entry) if entry.revision > revision => return false,
                Some(_) => drop(state.entries.remove(request_id)),
                None => return false,
            }
        }
        if let Some(spool) = &self.spool {
            spool.release(request_id);
        }
        true
    }

    /// Drops the unwritten entry `request_id` if `owner` may (any owner's
    /// for `None`), so that it is never stored: what deleting a prediction
    /// does first. When the writer is sending it, waits until it is sent, so
    /// a delete that follows cannot be overtaken by this write.
    pub async fn forget(&self, request_id: &str, owner: Option<&str>) -> Forgotten {
        loop {
            let sent = self.sent.notified();
            tokio::pin!(sent);
            sent.as_mut().enable();
            {
                let mut state = self.state();
                if !state.sending.contains(request_id) {
                    let found = match state.entries.get(request_id) {
                        None => Forgotten::Nothing,
                        Some(entry) if owner.is_some_and(|o| o != entry.owner) => return Forgotten::NotYours,
                        Some(_) => {
                            state.entries.remove(request_id);
                            Forgotten::Pending
                        }
                    };
                    drop(state);
                    if found == Forgotten::Pending
                        && let Some(spool) = &self.spool
                    {
                        spool.release(request_id);
                    }
                    return found;
                }
            }
            sent.await;
        }
    }

    /// Stores `batch` in one `LogPredictions` call (one transaction): what
    /// the logging service took is marked written, what it rejected is
    /// dropped (a retry could never succeed), loudly.
    ///
    /// # Errors
    /// The call's status; then nothing of the batch is marked.
    pub async fn store(
        &self,
        client: &LoggingClient<TracedChannel<ReplicaChannel>>,
        batch: Vec<pb::LogPredictionRequest>,
    ) -> Result<(), tonic::Status> {
        let sent: Vec<(String, u32)> = batch.iter().map(|entry| (entry.request_id.clone(), entry.revision)).collect();
        let rejected =
            client.clone().log_predictions(pb::LogPredictionsRequest { entries: batch }).await?.into_inner().rejected;
        for entry in &rejected {
            tracing::error!(request_id = %entry.request_id, error = %entry.reason, "log entry rejected");
        }
        for (id, revision) in &sent {
            if rejected.iter().any(|r| &r.request_id == id) {
                // A retry could never succeed: forgotten, loudly (above).
                self.remove_up_to(id, *revision);
            } else {
                self.written(id, *revision);
            }
        }
        Ok(())
    }

    /// The counters.
    pub fn stats(&self) -> QueueStats {
        QueueStats {
            pending: self.state().entries.len(),
            capacity: self.capacity,
            dropped: self.dropped.load(Ordering::Relaxed),
            written: self.written.load(Ordering::Relaxed),
            replayed: self.replayed,
        }
    }

    /// Reports the counters to the metrics: `digits_log_queue_pending`,
    /// `digits_log_queue_capacity` and `digits_log_entries_total{outcome}`
    /// (written, dropped, spooled, replayed).
    pub fn record_metrics(&self) {
        let stats = self.stats();
        metrics::gauge!("digits_log_queue_pending").set(stats.pending as f64);
        metrics::gauge!("digits_log_queue_capacity").set(stats.capacity as f64);
        let spooled = self.spooled.load(Ordering::Relaxed);
        for (outcome, count) in
            [("written", stats.written), ("dropped", stats.dropped), ("spooled", spooled), ("replayed", stats.replayed)]
        {
            metrics::counter!("digits_log_entries_total", "outcome" => outcome).absolute(count);
        }
    }

    /// At a clean stop, after the writer has drained what it could: lets the
    /// spool delete what it holds if every entry was stored.
    pub fn close_spool(&self) {
        if let Some(spool) = &self.spool {
            let waiting = spool.close();
            if waiting > 0 {
                tracing::warn!(waiting, "predictions left in the spool for the next start");
            }
        }
    }

    /// Up to `max` entries for the writer, oldest first, each once (a
    /// drawing logged again is waiting twice); they count as being sent
    /// until [`Self::sent`].
    fn take(&self, max: usize) -> Vec<pb::LogPredictionRequest> {
        let mut state = self.state();
        let mut batch = Vec::new();
        while batch.len() < max {
            let Some(id) = state.waiting.pop_front() else { break };
            // Feedback may have written it already, or it is in this batch.
            if let Some(entry) = state.entries.get(&id).cloned()
                && state.sending.insert(id)
            {
                batch.push(entry);
            }
        }
        batch
    }

    /// The writer is done with `batch`: stored, or to be retried.
    fn sent(&self, batch: &[String]) {
        {
            let mut state = self.state();
            for id in batch {
                state.sending.remove(id);
            }
        }
        self.sent.notify_waiters();
    }

    /// Puts entries the writer could not store back at the head of the line.
    fn retry_later(&self, failed: Vec<String>) {
        let mut state = self.state();
        for id in failed.into_iter().rev() {
            if state.entries.contains_key(&id) {
                state.waiting.push_front(id);
            }
        }
    }
}

/// Stores queued entries through the logging service until told to stop,
/// then drains what is left (within `flush_timeout`).
pub async fn run_writer(
    queue: Arc<LogQueue>,
    client: LoggingClient<TracedChannel<ReplicaChannel>>,
    mut stop: watch::Receiver<bool>,
    flush_timeout: Duration,
) {
    let mut backoff = Duration::ZERO;
    let mut deadline = None;
    loop {
        if deadline.is_none() && *stop.borrow() {
            deadline = Some(tokio::time::Instant::now() + flush_timeout);
            tracing::info!(pending = queue.stats().pending, "flushing the log queue");
        }
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            let pending = queue.stats().pending;
            if pending > 0 {
                tracing::error!(pending, "shutdown: the logging service did not take every queued prediction");
            }
            return;
        }
        if deadline.is_none() && queue.stats().pending < BATCH {
            tokio::select! {
                () = tokio::time::sleep(LINGER) => {}
                _ = stop.changed() => {}
            }
        }
        let batch = queue.take(BATCH);
        if batch.is_empty() {
            if deadline.is_some() {
                return;
            }
            tokio::select! {
                () = queue.ready.notified() => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let failed = write_batch(&queue, &client, batch).await;
        if failed.is_empty() {
            backoff = Duration::ZERO;
            continue;
        }
        tracing::warn!(
            failed = failed.len(),
            pending = queue.stats().pending,
            "logging service unavailable; will retry"
        );
        queue.retry_later(failed);
        backoff = (backoff * 2).clamp(Duration::from_millis(100), MAX_BACKOFF);
        let pause = tokio::time::sleep(backoff);
        if deadline.is_some() {
            pause.await;
        } else {
            tokio::select! {
                () = pause => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// Sends a batch in one `LogPredictions` call (stored in one transaction);
/// returns the request ids to try again: all of them when the call failed.
async fn write_batch(
    queue: &Arc<LogQueue>,
    client: &LoggingClient<TracedChannel<ReplicaChannel>>,
    batch: Vec<pb::LogPredictionRequest>,
) -> Vec<String> {
    let ids: Vec<String> = batch.iter().map(|entry| entry.request_id.clone()).collect();
    let stored = queue.store(client, batch).await;
    queue.sent(&ids);
    match stored {
        Ok(()) => Vec::new(),
        Err(_) => ids,
    }
}

/// The log entry of one prediction by `owner` (revision `revision` of its
/// drawing), made `latency` after the request arrived.
pub fn entry(
    request_id: String,
    revision: u32,
    owner: String,
    prediction: &digits_proto::inference::v1::Prediction,
    model_version: &str,
    source: pb::Source,
    latency: Duration,
) -> pb::LogPredictionRequest {
    pb::LogPredictionRequest {
        request_id,
        predicted_digit: prediction.digit,
        confidence: prediction.confidence,
        probabilities: prediction.probabilities.clone(),
        model_version: model_version.to_owned(),
        input: prediction.input.clone(),
        source: source as i32,
        latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        created_at_unix_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        owner,
        verdict: match digits_proto::inference::v1::Verdict::try_from(prediction.verdict) {
            Ok(digits_proto::inference::v1::Verdict::NotADigit) => pb::Verdict::NotADigit,
            Ok(digits_proto::inference::v1::Verdict::SeveralDigits) => pb::Verdict::SeveralDigits,
            _ => pb::Verdict::Digit,
        } as i32,
        number: prediction.number.clone(),
        traceparent: digits_service_kit::trace::traceparent(),
        parts: prediction
            .parts
            .iter()
            .map(|part| {
                let b = part.r#box.unwrap_or_default();
                pb::Part {
                    x: b.x,
                    y: b.y,
                    width: b.width,
                    height: b.height,
                    digit: part.digit,
                    confidence: part.confidence,
                    probabilities: part.probabilities.clone(),
                    not_a_digit: part.not_a_digit,
                    input: part.input.clone(),
                }
            })
            .collect(),
        revision,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, revision: u32, owner: &str) -> pb::LogPredictionRequest {
        pb::LogPredictionRequest { request_id: id.into(), revision, owner: owner.into(), ..Default::default() }
    }

    #[tokio::test]
    async fn a_drawing_is_done_only_once_its_latest_revision_is_written() {
        let queue = LogQueue::new(10);
        queue.push(vec![entry("drawing", 0, "a")]).await;
        let batch = queue.take(10);
        assert_eq!(batch.len(), 1);
        // The pen rests again while revision 0 is being sent.
        queue.push(vec![entry("drawing", 1, "a")]).await;
        queue.written("drawing", 0);
        queue.sent(&["drawing".to_owned()]);
        assert_eq!(queue.pending("drawing").map(|e| e.revision), Some(1), "revision 1 still waits");
        let batch = queue.take(10);
        assert_eq!(batch.iter().map(|e| e.revision).collect::<Vec<_>>(), [1], "sent once, the latest");
        queue.written("drawing", 1);
        queue.sent(&["drawing".to_owned()]);
        assert_eq!(queue.stats().pending, 0);
        assert_eq!(queue.stats().written, 1, "one drawing, one entry written");
    }

    #[tokio::test]
    async fn forgetting_drops_only_the_owners_entry_and_waits_for_one_being_sent() {
        let queue = LogQueue::new(10);
        queue.push(vec![entry("mine", 0, "a"), entry("sending", 0, "a")]).await;
        assert_eq!(queue.forget("mine", Some("b")).await, Forgotten::NotYours);
        assert_eq!(queue.forget("mine", Some("a")).await, Forgotten::Pending);
        assert_eq!(queue.forget("mine", Some("a")).await, Forgotten::Nothing);

        let batch = queue.take(10);
        assert_eq!(batch.len(), 1);
        let forgetting = {
            let queue = queue.clone();
            tokio::spawn(async move { queue.forget("sending", None).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!forgetting.is_finished(), "a delete waits for the write it would race");
        queue.written("sending", 0);
        queue.sent(&["sending".to_owned()]);
        assert_eq!(forgetting.await.expect("joins"), Forgotten::Nothing);
    }
}
