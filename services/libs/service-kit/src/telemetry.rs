//! The one tracing setup for every Digits binary.
//!
//! - `RUST_LOG` filters events (default `info`), e.g. `RUST_LOG=digits_inference=debug,info`.
//! - `DIGITS_LOG_FORMAT=json` writes one JSON object per line (used in compose);
//!   anything else, or unset, writes human-readable text.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Call once, at the top of `main`.
/// Calling it again (e.g. from several tests) is harmless.
pub fn init() {
    install(false);
}

/// The same setup for tests: events go through libtest's capture, so a
/// failing test shows the services' logs beside its own output.
pub fn init_for_tests() {
    install(true);
}

fn install(for_tests: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = crate::env::var("DIGITS_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match (for_tests, json) {
        (true, _) => builder.with_test_writer().try_init(),
        (false, true) => {
            builder.with_writer(std::io::stderr).json().flatten_event(true).with_current_span(false).try_init()
        }
        (false, false) => builder.with_writer(std::io::stderr).try_init(),
    };
    // Already initialised: keep the first subscriber.
    drop(result);
}
