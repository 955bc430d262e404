//! `inference.GRPCInferenceService` over a native `digits.inference.v1.Inference`
//! server: each protocol call becomes a native one with the same metadata
//! (deadline, credentials) and connection, so the native server's limits,
//! admission, logging and metrics apply unchanged.

use std::sync::Arc;

use digits_proto::inference::v1 as native;
use digits_proto::oip as pb;
use native::inference_server::Inference;
use pb::grpc_inference_service_server::GrpcInferenceService;
use tonic::{Request, Response, Status};

use crate::Call;
use crate::call::check_model;

/// The Open Inference Protocol over the native server `S`.
pub struct OipService<S> {
    native: Arc<S>,
    version: &'static str,
}

impl<S> OipService<S> {
    /// Serves the protocol over `native`; `version` is the server's, reported
    /// by `ServerMetadata`.
    pub fn new(native: Arc<S>, version: &'static str) -> Self {
        Self { native, version }
    }
}

/// `request`'s metadata and connection around another message.
fn with_message<T, U>(request: Request<T>, message: U) -> (Request<U>, T) {
    let (metadata, extensions, original) = request.into_parts();
    (Request::from_parts(metadata, extensions, message), original)
}

impl<S: Inference> OipService<S> {
    /// The version `version` (empty: the current one) as the native server
    /// describes it, asked with `request`'s metadata (so the caller's
    /// credentials and deadline hold).
    async fn info<T>(&self, request: Request<T>, version: String) -> Result<native::ModelInfo, Status> {
        let (request, _) = with_message(request, native::GetModelInfoRequest { model_version: version });
        Ok(self.native.get_model_info(request).await?.into_inner())
    }
}

#[tonic::async_trait]
impl<S: Inference> GrpcInferenceService for OipService<S> {
    async fn server_live(&self, _: Request<pb::ServerLiveRequest>) -> Result<Response<pb::ServerLiveResponse>, Status> {
        Ok(Response::new(pb::ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        request: Request<pb::ServerReadyRequest>,
    ) -> Result<Response<pb::ServerReadyResponse>, Status> {
        let ready = self.info(request, String::new()).await.is_ok();
        Ok(Response::new(pb::ServerReadyResponse { ready }))
    }

    async fn model_ready(
        &self,
        request: Request<pb::ModelReadyRequest>,
    ) -> Result<Response<pb::ModelReadyResponse>, Status> {
        let asked = request.get_ref();
        let ready = check_model(&asked.name).is_ok() && {
            let version = asked.version.clone();
            self.info(request, version).await.is_ok()
        };
        Ok(Response::new(pb::ModelReadyResponse { ready }))
    }

    async fn server_metadata(
        &self,
        _: Request<pb::ServerMetadataRequest>,
    ) -> Result<Response<pb::ServerMetadataResponse>, Status> {
        Ok(Response::new(crate::server_metadata(self.version, &[])))
    }

    async fn model_metadata(
        &self,
        request: Request<pb::ModelMetadataRequest>,
    ) -> Result<Response<pb::ModelMetadataResponse>, Status> {
        check_model(&request.get_ref().name)?;
        let version = request.get_ref().version.clone();
        let info = self.info(request, version).await?;
        Ok(Response::new(crate::model_metadata(&info.version)))
    }

    async fn model_infer(
        &self,
        request: Request<pb::ModelInferRequest>,
    ) -> Result<Response<pb::ModelInferResponse>, Status> {
        let (metadata, extensions, message) = request.into_parts();
        let (call, batch) = Call::parse(message)?;
        let request = Request::from_parts(metadata, extensions, batch);
        let (metadata, answer, extensions) = self.native.predict_batch(request).await?.into_parts();
        let response = call.respond(&answer.model_version, &answer.predictions);
        // The native metadata (e.g. the replica that answered) is passed on.
        Ok(Response::from_parts(metadata, response, extensions))
    }
}
