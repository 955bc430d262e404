//! The inference gRPC API on the gateway's own port, for developers: one
//! published address whose calls are spread over every replica, and logged
//! like the web app's predictions (source `grpc`).

use std::sync::Arc;
use std::time::Instant;

use digits_proto::inference::v1 as pb;
use digits_proto::logging::v1::Source;
use tonic::{Request, Response, Status};

use crate::inference::InferenceClient;
use crate::log_queue::{self, LogQueue};

/// Forwards `digits.inference.v1.Inference` calls to the replicas.
#[derive(Clone)]
pub struct InferenceProxy {
    inference: InferenceClient,
    logs: Arc<LogQueue>,
}

impl InferenceProxy {
    /// A proxy over `inference` that queues its predictions on `logs`.
    pub fn new(inference: InferenceClient, logs: Arc<LogQueue>) -> Self {
        Self { inference, logs }
    }

    fn log(&self, prediction: &pb::Prediction, model_version: &str, started: Instant) {
        let id = uuid::Uuid::new_v4().to_string();
        self.logs.push(log_queue::entry(id, prediction, model_version, Source::Grpc, started.elapsed()));
    }
}

#[tonic::async_trait]
impl pb::inference_server::Inference for InferenceProxy {
    async fn predict(&self, request: Request<pb::PredictRequest>) -> Result<Response<pb::PredictResponse>, Status> {
        let started = Instant::now();
        let response = self.inference.predict(request.into_inner()).await?;
        let answer = response.get_ref();
        if let Some(prediction) = &answer.prediction {
            self.log(prediction, &answer.model_version, started);
        }
        // Passed on as is: the metadata names the replica that answered.
        Ok(response)
    }

    async fn predict_batch(
        &self,
        request: Request<pb::PredictBatchRequest>,
    ) -> Result<Response<pb::PredictBatchResponse>, Status> {
        let started = Instant::now();
        let response = self.inference.predict_batch(request.into_inner()).await?;
        let answer = response.get_ref();
        for prediction in &answer.predictions {
            self.log(prediction, &answer.model_version, started);
        }
        Ok(response)
    }

    async fn get_model_info(&self, _: Request<pb::GetModelInfoRequest>) -> Result<Response<pb::ModelInfo>, Status> {
        self.inference.model_info().await
    }
}
