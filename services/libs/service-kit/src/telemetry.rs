//! The one telemetry setup for every Digits binary, configured by the shared
//! [`TelemetryArgs`](crate::cli::TelemetryArgs): `RUST_LOG` filters events
//! (default `info`), `DIGITS_LOG_FORMAT=json` writes one JSON object per line
//! (used in compose), `text` (the default) writes lines for people;
//! `DIGITS_METRICS=off` turns the Prometheus metrics off.
//!
//! Traces ([`crate::trace`]) are always on, so that log lines carry their
//! request's `trace_id`; with `OTEL_EXPORTER_OTLP_ENDPOINT` set (e.g.
//! `http://otel-collector:4317`) the spans are also exported there over
//! OTLP/gRPC, batched, under `service.name` = the service's name. The other
//! standard `OTEL_EXPORTER_OTLP_*` variables (timeout, headers) apply.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::cli::{LogFormat, Switch, TelemetryArgs};

/// Keeps the telemetry running; dropping it (at the end of `main`) sends
/// the spans still waiting to be exported.
#[must_use = "dropping it stops the span export"]
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::debug!(%error, "the span export did not stop cleanly");
        }
    }
}

/// The tracer provider of `service`, exporting to `endpoint` if given.
fn tracer_provider(service: &'static str, endpoint: Option<&str>) -> SdkTracerProvider {
    use opentelemetry_otlp::WithExportConfig as _;
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(service).build();
    let builder = SdkTracerProvider::builder().with_resource(resource);
    let Some(endpoint) = endpoint else { return builder.build() };
    match opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(endpoint).build() {
        Ok(exporter) => builder.with_batch_exporter(exporter).build(),
        Err(error) => {
            eprintln!("the span exporter to {endpoint} cannot start ({error}); spans are not exported");
            builder.build()
        }
    }
}

/// Installs the global subscriber and trace propagation for `service`. Call
/// once, at the top of `main`, and keep the returned [`Telemetry`] until the
/// end. Calling it again (e.g. from several tests) keeps the first setup.
pub fn init(service: &'static str, args: &TelemetryArgs) -> Telemetry {
    if args.metrics == Switch::Off {
        crate::metrics::disable();
    }
    let (filter, bad_filter) = match EnvFilter::try_new(&args.filter) {
        Ok(filter) => (filter, None),
        Err(error) => (EnvFilter::new("info"), Some(error)),
    };
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    // An empty value (as compose passes an unset variable) exports nothing.
    let endpoint = args.otlp_endpoint.as_deref().filter(|e| !e.is_empty());
    let provider = tracer_provider(service, endpoint);
    let spans = tracing_opentelemetry::layer().with_tracer(provider.tracer(service));
    let registry = tracing_subscriber::registry().with(filter).with(spans);
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let result = match args.format {
        LogFormat::Json => registry.with(lines.json().flatten_event(true).with_current_span(false)).try_init(),
        LogFormat::Text => registry.with(lines).try_init(),
    };
    // Already initialised: keep the first subscriber.
    drop(result);
    if let Some(error) = bad_filter {
        tracing::warn!(filter = %args.filter, %error, "RUST_LOG does not parse; logging at info");
    }
    if let Some(endpoint) = endpoint {
        tracing::info!(endpoint, "exporting trace spans over OTLP");
    }
    Telemetry { provider }
}

/// The setup for tests: events go through libtest's capture, so a failing
/// test shows the services' logs beside its own output (`RUST_LOG` filters).
pub fn init_for_tests() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    drop(tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init());
}
