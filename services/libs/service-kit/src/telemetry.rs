//! The one tracing setup for every Digits binary, configured by the shared
//! [`TelemetryArgs`](crate::cli::TelemetryArgs): `RUST_LOG` filters events
//! (default `info`), `DIGITS_LOG_FORMAT=json` writes one JSON object per line
//! (used in compose), `text` (the default) writes lines for people;
//! `DIGITS_METRICS=off` turns the Prometheus metrics off.

use tracing_subscriber::EnvFilter;

use crate::cli::{LogFormat, Switch, TelemetryArgs};

/// Installs the global subscriber. Call once, at the top of `main`.
/// Calling it again (e.g. from several tests) is harmless.
pub fn init(args: &TelemetryArgs) {
    if args.metrics == Switch::Off {
        crate::metrics::disable();
    }
    let (filter, bad_filter) = match EnvFilter::try_new(&args.filter) {
        Ok(filter) => (filter, None),
        Err(error) => (EnvFilter::new("info"), Some(error)),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match args.format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    // Already initialised: keep the first subscriber.
    drop(result);
    if let Some(error) = bad_filter {
        tracing::warn!(filter = %args.filter, %error, "RUST_LOG does not parse; logging at info");
    }
}

/// The setup for tests: events go through libtest's capture, so a failing
/// test shows the services' logs beside its own output (`RUST_LOG` filters).
pub fn init_for_tests() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    drop(tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init());
}
