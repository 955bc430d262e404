//! `GET /metrics`: the gateway's Prometheus metrics, on the HTTP port.
//! Strangers do not get them: with `DIGITS_METRICS_TOKEN` set, only that
//! bearer token does; without it, only clients on loopback or a private
//! network (Prometheus inside the deployment). A request relayed by a
//! proxy (`X-Forwarded-For`) counts only through a trusted proxy, as that
//! proxy names the client: an ingress that is not configured as trusted
//! would otherwise make every stranger look private.

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
    let relayed_by_stranger = request.headers().contains_key("x-forwarded-for") && !state.proxies.trusts(peer);
    let token =
        request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(identity::bearer_token);
    let allowed = state.credentials.metrics_allowed(token, client);
    if !allowed || (token.is_none() && relayed_by_stranger) {
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
