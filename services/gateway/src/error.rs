//! The API's errors: every failure becomes a status code and a JSON body
//! `{"error": "...", "code": "..."}`, where `code` is stable and `error` is
//! for people. Backend gRPC statuses are translated here, in one place.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use digits_proto::inference::metadata::ErrorKind;
use tonic::Code;

use crate::admission::Refused;

/// A request failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable, machine-readable name.
    pub code: &'static str,
    /// What went wrong, in words.
    pub message: String,
    /// Seconds to wait before trying again (`Retry-After`), when known.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }

    /// 401: a credential is missing or wrong.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 429 or 503 from admission, with the time to wait.
    pub fn refused(refused: Refused) -> Self {
        let error = match refused {
            Refused::RateLimited(_) => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests from this client; slow down",
            ),
            Refused::Overloaded => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "the service is at capacity; try again shortly",
            ),
        };
        Self { retry_after: Some(refused.retry_after_secs()), ..error }
    }

    /// 400: the request is malformed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422: well-formed but unusable (a bad label, a wrong pixel count).
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 404: no such prediction.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// The error for a failed call to the inference service.
    pub fn from_inference(status: &tonic::Status) -> Self {
        match (status.code(), ErrorKind::of(status)) {
            (Code::InvalidArgument, Some(ErrorKind::EmptyDrawing)) => {
                Self::unprocessable("empty_drawing", status.message())
            }
            (Code::InvalidArgument, Some(ErrorKind::TooSmall)) => Self::unprocessable("too_small", status.message()),
            (Code::InvalidArgument, Some(ErrorKind::EmptyImage)) => {
                Self::unprocessable("empty_image", status.message())
            }
            (Code::InvalidArgument, Some(ErrorKind::ImageTooLarge)) | (Code::OutOfRange, _) => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, "image_too_large", status.message())
            }
            (Code::InvalidArgument, _) => Self::unprocessable("invalid_image", status.message()),
            (Code::NotFound, _) => Self::new(StatusCode::NOT_FOUND, "unknown_version", status.message()),
            (Code::ResourceExhausted, _) => Self {
                retry_after: Some(1),
                ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "the recognizer is busy; try again in a moment")
            },
            (Code::DeadlineExceeded, _) => {
                Self::new(StatusCode::GATEWAY_TIMEOUT, "inference_timeout", "the recognizer did not answer in time")
            }
            _ => Self::backend_unavailable("inference_unavailable", "the recognizer", status),
        }
    }

    /// The error for a failed call to the logging service.
    pub fn from_logging(status: &tonic::Status) -> Self {
        match status.code() {
            Code::NotFound => Self::not_found(status.message()),
            Code::InvalidArgument => Self::unprocessable("invalid_argument", status.message()),
            Code::DeadlineExceeded => {
                Self::new(StatusCode::GATEWAY_TIMEOUT, "logging_timeout", "the history store did not answer in time")
            }
            _ => Self::backend_unavailable("logging_unavailable", "the history store", status),
        }
    }

    fn backend_unavailable(code: &'static str, what: &str, status: &tonic::Status) -> Self {
        tracing::warn!(code = ?status.code(), message = status.message(), "{what} failed");
        Self {
            retry_after: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code,
                format!("{what} is unavailable right now; try again shortly"),
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = digits_web_api::ErrorBody { error: self.message, code: self.code.to_owned() };
        let mut response = (self.status, Json(body)).into_response();
        response.extensions_mut().insert(crate::request_metrics::ErrorCode(self.code));
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
