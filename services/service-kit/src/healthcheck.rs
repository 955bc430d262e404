//! A gRPC health probe (`grpc.health.v1.Health/Check`), so container health
//! checks need no extra tools: `digits-inference healthcheck` exits 0 only
//! when the server answers SERVING.

use std::time::Duration;

use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// The loopback URL of a local server whose listen address is the variable
/// `var` (or `default`): what a health probe in the same container calls.
pub fn local_url(var: &str, default: std::net::SocketAddr) -> String {
    let port = crate::env::var_or(var, default).map_or(default.port(), |a| a.port());
    format!("http://127.0.0.1:{port}")
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
    let endpoint = tonic::transport::Endpoint::from_shared(addr.to_owned())
        .map_err(|_| HealthError::Address(addr.to_owned()))?
        .connect_timeout(timeout)
        .timeout(timeout);
    let channel = endpoint.connect().await.map_err(|source| HealthError::Connect { addr: addr.to_owned(), source })?;
    let response =
        HealthClient::new(channel).check(HealthCheckRequest { service: service.to_owned() }).await?.into_inner();
    let status = ServingStatus::try_from(response.status).unwrap_or(ServingStatus::Unknown);
    if status == ServingStatus::Serving {
        Ok(())
    } else {
        Err(HealthError::NotServing { service: service.to_owned(), status })
    }
}
