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

/// The time the caller gave a call, from its `grpc-timeout` metadata
/// (e.g. `500m` for 500 ms), or `None` when it set no deadline or the value
/// is malformed.
pub fn timeout_of(metadata: &tonic::metadata::MetadataMap) -> Option<std::time::Duration> {
    use std::time::Duration;
    let value = metadata.get("grpc-timeout")?.to_str().ok()?;
    let split = value.len().checked_sub(1)?;
    let (digits, unit) = value.split_at(split);
    // The protocol allows at most 8 digits.
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::timeout_of;

    #[test]
    fn grpc_timeout_metadata_is_read_in_every_unit_and_garbage_is_ignored() {
        let parse = |value: &str| {
            let mut metadata = tonic::metadata::MetadataMap::new();
            metadata.insert("grpc-timeout", value.parse().expect("ascii"));
            timeout_of(&metadata)
        };
        assert_eq!(parse("500m"), Some(Duration::from_millis(500)));
        assert_eq!(parse("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse("250u"), Some(Duration::from_micros(250)));
        assert_eq!(parse("123456789m"), None, "more than 8 digits");
        assert_eq!(parse("m"), None);
        assert_eq!(parse("5x"), None);
        assert_eq!(timeout_of(&tonic::metadata::MetadataMap::new()), None);
    }
}
