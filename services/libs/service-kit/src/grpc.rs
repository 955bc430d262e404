//! The parts of a Digits gRPC server that are the same in every service, and
//! [`GrpcServer`], the one way each of them serves.

use std::convert::Infallible;
use std::future::Future;

use tokio::net::TcpListener;
use tonic::body::Body;
use tonic::codegen::{Service, http};
use tonic::server::NamedService;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tonic_reflection::server::v1::{ServerReflection, ServerReflectionServer};

/// The reflection service could not be built from the descriptors.
pub use tonic_reflection::server::Error as ReflectionError;

/// The standard health service's name, which every Digits server serves.
pub const HEALTH_SERVICE: &str = "grpc.health.v1.Health";

/// Server reflection, so `grpcurl` works without proto files. It lists
/// `services` (e.g. `digits.inference.v1.Inference`) and gRPC health: what
/// the server really serves, not every API the descriptors know.
///
/// # Errors
/// When the embedded descriptors do not decode (a build problem).
fn reflection(
    services: &[&'static str],
) -> Result<ServerReflectionServer<impl ServerReflection>, tonic_reflection::server::Error> {
    let builder = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(digits_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name(HEALTH_SERVICE);
    services.iter().fold(builder, |builder, name| builder.with_service_name(*name)).build_v1()
}

/// Sets the health of `services` and of the whole server (`""`), which is
/// what probes without a service name ask about.
async fn set_health(reporter: &HealthReporter, services: &[&'static str], serving: bool) {
    let status = if serving { ServingStatus::Serving } else { ServingStatus::NotServing };
    for service in services {
        reporter.set_service_status(*service, status).await;
    }
    reporter.set_service_status("", status).await;
}

/// The accepted connections of `listener`, with `TCP_NODELAY` set: without it
/// a small response waits for the client's delayed ACK, about 40 ms per call
/// instead of well under one.
fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// Serving a gRPC service failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The reflection service could not be built from the descriptors.
    #[error("reflection: {0}")]
    Reflection(#[from] ReflectionError),
    /// The transport failed while serving.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The listener has no local address.
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}

/// The health a server reports for its services (and for the whole server).
/// Clones report to the same health service.
#[derive(Clone)]
pub struct Health {
    reporter: HealthReporter,
    services: Vec<&'static str>,
}

impl Health {
    /// Reports the services as SERVING or NOT_SERVING.
    pub async fn set(&self, serving: bool) {
        set_health(&self.reporter, &self.services, serving).await;
    }
}

/// A generated gRPC server (e.g. `InferenceServer<T>`) that [`GrpcServer`] can serve.
pub trait Served:
    Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible, Future: Send + 'static>
    + NamedService
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> Served for S where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible, Future: Send + 'static>
        + NamedService
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// gRPC services on a bound listener, served with gRPC health and
/// reflection under their generated names (`S::NAME`), call metrics
/// ([`crate::metrics::GrpcMetricsLayer`]), a span per call that continues
/// the caller's trace ([`crate::trace::request_span`]), `TCP_NODELAY`
/// on every connection, and a graceful stop: when the shutdown future
/// resolves, health turns NOT_SERVING, no call is accepted any more and the
/// calls in flight finish.
pub struct GrpcServer {
    listener: TcpListener,
    routes: Routes,
    services: Vec<&'static str>,
    reporter: HealthReporter,
}

impl GrpcServer {
    /// Prepares `service` for `listener`; its health starts as unknown (a
    /// probe hears NOT_FOUND for the service) until [`Health::set`] is called.
    pub fn new<S: Served>(listener: TcpListener, service: S) -> Self {
        Self { listener, routes: Routes::new(service), services: vec![S::NAME], reporter: HealthReporter::new() }
    }

    /// Serves `service` too, on the same port, with the same health.
    #[must_use]
    pub fn with<S: Served>(mut self, service: S) -> Self {
        self.routes = self.routes.add_service(service);
        self.services.push(S::NAME);
        self
    }

    /// The handle that sets this server's health.
    pub fn health(&self) -> Health {
        Health { reporter: self.reporter.clone(), services: self.services.clone() }
    }

    /// Serves until `shutdown` resolves, then stops as described on [`GrpcServer`].
    ///
    /// # Errors
    /// See [`ServeError`].
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServeError> {
        let health = self.health();
        let health_service = tonic_health::pb::health_server::HealthServer::new(
            tonic_health::server::HealthService::from_health_reporter(self.reporter),
        );
        let routes = self.routes.add_service(health_service).add_service(reflection(&self.services)?);
        tracing::info!(services = ?self.services, addr = %self.listener.local_addr()?, "gRPC server listening");
        let shutdown = async {
            shutdown.await;
            health.set(false).await;
        };
        tonic::transport::Server::builder()
            .trace_fn(crate::trace::request_span)
            .layer(crate::metrics::GrpcMetricsLayer)
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming(self.listener), shutdown)
            .await?;
        Ok(())
    }
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
