//! Metrics of every HTTP request, end to end: `digits_http_requests_total`
//! by route, method, status and error code, and
//! `digits_http_request_duration_seconds` by route and method. Routes are
//! the API's templates (`/api/predictions/{id}`), never raw paths, so a
//! stranger cannot grow the label set.

use std::time::Instant;

use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

/// The stable error code of an error response, put in its extensions by
/// [`crate::error::ApiError`].
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

/// The route template a path belongs to.
pub fn route_of(path: &str) -> &'static str {
    const FIXED: [&str; 13] = [
        "/api/predictions",
        "/api/stats",
        "/api/stats/global",
        "/api/model",
        "/api/model/page",
        "/api/admin/export",
        "/api/openapi.json",
        "/healthz",
        "/readyz",
        "/metrics",
        "/v2",
        "/v2/health/live",
        "/v2/health/ready",
    ];
    if let Some(fixed) = FIXED.iter().find(|f| **f == path) {
        return fixed;
    }
    if let Some(model) = path.strip_prefix("/v2/models/") {
        return match model {
            _ if model.ends_with("/infer") => "/v2/models/{model}/infer",
            _ if model.ends_with("/ready") => "/v2/models/{model}/ready",
            _ => "/v2/models/{model}",
        };
    }
    if path.starts_with("/api/model/files/") {
        return "/api/model/files/{version}/{sha256}";
    }
    match path.strip_prefix("/api/predictions/") {
        Some(rest) if rest.ends_with("/feedback") => "/api/predictions/{id}/feedback",
        Some(_) => "/api/predictions/{id}",
        None if path.starts_with("/api/") => "/api/other",
        None if path.starts_with("/v2/") => "/v2/other",
        None => "web",
    }
}

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts and times the request.
pub async fn record(request: Request, next: Next) -> Response {
    let (route, method) = (route_of(request.uri().path()), method_name(request.method()));
    let started = Instant::now();
    let response = next.run(request).await;
    let code = response.extensions().get::<ErrorCode>().map_or("", |c| c.0);
    let status = response.status().as_u16().to_string();
    metrics::counter!("digits_http_requests_total", "route" => route, "method" => method, "status" => status, "code" => code)
        .increment(1);
    metrics::histogram!("digits_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_a_bounded_set_of_routes() {
        assert_eq!(route_of("/api/predictions"), "/api/predictions");
        assert_eq!(route_of("/api/predictions/6f1c/feedback"), "/api/predictions/{id}/feedback");
        assert_eq!(route_of("/api/predictions/anything-a-stranger-sends"), "/api/predictions/{id}");
        assert_eq!(route_of("/api/nope"), "/api/other");
        assert_eq!(route_of("/style.css"), "web");
        assert_eq!(route_of("/metrics"), "/metrics");
    }
}
