//! The worker pool that does all CPU work: decoding, preprocessing and the model.
//!
//! tract runs one state on one thread, so each worker thread owns its own
//! state over each shared plan it has run, and a batch is split across
//! workers so every core is used. Each job carries the model version that
//! reads it, so versions come and go without touching the pool: a worker
//! makes a state for a version when it first meets it, and drops it once
//! that version is no longer held by anyone. Jobs wait in a bounded queue; when it is full, callers get
//! [`InferError::Busy`] at once instead of piling up. A job whose caller has
//! gone, or whose deadline has passed, is dropped before it runs
//! ([`InferError::Expired`]), so an overload does not turn into work for
//! nobody.
//!
//! A call of one image while a core is free (fewer computations running than
//! there are workers) runs on the task that received it instead: no queue,
//! no hand-off to a worker and no wake-up of the caller afterwards, which is
//! most of what a lone request pays beyond the model. Otherwise the async
//! runtime's threads only pass messages.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use digits_preprocess::Limits;
use digits_proto::inference::v1 as pb;
use tokio::sync::oneshot;

use crate::decode;
use crate::error::InferError;
use crate::model::{Model, ModelCard, RunError, Session};
use crate::reading::Reading;

/// The results of one call, in request order, with where the time went.
#[derive(Debug)]
pub struct Outcome {
    /// One per image.
    pub readings: Vec<Reading>,
    /// Decoding and preprocessing (the longest of the parallel parts).
    pub preprocess: Duration,
    /// The rest of the wall time: waiting for a worker and running the model.
    pub inference: Duration,
}

struct Job {
    model: Model,
    queued_at: Instant,
    images: Vec<pb::Image>,
    first_index: usize,
    deadline: Option<Instant>,
    reply: oneshot::Sender<Result<(Vec<Reading>, Duration), InferError>>,
}

/// A pool of inference workers.
pub struct Engine {
    sender: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
    queue: usize,
    expired: Arc<AtomicU64>,
    busy: Arc<AtomicUsize>,
    limits: Limits,
    in_place: InPlace,
    ran_in_place: AtomicU64,
}

/// One computation counted as running while it lives.
struct Running<'a>(&'a AtomicUsize);

impl<'a> Running<'a> {
    fn start(busy: &'a AtomicUsize) -> Self {
        busy.fetch_add(1, Ordering::AcqRel);
        Self(busy)
    }

    /// Counts one more unless `cores` are already busy.
    fn start_if_free(busy: &'a AtomicUsize, cores: usize) -> Option<Self> {
        busy.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < cores).then_some(n + 1))
            .ok()
            .map(|_| Self(busy))
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The states (and input buffers) of calls run in place, lent out one per
/// call; at most one per core is ever made. (Not thread-locals: tract's
/// states use thread-locals of their own, which may be gone by the time a
/// runtime thread's would be dropped.)
#[derive(Default)]
struct InPlace(std::sync::Mutex<Vec<(Sessions, Vec<f32>)>>);

impl InPlace {
    fn take(&self) -> (Sessions, Vec<f32>) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop().unwrap_or_default()
    }

    fn give_back(&self, states: (Sessions, Vec<f32>)) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(states);
    }
}

impl Engine {
    /// Starts `workers` threads, with room for `queue` waiting jobs.
    ///
    /// # Errors
    /// When a worker thread cannot be spawned.
    pub fn start(workers: usize, queue: usize, limits: Limits) -> std::io::Result<Self> {
        let (sender, receiver) = crossbeam_channel::bounded(queue);
        let expired = Arc::new(AtomicU64::new(0));
        let busy = Arc::new(AtomicUsize::new(0));
        let workers = (0..workers)
            .map(|i| {
                let (receiver, expired, busy) = (receiver.clone(), expired.clone(), busy.clone());
                std::thread::Builder::new()
                    .name(format!("inference-{i}"))
                    .spawn(move || work(&limits, &receiver, &expired, &busy))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            sender: Some(sender),
            workers,
            queue,
            expired,
            busy,
            limits,
            in_place: InPlace::default(),
            ran_in_place: AtomicU64::new(0),
        })
    }

    /// Jobs dropped unrun since start, because their caller had gone or
    /// their deadline had passed.
    pub fn expired(&self) -> u64 {
        self.expired.load(Ordering::Relaxed)
    }

    /// Calls run in place, on the task that received them, since start.
    pub fn ran_in_place(&self) -> u64 {
        self.ran_in_place.load(Ordering::Relaxed)
    }

