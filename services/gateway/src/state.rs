//! What every request handler shares.

use std::sync::Arc;

use digits_proto::logging::v1::logging_client::LoggingClient;
use digits_service_kit::trace::TracedChannel;

use crate::admission::Admission;
use crate::client_addr::TrustedProxies;
use crate::discovery::{ReplicaChannel, Replicas};
use crate::grpc_proxy::InferenceProxy;
use crate::identity::Credentials;
use crate::inference::InferenceClient;
use crate::log_queue::LogQueue;
use crate::routes::model::ModelFiles;
use crate::routes::stats::GlobalStats;

/// The handlers' shared state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The inference replicas.
    pub inference: InferenceClient,
    /// The logging service, spread over its healthy replicas.
    pub logging: LoggingClient<TracedChannel<ReplicaChannel>>,
    /// The logging replicas behind `logging`.
    pub logging_replicas: Replicas,
    /// Predictions waiting to be logged.
    pub logs: Arc<LogQueue>,
    /// Rate and concurrency limits, shared with the gRPC port.
    pub admission: Arc<Admission>,
    /// The admin token and API keys.
    pub credentials: Credentials,
    /// Whose `X-Forwarded-For` is believed.
    pub proxies: TrustedProxies,
    /// The public statistics, cached briefly.
    pub global_stats: Arc<GlobalStats>,
    /// Model files for pages, by SHA-256.
    pub model_files: Arc<ModelFiles>,
    /// Inference for developers (gRPC and the Open Inference Protocol):
    /// batches, admitted and logged.
    pub proxy: InferenceProxy,
}
