//! The extractors the handlers take, so a bad query or body becomes the
//! same JSON error on every route, mapped here once.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The URL query as `T`; a malformed one is 400 `invalid_query`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(query_error(&rejection)),
        }
    }
}

/// The whole body, within the route's size limit: too large is 413
/// `body_too_large`, too slow 408 `body_timeout`, anything else 400 `bad_body`.
#[derive(Debug)]
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(request, state).await.map(Self).map_err(|rejection| body_error(&rejection))
    }
}

fn query_error(rejection: &QueryRejection) -> ApiError {
    ApiError::bad_request("invalid_query", rejection.body_text())
}

fn body_error(rejection: &BytesRejection) -> ApiError {
    // A body that did not arrive within DIGITS_HTTP_READ_TIMEOUT_S.
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(error) = cause {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return ApiError::new(StatusCode::REQUEST_TIMEOUT, "body_timeout", "the request body was not sent in time");
        }
        cause = error.source();
    }
    let status = rejection.status();
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE { "body_too_large" } else { "bad_body" };
    ApiError::new(status, code, rejection.body_text())
}
