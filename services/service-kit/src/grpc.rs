//! The parts of a Digits gRPC server that are the same in every service.

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tonic_reflection::server::v1::{ServerReflection, ServerReflectionServer};

/// The reflection service could not be built from the descriptors.
pub use tonic_reflection::server::Error as ReflectionError;

/// The standard health service's name, which every Digits server serves.
pub const HEALTH_SERVICE: &str = "grpc.health.v1.Health";

/// Server reflection, so `grpcurl` works without proto files. It lists
/// `service` (e.g. `digits.inference.v1.Inference`) and gRPC health: what
/// the server really serves, not every API the descriptors know.
///
/// # Errors
/// When the embedded descriptors do not decode (a build problem).
pub fn reflection(
    service: &str,
) -> Result<ServerReflectionServer<impl ServerReflection>, tonic_reflection::server::Error> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(digits_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name(service)
        .with_service_name(HEALTH_SERVICE)
        .build_v1()
}

/// Sets the health of `service` and of the whole server (`""`), which is
/// what probes without a service name ask about.
pub async fn set_health(reporter: &HealthReporter, service: &str, serving: bool) {
    let status = if serving { ServingStatus::Serving } else { ServingStatus::NotServing };
    reporter.set_service_status(service, status).await;
    reporter.set_service_status("", status).await;
}

/// The accepted connections of `listener`, with `TCP_NODELAY` set: without it
/// a small response waits for the client's delayed ACK, about 40 ms per call
/// instead of well under one.
pub fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}
