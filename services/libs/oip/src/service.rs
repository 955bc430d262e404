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

use crate::call::check_version;
use crate::{Call, MODEL, OipError};

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
    /// The version being served, asked of the native server with `request`'s
    /// metadata (so the caller's credentials and deadline hold).
    async fn serving<T>(&self, request: Request<T>) -> Result<(String, T), Status> {
        let (request, original) = with_message(request, native::GetModelInfoRequest {});
        let info = self.native.get_model_info(request).await?.into_inner();
        Ok((info.version, original))
    }
}

fn check_model(name: &str, version: &str, serving: &str) -> Result<(), OipError> {
    if name != MODEL {
        return Err(OipError::UnknownModel(name.into()));
    }
    check_version(version, serving)
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
        let ready = self.serving(request).await.is_ok();
        Ok(Response::new(pb::ServerReadyResponse { ready }))
    }

    async fn model_ready(
        &self,
        request: Request<pb::ModelReadyRequest>,
    ) -> Result<Response<pb::ModelReadyResponse>, Status> {
        let ready = match self.serving(request).await {
            Ok((serving, asked)) => check_model(&asked.name, &asked.version, &serving).is_ok(),
            Err(_) => false,
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
        if request.get_ref().name != MODEL {
            return Err(OipError::UnknownModel(request.into_inner().name).into());
        }
        let (serving, asked) = self.serving(request).await?;
        check_model(&asked.name, &asked.version, &serving)?;
        Ok(Response::new(crate::model_metadata(&serving)))
    }

    async fn model_infer(
        &self,
        request: Request<pb::ModelInferRequest>,
    ) -> Result<Response<pb::ModelInferResponse>, Status> {
        let (metadata, extensions, message) = request.into_parts();
        let (call, batch) = Call::parse(message)?;
        if call.names_version() {
            // Checked before the model runs, so that a refused call is not logged.
            let ask = Request::from_parts(metadata.clone(), extensions.clone(), native::GetModelInfoRequest {});
            call.check_version(&self.native.get_model_info(ask).await?.into_inner().version)?;
        }
        let request = Request::from_parts(metadata, extensions, batch);
        let (metadata, answer, extensions) = self.native.predict_batch(request).await?.into_parts();
        let response = call.respond(&answer.model_version, &answer.predictions)?;
        // The native metadata (e.g. the replica that answered) is passed on.
        Ok(Response::from_parts(metadata, response, extensions))
    }
}
