//! The gRPC methods of `digits.inference.v1.Inference`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use digits_preprocess::Limits;
use digits_proto::inference::metadata;
use digits_proto::inference::v1 as pb;
use digits_service_kit::grpc;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::{Request, Response, Status};

use crate::engine::{Engine, Outcome};
use crate::model::Model;
use crate::reading::{Reading, ScoredPart, Verdict};
use crate::repository::{Registry, Role};

/// The service: the engine, the versions it can answer with, and its limits.
pub struct InferenceService {
    engine: Arc<Engine>,
    registry: Arc<Registry>,
    limits: pb::Limits,
    max_batch: usize,
    replica: MetadataValue<Ascii>,
}

/// Longest routing key a call may send.
pub const MAX_ROUTING_KEY: usize = 128;

impl InferenceService {
    /// Builds the service over a running engine and the registry of versions.
    pub fn new(
        engine: Arc<Engine>,
        registry: Arc<Registry>,
        limits: Limits,
        max_batch: usize,
        max_message_bytes: usize,
        replica: &str,
    ) -> Self {
        let limits = pb::Limits {
            max_pixels: limits.max_pixels,
            max_side: limits.max_side,
            max_batch: max_batch as u32,
            max_message_bytes: max_message_bytes as u64,
        };
        // A name that is not valid metadata (non-ASCII) falls back to a neutral one.
        let replica = MetadataValue::try_from(replica).unwrap_or_else(|_| MetadataValue::from_static("inference"));
        Self { engine, registry, limits, max_batch, replica }
    }

    /// The version that answers a call naming `asked` (empty: any) with
    /// `routing_key`, counted as a call it answers.
    fn choose(&self, asked: &str, routing_key: &str) -> Result<Model, Status> {
        let model = self.pick(asked, routing_key)?;
        metrics::counter!("digits_model_calls_total", "version" => model.card.version.clone()).increment(1);
        Ok(model)
    }

    /// The version `asked` (empty: the one for `routing_key`), not counted.
    fn pick(&self, asked: &str, routing_key: &str) -> Result<Model, Status> {
        if routing_key.len() > MAX_ROUTING_KEY {
            return Err(Status::invalid_argument(format!(
                "routing_key has {} bytes; the limit is {MAX_ROUTING_KEY}",
                routing_key.len()
            )));
        }
        Ok(self.registry.choose(asked, routing_key)?.model.clone())
    }

    /// `ModelInfo` of the version named `asked` (empty: the current one).
    fn info(&self, asked: &str) -> Result<pb::ModelInfo, Status> {
        let catalog = self.registry.snapshot();
        let served = if asked.is_empty() { catalog.current() } else { catalog.named(asked)? };
        let card = &served.model.card;
        let versions = catalog
            .versions()
            .map(|(version, served, role, percent)| pb::ServedVersion {
                version: version.to_string(),
                role: match role {
                    Role::Current => pb::VersionRole::Current,
                    Role::Canary => pb::VersionRole::Canary,
                    Role::Available => pb::VersionRole::Available,
                } as i32,
                traffic_percent: u32::from(percent),
                test_accuracy: served.model.card.metrics.test_accuracy,
                sha256: served.model.card.file.sha256.clone(),
                origin: served.origin.as_str().into(),
            })
            .collect();
        Ok(pb::ModelInfo {
            name: card.name.clone(),
            version: card.version.clone(),
            input: Some(pb::InputSpec {
                width: 28,
                height: 28,
                channels: 1,
                scale: card.normalisation.scale,
                offset: card.normalisation.offset,
            }),
            test_accuracy: card.metrics.test_accuracy,
            per_digit_accuracy: card.metrics.per_digit_accuracy.clone(),
            parameters: card.size.parameters,
            multiply_adds: card.size.multiply_adds_per_image,
            created: card.created.clone(),
            sha256: card.file.sha256.clone(),
            limits: Some(self.limits),
            classes: card.classes.clone(),
            rejection_threshold: card.rejection_threshold().unwrap_or(0.0),
            versions,
        })
    }
}

