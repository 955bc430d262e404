//! Probes of a running gRPC server: its health (`grpc.health.v1.Health/Check`),
//! so container health checks need no extra tools (`digits-inference
//! healthcheck` exits 0 only when the server answers SERVING), and the
//! services its reflection lists.

use std::time::Duration;

use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

/// The loopback URL of a local server listening on `listen`: what a health
/// probe in the same container calls.
pub fn local_url(listen: std::net::SocketAddr) -> String {
    format!("http://127.0.0.1:{}", listen.port())
}

/// Why a server is not healthy.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// The address is not a valid URI.
    #[error("invalid address {0:?}")]
    Address(String),
    /// No connection could be made.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The address.
        addr: String,
        /// The cause.
        source: tonic::transport::Error,
    },
    /// The health RPC failed.
    #[error("health check failed: {0}")]
    Rpc(#[from] tonic::Status),
    /// The reflection service gave no list of services.
    #[error("reflection did not list the services")]
    NoServiceList,
    /// The server answered, but not SERVING.
    #[error("service {service:?} is {status:?}")]
    NotServing {
        /// The service asked about ("" is the whole server).
        service: String,
        /// What it answered.
        status: ServingStatus,
    },
}

/// Asks the server at `addr` (e.g. `http://127.0.0.1:50051`) whether `service`
/// is SERVING, giving up after `timeout`.
///
/// # Errors
/// Any [`HealthError`].
pub async fn check(addr: &str, service: &str, timeout: Duration) -> Result<(), HealthError> {
    check_channel(connect(addr, timeout).await?, service, timeout).await
}

/// Asks the server behind `channel` whether `service` is SERVING, giving up
/// after `timeout`: the one health probe of every Digits client (container
/// health checks, the gateway's readiness and its replica discovery).
///
/// # Errors
/// [`HealthError::Rpc`] (a timeout included) or [`HealthError::NotServing`].
pub async fn check_channel(
    channel: tonic::transport::Channel,
    service: &str,
    timeout: Duration,
) -> Result<(), HealthError> {
    let mut client = HealthClient::new(channel);
    let call = client.check(HealthCheckRequest { service: service.to_owned() });
    let response = tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| tonic::Status::deadline_exceeded("the health check timed out"))??
        .into_inner();
    let status = ServingStatus::try_from(response.status).unwrap_or(ServingStatus::Unknown);
    if status == ServingStatus::Serving {
        Ok(())
    } else {
        Err(HealthError::NotServing { service: service.to_owned(), status })
    }
}

/// The services that the server at `addr` lists through reflection, sorted.
///
/// # Errors
/// Any [`HealthError`] but `NotServing`.
pub async fn reflected_services(addr: &str, timeout: Duration) -> Result<Vec<String>, HealthError> {
    let channel = connect(addr, timeout).await?;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers =
        ServerReflectionClient::new(channel).server_reflection_info(tokio_stream::iter([request])).await?.into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) = answers.message().await?.and_then(|a| a.message_response)
    else {
        return Err(HealthError::NoServiceList);
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    Ok(names)
}

async fn connect(addr: &str, timeout: Duration) -> Result<tonic::transport::Channel, HealthError> {
    let endpoint = tonic::transport::Endpoint::from_shared(addr.to_owned())
        .map_err(|_| HealthError::Address(addr.to_owned()))?
        .connect_timeout(timeout)
        .timeout(timeout);
    endpoint.connect().await.map_err(|source| HealthError::Connect { addr: addr.to_owned(), source })
}
