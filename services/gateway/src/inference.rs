//! Calls to the inference replicas, within a deadline, with retries where
//! they are safe. Every inference call is a pure function of its request, so
//! a call that failed because a replica went away (or was busy) is retried
//! on the balanced channel, which by then routes around it.
//!
//! - **Deadlines:** each call has one (the caller's, or `DIGITS_GRPC_TIMEOUT_MS`),
//!   and every attempt carries what is left of it as `grpc-timeout`, so the
//!   replica drops work nobody waits for.
//! - **Retry budget:** retries may add at most a fifth on top of the calls
//!   that succeed (plus a small floor), so an overloaded set of replicas is
//!   not hit by a storm of retries; the pauses between attempts are jittered.
//! - **No replica:** when none is healthy, a call waits at most
//!   [`NO_REPLICA_WAIT`] for one to appear, then fails with `UNAVAILABLE`.

use std::error::Error as _;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use digits_proto::inference::v1 as pb;
use digits_service_kit::trace::{Propagate, TracedChannel};
use pb::inference_client::InferenceClient as Client;
use tokio::time::Instant;
use tonic::{Code, Request, Response, Status};
use tower::retry::budget::{Budget, TpsBudget};

pub use crate::discovery::NO_REPLICA_WAIT;
use crate::discovery::{ReplicaChannel, Replicas};

/// Pauses before the second, third, ... attempt, before jitter.
const BACKOFF: [Duration; 4] =
    [Duration::from_millis(10), Duration::from_millis(50), Duration::from_millis(150), Duration::from_millis(400)];

/// A client of the inference service over every healthy replica.
#[derive(Clone)]
pub struct InferenceClient {
    client: Client<TracedChannel<ReplicaChannel>>,
    replicas: Replicas,
    timeout: Duration,
    budget: Arc<TpsBudget>,
}

impl InferenceClient {
    /// A client over `replicas`; `max_message_bytes` bounds the requests it
    /// sends, `timeout` is a call's deadline unless the caller's is sooner.
    pub fn new(replicas: Replicas, max_message_bytes: usize, timeout: Duration) -> Self {
        let client = Client::with_interceptor(replicas.channel(), Propagate)
            .max_encoding_message_size(max_message_bytes)
            .max_decoding_message_size(usize::MAX);
        // Over 10 s, retries up to 20% of the calls, and at least 5 a second.
        let budget = Arc::new(TpsBudget::new(Duration::from_secs(10), 5, 0.2));
        Self { client, replicas, timeout, budget }
    }

    /// The deadline of a call starting now, or the caller's if sooner.
    pub fn deadline(&self, caller: Option<Duration>) -> Instant {
        Instant::now() + caller.map_or(self.timeout, |t| t.min(self.timeout))
    }

    /// The replicas behind this client.
    pub fn replicas(&self) -> &Replicas {
        &self.replicas
    }

    /// Recognises one image before `deadline`.
    ///
    /// # Errors
    /// The last attempt's status.
    pub async fn predict(
        &self,
        request: pb::PredictRequest,
        deadline: Instant,
    ) -> Result<Response<pb::PredictResponse>, Status> {
        self.with_retries(deadline, |mut c, request| async move { c.predict(request).await }, request).await
    }

    /// Recognises a batch before `deadline`.
    ///
    /// # Errors
    /// The last attempt's status.
    pub async fn predict_batch(
        &self,
        request: pb::PredictBatchRequest,
        deadline: Instant,
    ) -> Result<Response<pb::PredictBatchResponse>, Status> {
        self.with_retries(deadline, |mut c, request| async move { c.predict_batch(request).await }, request).await
    }

    /// The card and limits of model version `version` (empty: the current
    /// one), and every version served.
    ///
    /// # Errors
    /// The last attempt's status: `NOT_FOUND` for a version not served.
    pub async fn model_info(&self, version: &str) -> Result<Response<pb::ModelInfo>, Status> {
        let deadline = self.deadline(None);
        self.with_retries(
            deadline,
            |mut c, request| async move { c.get_model_info(request).await },
            pb::GetModelInfoRequest { model_version: version.to_owned() },
        )
        .await
    }

    /// The model file (or with `info_only`, only its description) of
    /// `version`, or of the version that answers `routing_key`.
    ///
    /// # Errors
    /// The last attempt's status: `NOT_FOUND` for a version not served.
    pub async fn model_file(
        &self,
        version: &str,
        routing_key: String,
        info_only: bool,
    ) -> Result<Response<pb::ModelFile>, Status> {
        let deadline = self.deadline(None);
        let request = pb::GetModelFileRequest { model_version: version.to_owned(), routing_key, info_only };
        self.with_retries(deadline, |mut c, request| async move { c.get_model_file(request).await }, request).await
    }

    async fn with_retries<M, T, F, Fut>(&self, deadline: Instant, call: F, message: M) -> Result<Response<T>, Status>
    where
        M: Clone,
        F: Fn(Client<TracedChannel<ReplicaChannel>>, Request<M>) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        let mut attempt = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Status::deadline_exceeded("the recognizer did not answer in time"));
            }
            if !self.replicas.any_within(left.min(NO_REPLICA_WAIT)).await {
                return Err(Status::unavailable("no inference replica is available"));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let mut request = Request::new(message.clone());
            request.set_timeout(left);
            let status = match tokio::time::timeout(left, call(self.client.clone(), request)).await {
                Ok(Ok(response)) => {
                    self.budget.deposit();
                    return Ok(response);
                }
                Ok(Err(status)) => status,
                Err(_) => Status::deadline_exceeded("the recognizer did not answer in time"),
            };
            if !is_retryable(&status) || attempt == BACKOFF.len() {
                return Err(status);
            }
            if !self.budget.withdraw() {
                tracing::debug!(code = ?status.code(), "retry budget spent; not retrying");
                return Err(status);
            }
            tracing::debug!(code = ?status.code(), message = status.message(), attempt, "retrying an inference call");
            if status.code() != Code::ResourceExhausted {
                // Most likely a replica went away: drop it from the set now.
                self.replicas.refresh_now();
            }
            tokio::time::sleep(jittered(BACKOFF[attempt])).await;
            attempt += 1;
        }
    }
}

/// A pause between half and one and a half times `base`, so callers that
/// failed together do not retry together.
fn jittered(base: Duration) -> Duration {
    base / 2 + base.mul_f64(fastrand::f64())
}

/// Whether a failed call may succeed on another attempt: the replica was
/// unreachable, went away mid-call, or was busy. Errors about the request
/// itself are never retried.
fn is_retryable(status: &Status) -> bool {
    match status.code() {
        Code::Unavailable | Code::ResourceExhausted | Code::Cancelled => true,
        // A connection reset mid-call surfaces as Unknown with a transport error.
        Code::Unknown => status.source().is_some() || status.message().contains("transport"),
        _ => false,
    }
}