fn to_proto(reading: Reading) -> pb::Prediction {
    let verdict = match reading.verdict {
        Verdict::Digit => pb::Verdict::Digit,
        Verdict::NotADigit => pb::Verdict::NotADigit,
        Verdict::SeveralDigits => pb::Verdict::SeveralDigits,
    };
    let deciding = reading.decided_by();
    pb::Prediction {
        digit: deciding.digit(),
        confidence: deciding.confidence(),
        probabilities: deciding.probabilities.digits.to_vec(),
        input: deciding.input.pixels().to_vec(),
        verdict: verdict as i32,
        number: reading.number(),
        not_a_digit: deciding.probabilities.not_a_digit,
        parts: reading.parts.iter().map(part_to_proto).collect(),
    }
}

fn part_to_proto(part: &ScoredPart) -> pb::Part {
    let b = part.bounds;
    pb::Part {
        r#box: Some(pb::Box { x: b.x, y: b.y, width: b.width, height: b.height }),
        digit: part.digit(),
        confidence: part.confidence(),
        probabilities: part.probabilities.digits.to_vec(),
        input: part.input.pixels().to_vec(),
        not_a_digit: part.probabilities.not_a_digit,
    }
}

impl InferenceService {
    fn response<T>(&self, message: T) -> Response<T> {
        let mut response = Response::new(message);
        // Names the replica, so operators (and the balancing tests) see where calls go.
        response.metadata_mut().insert(metadata::REPLICA, self.replica.clone());
        response
    }
}

/// When the caller stops waiting, from its `grpc-timeout`.
fn deadline_of<T>(request: &Request<T>) -> Option<Instant> {
    grpc::timeout_of(request.metadata()).map(|t| Instant::now() + t)
}

fn timing(outcome: &Outcome) -> pb::Timing {
    let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    pb::Timing { preprocess_us: micros(outcome.preprocess), inference_us: micros(outcome.inference) }
}

#[tonic::async_trait]
impl pb::inference_server::Inference for InferenceService {
    async fn predict(&self, request: Request<pb::PredictRequest>) -> Result<Response<pb::PredictResponse>, Status> {
        let deadline = deadline_of(&request);
        let request = request.into_inner();
        let model = self.choose(&request.model_version, &request.routing_key)?;
        let image = request.image.ok_or_else(|| Status::invalid_argument("image is required"))?;
        let mut outcome =
            self.engine.score(&model, vec![image], deadline).await.map_err(|e| Status::from(e.without_index()))?;
        let timing = timing(&outcome);
        let reading = outcome.readings.pop().ok_or_else(|| Status::internal("no prediction returned"))?;
        tracing::debug!(verdict = reading.verdict.as_str(), number = %reading.number(), "predicted");
        Ok(self.response(pb::PredictResponse {
            prediction: Some(to_proto(reading)),
            model_version: model.card.version.clone(),
            timing: Some(timing),
        }))
    }

    async fn predict_batch(
        &self,
        request: Request<pb::PredictBatchRequest>,
    ) -> Result<Response<pb::PredictBatchResponse>, Status> {
        let deadline = deadline_of(&request);
        let request = request.into_inner();
        let images = request.images;
        if images.is_empty() {
            return Err(Status::invalid_argument("images is empty: send at least one image"));
        }
        if images.len() > self.max_batch {
            return Err(Status::invalid_argument(format!(
                "{} images in one batch; the limit is {}",
                images.len(),
                self.max_batch
            )));
        }
        let model = self.choose(&request.model_version, &request.routing_key)?;
        let outcome = self.engine.score(&model, images, deadline).await?;
        tracing::debug!(images = outcome.readings.len(), "batch predicted");
        let timing = timing(&outcome);
        Ok(self.response(pb::PredictBatchResponse {
            predictions: outcome.readings.into_iter().map(to_proto).collect(),
            model_version: model.card.version.clone(),
            timing: Some(timing),
        }))
    }

    async fn get_model_file(
        &self,
        request: Request<pb::GetModelFileRequest>,
    ) -> Result<Response<pb::ModelFile>, Status> {
        let request = request.into_inner();
        let model = self.pick(&request.model_version, &request.routing_key)?;
        let info = self.info(&model.card.version)?;
        let onnx = if request.info_only { Vec::new() } else { model.onnx.to_vec() };
        Ok(self.response(pb::ModelFile { info: Some(info), onnx }))
    }

    async fn get_model_info(
        &self,
        request: Request<pb::GetModelInfoRequest>,
    ) -> Result<Response<pb::ModelInfo>, Status> {
        Ok(self.response(self.info(&request.get_ref().model_version)?))
    }
}
