//! The middleware in front of every page and API call: who is calling
//! ([`Caller`], from a bearer token or the visitor cookie, a new cookie when
//! there is neither), then admission (rate and concurrency limits).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::identity::{self, Caller};
use crate::state::AppState;

/// Identifies the caller, admits the request or refuses it (401, 429, 503),
/// and sets the visitor cookie on a first visit.
pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(addr)| addr.ip());
    let headers = request.headers();
    let client = state.proxies.client(peer, headers);
    let mut new_cookie = None;
    let caller = if let Some(authorization) = headers.get(header::AUTHORIZATION) {
        let token = authorization.to_str().ok().and_then(identity::bearer_token);
        match token.map(|t| state.credentials.bearer(t, true)) {
            Some(Ok(caller)) => caller,
            _ => {
                return ApiError::unauthorized(
                    "send `Authorization: Bearer TOKEN` with a token of 16-256 visible characters",
                )
                .into_response();
            }
        }
    } else if let Some(visitor) =
        identity::visitor_from_cookies(headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()))
    {
        visitor
    } else {
        let (value, caller) = identity::new_visitor();
        new_cookie = Some(identity::set_cookie(&value, state.proxies.https(peer, headers)));
        caller
    };
    let permit = match state.admission.admit(&caller, client) {
        Ok(permit) => permit,
        Err(refused) => {
            tracing::debug!(%client, ?refused, "request refused");
            return ApiError::refused(refused).into_response();
        }
    };
    request.extensions_mut().insert::<Caller>(caller);
    let mut response = next.run(request).await;
    drop(permit);
    if let Some(cookie) = new_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
