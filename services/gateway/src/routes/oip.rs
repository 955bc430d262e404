//! The Open Inference Protocol's REST endpoints under `/v2` (KServe's V2
//! protocol, as tritonclient's HTTP client speaks it), over the same
//! inference, admission and logging as the rest of the API. Errors are the
//! protocol's `{"error": "..."}`, with the API's stable `code` beside it.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use digits_oip::{OipError, rest};
use digits_proto::inference::metadata::ErrorKind;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::identity::Caller;
use crate::routes::extract::Body;
use crate::state::AppState;

/// The gateway's version, reported as the server's.
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn oip_error(error: &OipError) -> ApiError {
    if error.is_not_found() {
        ApiError::not_found(error.to_string())
    } else {
        ApiError::bad_request("invalid_inference_request", error.to_string())
    }
}

/// An inference status as this API answers it: a refused request without a
/// kind of image error (e.g. a batch beyond the gateway's limit) is a bad
/// inference request (400), not a bad image (422).
fn inference_error(status: &tonic::Status) -> ApiError {
    if status.code() == tonic::Code::InvalidArgument && ErrorKind::of(status).is_none() {
        return ApiError::bad_request("invalid_inference_request", status.message());
    }
    ApiError::from_inference(status)
}

/// The served version `version` (empty: the current one) of `model`: 404
/// for another model or a version not served.
async fn served_version(state: &AppState, model: &str, version: &str) -> Result<String, ApiError> {
    digits_oip::check_model(model).map_err(|e| oip_error(&e))?;
    let info = state.inference.model_info(version).await.map_err(|s| ApiError::from_inference(&s))?;
    Ok(info.into_inner().version)
}

/// `GET /v2/health/live`.
pub async fn live() -> Json<Value> {
    Json(json!({ "live": true }))
}

/// `GET /v2/health/ready`: 200 when an inference replica is healthy, else 503.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let ready = !state.inference.replicas().addresses().is_empty();
    (if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(json!({ "ready": ready })))
}

/// `GET /v2`: the server's metadata.
pub async fn server_metadata() -> Json<Value> {
    Json(rest::server_metadata(&digits_oip::server_metadata(VERSION, digits_oip::REST_EXTENSIONS)))
}

/// `GET /v2/models/{model}`.
pub async fn model_metadata(State(state): State<AppState>, Path(model): Path<String>) -> Result<Json<Value>, ApiError> {
    version_metadata(State(state), Path((model, String::new()))).await
}

/// `GET /v2/models/{model}/versions/{version}`.
pub async fn version_metadata(
    State(state): State<AppState>,
    Path((model, version)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let served = served_version(&state, &model, &version).await?;
    Ok(Json(rest::model_metadata(&digits_oip::model_metadata(&served))))
}

/// `GET /v2/models/{model}/ready`: 200 when it can infer now.
pub async fn model_ready(State(state): State<AppState>, Path(model): Path<String>) -> Result<Json<Value>, ApiError> {
    version_ready(State(state), Path((model, String::new()))).await
}

/// `GET /v2/models/{model}/versions/{version}/ready`.
pub async fn version_ready(
    State(state): State<AppState>,
    Path((model, version)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    served_version(&state, &model, &version).await?;
    Ok(Json(json!({ "name": model, "ready": true })))
}

/// `POST /v2/models/{model}/infer`.
pub async fn infer(
    state: State<AppState>,
    caller: Extension<Caller>,
    Path(model): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    version_infer(state, caller, Path((model, String::new())), headers, body).await
}

/// `POST /v2/models/{model}/versions/{version}/infer`: recognises the batch,
/// logs each prediction like the gRPC API's, and answers in JSON, or with
/// binary outputs where the request asks for them.
pub async fn version_infer(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((model, version)): Path<(String, String)>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let header_length = match headers.get(rest::HEADER_LENGTH) {
        None => None,
        Some(value) => Some(value.to_str().ok().and_then(|v| v.parse::<usize>().ok()).ok_or_else(|| {
            ApiError::bad_request("invalid_inference_request", format!("{} must be a byte count", rest::HEADER_LENGTH))
        })?),
    };
    let (call, batch, binary) = rest::parse_infer(&model, &version, &body, header_length).map_err(|e| oip_error(&e))?;
    let answer = state.proxy.recognise(&caller, batch, None).await.map_err(|s| inference_error(&s))?;
    let answer = answer.into_inner();
    let response = call.respond(&answer.model_version, &answer.predictions);
    let (body, json_length) = rest::infer_body(&response, &binary);
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    match json_length {
        Some(length) => {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
            headers.insert(rest::HEADER_LENGTH, HeaderValue::from(length));
        }
        None => {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
    }
    Ok(response)
}
