//! Prometheus metrics, one way for every service: the process-wide recorder
//! of the `metrics` crate with the Prometheus exporter, the histogram
//! buckets, the build info every service reports, the gRPC call metrics
//! (a tower layer on each gRPC server), and the `/metrics` endpoint the
//! gRPC services serve on their admin port (`DIGITS_METRICS_ADDR`).
//!
//! Names follow Prometheus conventions: `digits_` prefix, base units
//! (seconds), `_total` for counters.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tonic::codegen::http;

/// Latency buckets, in seconds: from 100 µs (a cached model call) to 10 s
/// (a deadline).
const LATENCY_BUCKETS: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Buckets of counts per call (images per call, entries per batch).
const COUNT_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0];

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();
static DISABLED: AtomicBool = AtomicBool::new(false);

/// Records no metrics in this process (`DIGITS_METRICS=off`): no recorder
/// is installed, so every `metrics::counter!` and friends does nothing.
/// Call before [`init`].
pub fn disable() {
    DISABLED.store(true, Ordering::Relaxed);
}

/// The process's recorder, installed on first use; every `metrics::counter!`
/// and friends in the process reports to it. (Tests that run several
/// services in one process share it.)
pub fn recorder() -> &'static PrometheusHandle {
    RECORDER.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_per_call".into()), COUNT_BUCKETS))
            .expect("the bucket lists are not empty");
        match builder.install_recorder() {
            Ok(handle) => handle,
            Err(e) => {
                // Another recorder is installed (only possible in a test):
                // this one still renders, without the global facade.
                tracing::warn!(error = %e, "a metrics recorder was already installed");
                PrometheusBuilder::new().build_recorder().handle()
            }
        }
    })
}

/// Installs the recorder and reports `digits_build_info{service, version}`
/// = 1, as every Digits service does at start.
pub fn init(service: &'static str, version: &'static str) {
    if DISABLED.load(Ordering::Relaxed) {
        tracing::info!("metrics are off (DIGITS_METRICS=off)");
        return;
    }
    recorder();
    metrics::describe_gauge!("digits_build_info", "The service and version of this build: always 1.");
    metrics::gauge!("digits_build_info", "service" => service, "version" => version).set(1.0);
}

/// The exposition text of every metric now; empty when metrics are off.
pub fn render() -> String {
    if DISABLED.load(Ordering::Relaxed) { String::new() } else { recorder().render() }
}

/// The `GET /metrics` route, rendering [`render`].
pub fn route<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route(
        "/metrics",
        get(|| async { ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], render()) }),
    )
}

/// Serves `GET /metrics` on `listener` (the admin port of a gRPC service)
/// until `shutdown` resolves.
///
/// # Errors
/// When the listener fails.
pub async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "metrics endpoint listening");
    axum::serve(listener, route::<()>()).with_graceful_shutdown(shutdown).await
}

/// A tower layer that counts every gRPC call by service method and status
/// code (`digits_grpc_server_requests_total`) and times it
/// (`digits_grpc_server_request_duration_seconds`, to the response headers:
/// the whole call for unary methods).
#[derive(Clone, Copy, Default)]
pub struct GrpcMetricsLayer;

impl<S> tower::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics { inner }
    }
}

/// See [`GrpcMetricsLayer`].
#[derive(Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for GrpcMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // "/digits.inference.v1.Inference/Predict" → "digits.inference.v1.Inference/Predict"
        let method = request.uri().path().trim_start_matches('/').to_owned();
        let started = Instant::now();
        let call = self.inner.call(request);
        Box::pin(async move {
            let response = call.await;
            // An error status comes in the headers (trailers-only); a
            // success in the trailers, which a unary call always reaches.
            let code = match &response {
                Ok(r) => r
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map_or("OK", code_name),
                Err(_) => "UNAVAILABLE",
            };
            // A path no service serves is UNIMPLEMENTED: one label for all of
            // them, so strangers cannot grow the label set.
            let method = if code == "UNIMPLEMENTED" { "unknown".to_owned() } else { method };
            metrics::counter!("digits_grpc_server_requests_total", "method" => method.clone(), "code" => code)
                .increment(1);
            metrics::histogram!("digits_grpc_server_request_duration_seconds", "method" => method)
                .record(started.elapsed().as_secs_f64());
            response
        })
    }
}

/// A gRPC status code's name.
fn code_name(code: i32) -> &'static str {
    match tonic::Code::from_i32(code) {
        tonic::Code::Ok => "OK",
        tonic::Code::Cancelled => "CANCELLED",
        tonic::Code::Unknown => "UNKNOWN",
        tonic::Code::InvalidArgument => "INVALID_ARGUMENT",
        tonic::Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        tonic::Code::NotFound => "NOT_FOUND",
        tonic::Code::AlreadyExists => "ALREADY_EXISTS",
        tonic::Code::PermissionDenied => "PERMISSION_DENIED",
        tonic::Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        tonic::Code::FailedPrecondition => "FAILED_PRECONDITION",
        tonic::Code::Aborted => "ABORTED",
        tonic::Code::OutOfRange => "OUT_OF_RANGE",
        tonic::Code::Unimplemented => "UNIMPLEMENTED",
        tonic::Code::Internal => "INTERNAL",
        tonic::Code::Unavailable => "UNAVAILABLE",
        tonic::Code::DataLoss => "DATA_LOSS",
        tonic::Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_info_and_histograms_render_in_the_exposition_format() {
        init("test-service", "9.9.9");
        metrics::histogram!("digits_test_latency_seconds").record(0.003);
        let text = render();
        assert!(text.contains(r#"digits_build_info{service="test-service",version="9.9.9"} 1"#), "{text}");
        assert!(text.contains(r#"digits_test_latency_seconds_bucket{le="0.005"} 1"#), "{text}");
        assert_eq!(code_name(5), "NOT_FOUND");
    }
}
