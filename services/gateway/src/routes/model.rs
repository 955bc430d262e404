//! `/api/model` (the serving model's card), `/api/model/page` (the model a
//! page runs for its caller) and `/api/model/files/{version}/{sha256}` (a
//! model file, under a URL whose content never changes).
//!
//! The web app reads its drafts in the page with the very model the server
//! would answer it with: `/api/model/page` names that version (the current
//! one, or the canary for the caller's share, from the same routing key as
//! its predictions), and the page fetches the file once: it is immutable,
//! with the SHA-256 of its content as its strong ETag, so a browser keeps it
//! in its cache and asks again only for a new version.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use digits_proto::inference::v1 as inference;
use digits_web_api::{ErrorBody, ModelInfo, PageModel};

use crate::error::ApiError;
use crate::identity::Caller;
use crate::state::AppState;
use crate::views;

/// Model files kept in memory, newest last (a handful of versions serve at once).
const CACHED_FILES: usize = 4;
/// How a model file may be cached: for good, since its URL names its content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The model files fetched from the inference service, by version and SHA-256.
#[derive(Default)]
pub struct ModelFiles(Mutex<VecDeque<((String, String), Bytes)>>);

impl ModelFiles {
    fn get(&self, key: &(String, String)) -> Option<Bytes> {
        let files = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        files.iter().find(|(k, _)| k == key).map(|(_, bytes)| bytes.clone())
    }

    fn keep(&self, key: (String, String), bytes: Bytes) {
        let mut files = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        files.retain(|(k, _)| *k != key);
        if files.len() == CACHED_FILES {
            files.pop_front();
        }
        files.push_back((key, bytes));
    }
}

/// `GET /api/model`: the current version's card and every version served.
#[utoipa::path(
    get,
    path = "/api/model",
    operation_id = "getModel",
    tag = "model",
    summary = "The serving model's card",
    description = "The current version's card, and every version served with its role (current, canary, \
                   available) and share of the traffic.",
    responses((status = 200, description = "Name, version, test accuracy, size, versions", body = ModelInfo))
)]
pub async fn model(State(state): State<AppState>) -> Result<Json<ModelInfo>, ApiError> {
    let info = state.inference.model_info("").await.map_err(|s| ApiError::from_inference(&s))?.into_inner();
    Ok(Json(views::model(info)))
}

/// `GET /api/model/page`: the model this caller's predictions are answered with.
#[utoipa::path(
    get,
    path = "/api/model/page",
    operation_id = "getPageModel",
    tag = "model",
    summary = "The model to run in the page",
    description = "The version that answers this caller (the current one, or the canary for its share of \
                   callers), the URL of its ONNX file, the file's SHA-256 to check before running it, and how \
                   to feed the model and read its outputs. The web app runs it to read drafts while a drawing \
                   is made; stored drawings are read by the server.",
    responses((status = 200, description = "The model for this caller", body = PageModel))
)]
pub async fn page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<PageModel>, ApiError> {
    let file = state
        .inference
        .model_file("", caller.owner(), true)
        .await
        .map_err(|s| ApiError::from_inference(&s))?
        .into_inner();
    let info = file.info.ok_or_else(|| ApiError::new(StatusCode::BAD_GATEWAY, "bad_backend", "no model info"))?;
    Ok(Json(page_model(info)))
}

fn page_model(info: inference::ModelInfo) -> PageModel {
    let (scale, offset) = info.input.map_or((1.0 / 255.0, 0.0), |i| (i.scale, i.offset));
    PageModel {
        url: format!("/api/model/files/{}/{}", info.version, info.sha256),
        version: info.version,
        sha256: info.sha256,
        classes: info.classes,
        rejection_threshold: info.rejection_threshold,
        scale,
        offset,
    }
}

/// `GET /api/model/files/{version}/{sha256}`: the ONNX file, cacheable for good.
#[utoipa::path(
    get,
    path = "/api/model/files/{version}/{sha256}",
    operation_id = "getModelFile",
    tag = "model",
    summary = "A model file",
    description = "The ONNX file of a version being served, whose SHA-256 is the last part of the URL. It \
                   never changes, so it may be cached for good (Cache-Control: immutable; its strong ETag is \
                   the SHA-256). A version not served, or a checksum that is not its file's, is 404.",
    params(
        ("version" = String, Path, description = "The version, e.g. 1.3.0", max_length = 64),
        ("sha256" = String, Path, description = "SHA-256 of the file, 64 hex digits", min_length = 64, max_length = 64),
    ),
    responses(
        (status = 200, description = "The ONNX file", content_type = "application/octet-stream"),
        (status = 304, description = "Not modified (If-None-Match names its ETag)"),
        (status = 404, description = "No such version or file", body = ErrorBody),
    )
)]
pub async fn file(
    State(state): State<AppState>,
    Path((version, sha256)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("no model file with that version and checksum is served");
    let plain_version = !version.is_empty()
        && version.len() <= 64
        && version.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
    let sha256 = sha256.to_ascii_lowercase();
    if !plain_version || sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let etag = format!("\"{sha256}\"");
    let cached = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim().trim_start_matches("W/") == etag);
    let key = (version, sha256);
    let bytes = match state.model_files.get(&key) {
        Some(bytes) => bytes,
        None => {
            let file = match state.inference.model_file(&key.0, String::new(), false).await {
                Ok(file) => file.into_inner(),
                Err(status) if status.code() == tonic::Code::NotFound => return Err(not_found()),
                Err(status) => return Err(ApiError::from_inference(&status)),
            };
            let served = file.info.as_ref().map(|i| i.sha256.to_ascii_lowercase());
            if served.as_deref() != Some(key.1.as_str()) {
                return Err(not_found());
            }
            let bytes = Bytes::from(file.onnx);
            state.model_files.keep(key.clone(), bytes.clone());
            bytes
        }
    };
    let headers = [
        (header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
        (header::ETAG, HeaderValue::from_str(&etag).map_err(|_| not_found())?),
    ];
    if cached {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    let content_type = [(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"))];
    Ok((StatusCode::OK, headers, content_type, bytes).into_response())
}
