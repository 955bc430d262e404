//! The one tracing setup for every Digits binary.
//!
//! - `RUST_LOG` filters events (default `info`), e.g. `RUST_LOG=digits_inference=debug,info`.
//! - `DIGITS_LOG_FORMAT=json` writes one JSON object per line (used in compose);
//!   anything else, or unset, writes human-readable text.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Call once, at the top of `main`.
/// Calling it again (e.g. from several tests) is harmless.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = crate::env::var("DIGITS_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result =
        if json { builder.json().flatten_event(true).with_current_span(false).try_init() } else { builder.try_init() };
    // Already initialised: keep the first subscriber.
    drop(result);
}
