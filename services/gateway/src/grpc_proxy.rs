//! The inference gRPC API on the gateway's own port, for developers: one
//! published address whose calls are spread over every replica, and logged
//! like the web app's predictions (source `grpc`).
//!
//! A caller may send `authorization: Bearer KEY` with one of
//! `DIGITS_API_KEYS`: its calls then have the key's own rate, and its
//! predictions are stored with the key's name as owner. Without a key, the
//! caller's address has the anonymous rate; an unknown key is
//! `UNAUTHENTICATED`. The caller's deadline (`grpc-timeout`) is passed on,
//! and a batch may hold at most `DIGITS_PUBLIC_MAX_BATCH` images.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

use digits_proto::inference::v1 as pb;
use digits_proto::logging::v1::Source;
use digits_service_kit::grpc;
use tokio::sync::OwnedSemaphorePermit;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status};

use crate::admission::{Admission, Refused};
use crate::client_addr::TrustedProxies;
use crate::identity::{self, Caller, Credentials};
use crate::inference::InferenceClient;
use crate::log_queue::{self, LogQueue};

/// Forwards `digits.inference.v1.Inference` calls to the replicas.
#[derive(Clone)]
pub struct InferenceProxy {
    inference: InferenceClient,
    logs: Arc<LogQueue>,
    admission: Arc<Admission>,
    credentials: Credentials,
    proxies: TrustedProxies,
    max_batch: usize,
}

impl InferenceProxy {
    /// A proxy over `inference` that queues its predictions on `logs`,
    /// admitting calls through `admission`, at most `max_batch` images each.
    pub fn new(
        inference: InferenceClient,
        logs: Arc<LogQueue>,
        admission: Arc<Admission>,
        credentials: Credentials,
        proxies: TrustedProxies,
        max_batch: usize,
    ) -> Self {
        Self { inference, logs, admission, credentials, proxies, max_batch }
    }

    /// Who calls, and whether the call may start now.
    fn admit<T>(&self, request: &Request<T>) -> Result<(Caller, OwnedSemaphorePermit), Status> {
        let caller = match request.metadata().get("authorization") {
            None => Caller::Anonymous,
            Some(value) => value
                .to_str()
                .ok()
                .and_then(identity::bearer_token)
                .and_then(|token| self.credentials.bearer(token, false).ok())
                .ok_or_else(|| Status::unauthenticated("unknown API key"))?,
        };
        let peer = request.remote_addr().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
        let forwarded = if self.proxies.trusts(peer) {
            request.metadata().clone().into_headers()
        } else {
            axum::http::HeaderMap::new()
        };
        let client = self.proxies.client(peer, &forwarded);
        let permit = self.admission.admit(&caller, client).map_err(refused_status)?;
        Ok((caller, permit))
    }

    /// Queues the predictions of one call for logging, together.
    async fn log(&self, caller: &Caller, predictions: &[pb::Prediction], model_version: &str, started: Instant) {
        let (owner, latency) = (caller.owner(), started.elapsed());
        let entries = predictions
            .iter()
            .map(|p| {
                let id = uuid::Uuid::new_v4().to_string();
                log_queue::entry(id, 0, owner.clone(), p, model_version, Source::Grpc, latency)
            })
            .collect();
        self.logs.push(entries).await;
    }
}

impl InferenceProxy {
    /// Recognises a batch for `caller`, already admitted, within its
    /// `timeout`, and queues the predictions for logging. Both the gRPC port
    /// and the Open Inference Protocol's REST endpoints come here.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a batch beyond `DIGITS_PUBLIC_MAX_BATCH`, else
    /// the inference call's status.
    pub async fn recognise(
        &self,
        caller: &Caller,
        batch: pb::PredictBatchRequest,
        timeout: Option<std::time::Duration>,
    ) -> Result<Response<pb::PredictBatchResponse>, Status> {
        let started = Instant::now();
        let images = batch.images.len();
        if images > self.max_batch {
            return Err(Status::invalid_argument(format!(
                "{images} images in one batch; the gateway takes at most {}",
                self.max_batch
            )));
        }
        let deadline = self.inference.deadline(timeout);
        // The canary is sticky per caller: the gateway, which knows who calls, keys it.
        let batch = pb::PredictBatchRequest { routing_key: caller.owner(), ..batch };
        let response = self.inference.predict_batch(batch, deadline).await?;
        let answer = response.get_ref();
        if let Some(key) = caller.key_name() {
            tracing::info!(key, images, "batch predicted for an API key");
        }
        self.log(caller, &answer.predictions, &answer.model_version, started).await;
        Ok(response)
    }
}

/// A refusal as gRPC sees it, with `retry-after` (seconds) in the metadata.
fn refused_status(refused: Refused) -> Status {
    let mut status = match refused {
        Refused::RateLimited(_) => Status::resource_exhausted(refused.to_string()),
        Refused::Overloaded => Status::unavailable(refused.to_string()),
    };
    status.metadata_mut().insert("retry-after", MetadataValue::from(refused.retry_after_secs()));
    status
}

#[tonic::async_trait]
impl pb::inference_server::Inference for InferenceProxy {
    async fn predict(&self, request: Request<pb::PredictRequest>) -> Result<Response<pb::PredictResponse>, Status> {
        let started = Instant::now();
        let (caller, _permit) = self.admit(&request)?;
        let deadline = self.inference.deadline(grpc::timeout_of(request.metadata()));
        let request = pb::PredictRequest { routing_key: caller.owner(), ..request.into_inner() };
        let response = self.inference.predict(request, deadline).await?;
        let answer = response.get_ref();
        if let Some(prediction) = &answer.prediction {
            self.log(&caller, std::slice::from_ref(prediction), &answer.model_version, started).await;
        }
        // Passed on as is: the metadata names the replica that answered.
        Ok(response)
    }

    async fn predict_batch(
        &self,
        request: Request<pb::PredictBatchRequest>,
    ) -> Result<Response<pb::PredictBatchResponse>, Status> {
        let (caller, _permit) = self.admit(&request)?;
        let timeout = grpc::timeout_of(request.metadata());
        self.recognise(&caller, request.into_inner(), timeout).await
    }

    async fn get_model_file(
        &self,
        request: Request<pb::GetModelFileRequest>,
    ) -> Result<Response<pb::ModelFile>, Status> {
        let (caller, _permit) = self.admit(&request)?;
        let request = request.into_inner();
        // The version this caller's predictions get, as for Predict.
        self.inference.model_file(&request.model_version, caller.owner(), request.info_only).await
    }

    async fn get_model_info(
        &self,
        request: Request<pb::GetModelInfoRequest>,
    ) -> Result<Response<pb::ModelInfo>, Status> {
        let (_caller, _permit) = self.admit(&request)?;
        let mut info = self.inference.model_info(&request.get_ref().model_version).await?;
        // The limits a caller of this port meets.
        if let Some(limits) = info.get_mut().limits.as_mut() {
            limits.max_batch = limits.max_batch.min(u32::try_from(self.max_batch).unwrap_or(u32::MAX));
        }
        Ok(info)
    }
}