    /// Number of worker threads.
    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// Decodes, splits, preprocesses and reads `images` with `model`, split
    /// across the workers, unless `deadline` passes first.
    ///
    /// # Errors
    /// The first invalid image (its index in the message), [`InferError::Busy`]
    /// when the queue is full, [`InferError::Expired`], or [`InferError::Internal`].
    pub async fn score(
        &self,
        model: &Model,
        images: Vec<pb::Image>,
        deadline: Option<Instant>,
    ) -> Result<Outcome, InferError> {
        let started = Instant::now();
        let sender = self.sender.as_ref().ok_or_else(|| InferError::Internal("the engine is stopped".into()))?;
        metrics::histogram!("digits_inference_images_per_call").record(images.len() as f64);
        if images.len() == 1
            && let Some(_running) = Running::start_if_free(&self.busy, self.workers.len())
        {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                self.expired.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("digits_inference_jobs_expired_total").increment(1);
                return Err(InferError::Expired);
            }
            self.ran_in_place.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("digits_inference_calls_run_in_place_total").increment(1);
            // It waited for no worker: the queue-wait histogram counts it at zero.
            metrics::histogram!("digits_inference_queue_wait_seconds").record(0.0);
            // This runtime thread may not have run a model before.
            crate::vector_registers::clear_upper_halves();
            let (mut sessions, mut input) = self.in_place.take();
            let result = run(&mut sessions, &mut input, &self.limits, model, &images, 0);
            self.in_place.give_back((sessions, input));
            let (readings, preprocess) = result?;
            return Ok(Outcome { readings, preprocess, inference: started.elapsed().saturating_sub(preprocess) });
        }
        let chunk = images.len().div_ceil(self.workers.len()).max(1);
        let mut pending = Vec::new();
        let mut images = images.into_iter();
        let mut first_index = 0;
        loop {
            let part: Vec<pb::Image> = images.by_ref().take(chunk).collect();
            if part.is_empty() {
                break;
            }
            let (reply, answer) = oneshot::channel();
            let len = part.len();
            let job =
                Job { model: model.clone(), queued_at: Instant::now(), images: part, first_index, deadline, reply };
            match sender.try_send(job) {
                Ok(()) => pending.push(answer),
                Err(TrySendError::Full(_)) => {
                    metrics::counter!("digits_inference_jobs_refused_total").increment(1);
                    return Err(InferError::Busy { queued: self.queue });
                }
                Err(TrySendError::Disconnected(_)) => return Err(InferError::Internal("no workers left".into())),
            }
            first_index += len;
        }
        metrics::gauge!("digits_inference_queue_depth").set(sender.len() as f64);
        let mut readings = Vec::with_capacity(first_index);
        let mut preprocess = Duration::ZERO;
        for answer in pending {
            let (part, spent) = answer.await.map_err(|_| InferError::Internal("a worker stopped".into()))??;
            readings.extend(part);
            preprocess = preprocess.max(spent);
        }
        Ok(Outcome { readings, preprocess, inference: started.elapsed().saturating_sub(preprocess) })
    }
}

impl Drop for Engine {
    /// Closes the queue, lets the workers finish queued jobs, and joins them.
    fn drop(&mut self) {
        self.sender.take();
        for worker in self.workers.drain(..) {
            if worker.join().is_err() {
                tracing::error!("an inference worker panicked");
            }
        }
    }
}

/// One worker's states, one per model version it has run, each dropped once
/// its version is held by no one else (removed from the repository, and its
/// last call done).
#[derive(Default)]
struct Sessions(Vec<(Weak<ModelCard>, Session)>);

impl Sessions {
    fn for_model(&mut self, model: &Model) -> Result<&mut Session, RunError> {
        self.0.retain(|(card, _)| card.strong_count() > 0);
        let index = match self.0.iter().position(|(card, _)| std::ptr::eq(card.as_ptr(), Arc::as_ptr(&model.card))) {
            Some(index) => index,
            None => {
                self.0.push((Arc::downgrade(&model.card), model.session()?));
                self.0.len() - 1
            }
        };
        Ok(&mut self.0[index].1)
    }
}

fn work(limits: &Limits, jobs: &Receiver<Job>, expired: &AtomicU64, busy: &AtomicUsize) {
    // A new thread inherits the registers of the one that loaded the model.
    crate::vector_registers::clear_upper_halves();
    let mut sessions = Sessions::default();
    let mut input = Vec::new();
    while let Ok(job) = jobs.recv() {
        let _running = Running::start(busy);
        metrics::gauge!("digits_inference_queue_depth").set(jobs.len() as f64);
        metrics::histogram!("digits_inference_queue_wait_seconds").record(job.queued_at.elapsed().as_secs_f64());
        if job.reply.is_closed() || job.deadline.is_some_and(|d| Instant::now() >= d) {
            expired.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("digits_inference_jobs_expired_total").increment(1);
            let _ = job.reply.send(Err(InferError::Expired));
            continue;
        }
        let result = run(&mut sessions, &mut input, limits, &job.model, &job.images, job.first_index);
        // The caller may have gone away (cancelled call); nothing to do then.
        let _ = job.reply.send(result);
    }
}

/// Decodes, splits, preprocesses and reads `images` (the call's from
/// `first_index` on) with `model`, in this thread's `sessions`.
fn run(
    sessions: &mut Sessions,
    input: &mut Vec<f32>,
    limits: &Limits,
    model: &Model,
    images: &[pb::Image],
    first_index: usize,
) -> Result<(Vec<Reading>, Duration), InferError> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let started = Instant::now();
        let images = images
            .iter()
            .enumerate()
            .map(|(i, image)| decode::to_parts(image, limits).map_err(|e| e.at_index(first_index + i)))
            .collect::<Result<Vec<_>, _>>()?;
        let preprocess = started.elapsed();
        metrics::histogram!("digits_inference_preprocess_seconds").record(preprocess.as_secs_f64());
        let session = sessions.for_model(model)?;
        let computing = Instant::now();
        let readings = model.read(session, images, input)?;
        metrics::histogram!("digits_inference_compute_seconds").record(computing.elapsed().as_secs_f64());
        Ok((readings, preprocess))
    }));
    result.unwrap_or_else(|_| {
        // Start from clean states after a panic.
        *sessions = Sessions::default();
        Err(InferError::Internal("the worker panicked on this request".into()))
    })
}
