//! Logging off the request path. A prediction is answered as soon as the
//! model has spoken; its log entry waits here until the writer has stored it
//! in the logging service. Entries are keyed by request id, so a retry after
//! a lost answer cannot store a row twice, and feedback can flush its entry
//! ahead of the queue. The queue is bounded: when it is full, new entries are
//! dropped, counted, and reported in `/readyz` and the logs.
//!
//! With a [`Spool`], an entry is on disk before [`LogQueue::push`] returns,
//! and the entries a crashed run left are queued again at start.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use digits_proto::logging::v1 as pb;
use pb::logging_client::LoggingClient;
use serde::Serialize;
use tokio::sync::{Notify, watch};
use tonic::transport::Channel;

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
    capacity: usize,
    dropped: AtomicU64,
    written: AtomicU64,
    replayed: u64,
    spool: Option<Spool>,
}

#[derive(Default)]
struct State {
    /// Request ids not yet handed to the writer, oldest first.
    waiting: VecDeque<String>,
    /// Every unwritten entry, including those the writer is sending.
    entries: HashMap<String, pb::LogPredictionRequest>,
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
            capacity,
            dropped: AtomicU64::new(0),
            written: AtomicU64::new(0),
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
        if let Some(spool) = &self.spool
            && let Err(e) = spool.append(&entries).await
        {
            tracing::error!(error = %e, entries = entries.len(), "spool write failed; queued in memory only");
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

    /// Marks an entry as stored.
    pub fn written(&self, request_id: &str) {
        if self.state().entries.remove(request_id).is_some() {
            self.written.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(spool) = &self.spool {
            spool.release(request_id);
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
        client: &LoggingClient<Channel>,
        batch: Vec<pb::LogPredictionRequest>,
    ) -> Result<(), tonic::Status> {
        let ids: Vec<String> = batch.iter().map(|entry| entry.request_id.clone()).collect();
        let rejected =
            client.clone().log_predictions(pb::LogPredictionsRequest { entries: batch }).await?.into_inner().rejected;
        for entry in &rejected {
            tracing::error!(request_id = %entry.request_id, error = %entry.reason, "log entry rejected");
            self.rejected(&entry.request_id);
        }
        for id in ids.iter().filter(|id| !rejected.iter().any(|r| &r.request_id == *id)) {
            self.written(id);
        }
        Ok(())
    }

    /// Forgets an entry the logging service can never take.
    fn rejected(&self, request_id: &str) {
        self.state().entries.remove(request_id);
        if let Some(spool) = &self.spool {
            spool.release(request_id);
        }
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

    /// Up to `max` entries for the writer, oldest first.
    fn take(&self, max: usize) -> Vec<pb::LogPredictionRequest> {
        let mut state = self.state();
        let mut batch = Vec::new();
        while batch.len() < max {
            let Some(id) = state.waiting.pop_front() else { break };
            // Feedback may have written it already.
            if let Some(entry) = state.entries.get(&id) {
                batch.push(entry.clone());
            }
        }
        batch
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
    client: LoggingClient<Channel>,
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
    client: &LoggingClient<Channel>,
    batch: Vec<pb::LogPredictionRequest>,
) -> Vec<String> {
    let ids: Vec<String> = batch.iter().map(|entry| entry.request_id.clone()).collect();
    match queue.store(client, batch).await {
        Ok(()) => Vec::new(),
        Err(_) => ids,
    }
}

/// The log entry of one prediction by `owner`, made `latency` after the request arrived.
pub fn entry(
    request_id: String,
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
    }
}
