//! `GET /metrics`: the gateway's Prometheus metrics, on the HTTP port.
//! Strangers do not get them: with `DIGITS_METRICS_TOKEN` set, only that
//! bearer token does; without it, only clients on loopback or a private
//! network (Prometheus inside the deployment), behind trusted proxies as
//! `X-Forwarded-For` tells.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::identity;
use crate::state::AppState;

/// The metrics, or 403.
pub async fn metrics(State(state): State<AppState>, request: Request) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(addr)| addr.ip());
    let client = state.proxies.client(peer, request.headers());
    let token =
        request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(identity::bearer_token);
    if !state.credentials.metrics_allowed(token, client) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "metrics are for the deployment's own network, or for the metrics token",
        )
        .into_response();
    }
    state.logs.record_metrics();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], digits_service_kit::metrics::render())
        .into_response()
}
