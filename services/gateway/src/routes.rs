//! The HTTP surface: the JSON API under `/api`, the probes, and the web app
//! for every other path. Everything but the probes passes the [`guard`]
//! (identity, rate and concurrency limits) first.

pub(crate) mod admin;
mod extract;
mod guard;
pub(crate) mod health;
mod metrics;
pub mod model;
mod oip;
pub mod predictions;
pub mod stats;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, header};
use axum::middleware;
use axum::routing::{get, post, put};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::error::ApiError;
use crate::state::AppState;

/// The web app's Content-Security-Policy: its own files only, no inline
/// scripts; `'wasm-unsafe-eval'` lets it compile its WebAssembly; `data:` for
/// the favicon and the canvas-to-PNG fetch; inline styles for the bars' widths;
/// no framing (clickjacking).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' data:; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The largest body of every API route but `POST /api/predictions`:
/// feedback is `{"true_label": 7}`.
pub const SMALL_BODY_BYTES: usize = 1024;

/// The gateway's router.
pub fn router(state: AppState, config: &Config) -> Router {
    let max_body = config.max_body_bytes;
    let openapi = axum::body::Bytes::from(crate::openapi::json(config));
    let api = Router::new()
        .route(
            "/predictions",
            post(predictions::create).layer(DefaultBodyLimit::max(config.max_body_bytes)).get(predictions::list),
        )
        .route(
            "/predictions/{id}",
            get(predictions::get_one)
                .put(predictions::revise)
                .layer(DefaultBodyLimit::max(config.max_body_bytes))
                .delete(predictions::delete),
        )
        .route("/predictions/{id}/feedback", put(predictions::feedback))
        .route("/stats", get(stats::stats))
        .route("/stats/global", get(stats::global))
        .route("/model", get(model::model))
        .route("/model/page", get(model::page))
        .route("/admin/export", get(admin::export))
        .route("/openapi.json", get(move || async move { ([(header::CONTENT_TYPE, "application/json")], openapi) }))
        .fallback(|| async { ApiError::not_found("no such API endpoint; see /api/openapi.json") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method; see /api/openapi.json",
            )
        })
        .layer(DefaultBodyLimit::max(SMALL_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        // Added after the no-store layer: a model file is cached for good.
        .route("/model/files/{version}/{sha256}", get(model::file));
    let api = match cors(&config.cors_origins) {
        Some(layer) => api.layer(layer),
        None => api,
    };

    // The web app's files are not content-hashed, so browsers revalidate them.
    let index = config.web_dir.join("index.html");
    let web = ServeDir::new(&config.web_dir).precompressed_gzip().fallback(ServeFile::new(index).precompressed_gzip());
    let web = Router::new()
        .fallback_service(web)
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ));

    // The Open Inference Protocol; its errors are JSON, like the API's.
    let oip = Router::new()
        .route("/", get(oip::server_metadata))
        .route("/models/{model}", get(oip::model_metadata))
        .route("/models/{model}/ready", get(oip::model_ready))
        .route("/models/{model}/infer", post(oip::infer).layer(DefaultBodyLimit::max(max_body)))
        .route("/models/{model}/versions/{version}", get(oip::version_metadata))
        .route("/models/{model}/versions/{version}/ready", get(oip::version_ready))
        .route(
            "/models/{model}/versions/{version}/infer",
            post(oip::version_infer).layer(DefaultBodyLimit::max(max_body)),
        )
        .fallback(|| async { ApiError::not_found("no such endpoint of the inference protocol") })
        .layer(DefaultBodyLimit::max(SMALL_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));

    Router::new()
        .nest("/api", api)
        .nest("/v2", oip)
        .merge(web)
        .layer(middleware::from_fn_with_state(state.clone(), guard::guard))
        .layer(RequestBodyTimeoutLayer::new(config.read_timeout))
        .layer(middleware::from_fn(move |request, next| declared_size_check(max_body, request, next)))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/v2/health/live", get(oip::live))
        .route("/v2/health/ready", get(oip::ready))
        .route("/metrics", get(metrics::metrics))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(middleware::from_fn(crate::request_metrics::record))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::extract::Request| digits_service_kit::trace::request_span(request)),
        )
        .with_state(state)
}

/// Refuses at once (413) a body whose declared length is beyond the largest
/// any route takes, before anything is read: once the body is wrapped for
/// its read timeout, the routes' limits only see it as it arrives.
async fn declared_size_check(
    max: usize,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max as u64) {
        let message = format!("the body is larger than {max} bytes");
        return ApiError::new(axum::http::StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", message).into_response();
    }
    next.run(request).await
}

/// CORS for the configured origins; `None` keeps cross-site calls closed.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::PUT])
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION]),
    )
}
