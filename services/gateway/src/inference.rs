//! Calls to the inference replicas, with retries where they are safe. Every
//! inference call is a pure function of its request, so a call that failed
//! because a replica went away (or was busy) is retried on the balanced
//! channel, which by then routes around it.

use std::error::Error as _;
use std::future::Future;
use std::time::Duration;

use digits_proto::inference::v1 as pb;
use pb::inference_client::InferenceClient as Client;
use tonic::transport::Channel;
use tonic::{Code, Response, Status};

use crate::discovery::Replicas;

/// Pauses before the second, third, ... attempt.
const BACKOFF: [Duration; 4] =
    [Duration::from_millis(10), Duration::from_millis(50), Duration::from_millis(150), Duration::from_millis(400)];

/// A client of the inference service over every healthy replica.
#[derive(Clone)]
pub struct InferenceClient {
    client: Client<Channel>,
    replicas: Replicas,
}

impl InferenceClient {
    /// A client over `replicas`; `max_message_bytes` bounds the requests it sends.
    pub fn new(replicas: Replicas, max_message_bytes: usize) -> Self {
        let client = Client::new(replicas.channel())
            .max_encoding_message_size(max_message_bytes)
            .max_decoding_message_size(usize::MAX);
        Self { client, replicas }
    }

    /// The replicas behind this client.
    pub fn replicas(&self) -> &Replicas {
        &self.replicas
    }

    /// Recognises one image.
    ///
    /// # Errors
    /// The last attempt's status.
    pub async fn predict(&self, request: pb::PredictRequest) -> Result<Response<pb::PredictResponse>, Status> {
        self.with_retries(|mut c| {
            let request = request.clone();
            async move { c.predict(request).await }
        })
        .await
    }

    /// Recognises a batch.
    ///
    /// # Errors
    /// The last attempt's status.
    pub async fn predict_batch(
        &self,
        request: pb::PredictBatchRequest,
    ) -> Result<Response<pb::PredictBatchResponse>, Status> {
        self.with_retries(|mut c| {
            let request = request.clone();
            async move { c.predict_batch(request).await }
        })
        .await
    }

    /// The model's card and limits.
    ///
    /// # Errors
    /// The last attempt's status.
    pub async fn model_info(&self) -> Result<Response<pb::ModelInfo>, Status> {
        self.with_retries(|mut c| async move { c.get_model_info(pb::GetModelInfoRequest {}).await }).await
    }

    async fn with_retries<T, F, Fut>(&self, call: F) -> Result<Response<T>, Status>
    where
        F: Fn(Client<Channel>) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        let mut attempt = 0;
        loop {
            let status = match call(self.client.clone()).await {
                Ok(response) => return Ok(response),
                Err(status) => status,
            };
            if !is_retryable(&status) || attempt == BACKOFF.len() {
                return Err(status);
            }
            tracing::debug!(code = ?status.code(), message = status.message(), attempt, "retrying an inference call");
            if status.code() != Code::ResourceExhausted {
                // Most likely a replica went away: drop it from the set now.
                self.replicas.refresh_now();
            }
            tokio::time::sleep(BACKOFF[attempt]).await;
            attempt += 1;
        }
    }
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
