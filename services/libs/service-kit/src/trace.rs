//! Traces across the three services, by the W3C Trace Context standard.
//!
//! - **In:** each request's span ([`request_span`]) continues the caller's
//!   `traceparent` (an HTTP header, or gRPC metadata), or starts a trace.
//! - **Logs:** the span records the `trace_id`, so every log line written
//!   while the request is served carries it.
//! - **Out:** gRPC calls made while serving carry the context on
//!   ([`Propagate`]); work that outlives the request (a queued log entry)
//!   keeps its [`traceparent`] and continues it later ([`continue_trace`]).
//! - **Export:** with `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans go to that
//!   OTLP/gRPC collector (see [`crate::telemetry`]).

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{TraceContextExt, TraceId};
use tonic::codegen::http;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::service::Interceptor;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C header (and gRPC metadata key) that carries the trace context.
pub const TRACEPARENT: &str = "traceparent";

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (MetadataKey::from_bytes(key.as_bytes()), MetadataValue::try_from(value)) {
            self.0.insert(key, value);
        }
    }
}

struct TraceparentExtractor<'a>(&'a str);

impl Extractor for TraceparentExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == TRACEPARENT).then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

/// Records the trace id of `span` on it, when it has one (it has none when
/// no tracing layer is installed, as in some tests).
fn record_trace_id(span: &tracing::Span) {
    let trace_id = span.context().span().span_context().trace_id();
    if trace_id != TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace_id));
    }
}

/// The span of one incoming HTTP request or gRPC call: it continues the
/// caller's `traceparent`, if valid, and records `trace_id`.
pub fn request_span<B>(request: &http::Request<B>) -> tracing::Span {
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(request.headers())));
    let (method, path) = (request.method(), request.uri().path());
    let span = tracing::info_span!(
        "request",
        %method,
        path,
        trace_id = tracing::field::Empty,
        otel.name = %format_args!("{method} {path}"),
        otel.kind = "server",
    );
    // Only fails when no tracing layer is installed: then there is no trace.
    let _ = span.set_parent(parent);
    record_trace_id(&span);
    span
}

/// The `traceparent` of the current span, to continue its trace later;
/// empty when there is none.
pub fn traceparent() -> String {
    let context = tracing::Span::current().context();
    let mut metadata = MetadataMap::new();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&context, &mut MetadataInjector(&mut metadata));
    });
    metadata.get(TRACEPARENT).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// A span named `name` that continues `traceparent` (as [`traceparent`]
/// gave it), recording `trace_id`; a new trace when it is empty or invalid.
pub fn continue_trace(name: &'static str, traceparent: &str) -> tracing::Span {
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&TraceparentExtractor(traceparent)));
    let span = tracing::info_span!("continued", otel.name = name, trace_id = tracing::field::Empty);
    let _ = span.set_parent(parent);
    record_trace_id(&span);
    span
}

/// A gRPC client interceptor that puts the current span's trace context on
/// every call, so the server continues the trace.
#[derive(Debug, Clone, Copy, Default)]
pub struct Propagate;

impl Interceptor for Propagate {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let context = tracing::Span::current().context();
        opentelemetry::global::get_text_map_propagator(|p| {
            p.inject_context(&context, &mut MetadataInjector(request.metadata_mut()));
        });
        Ok(request)
    }
}

/// A channel whose calls carry the trace context ([`Propagate`]).
pub type TracedChannel<C = tonic::transport::Channel> = tonic::service::interceptor::InterceptedService<C, Propagate>;
