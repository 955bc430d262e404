//! `/api/stats` (the caller's own figures), `/api/stats/global` (everyone's,
//! counts only: public), `/api/model`, and the operators' export.

use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use digits_proto::logging::v1 as logging;
use digits_web_api::{Example, ModelInfo, Stats};
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_stream::StreamExt;

use crate::error::ApiError;
use crate::identity::Caller;
use crate::state::AppState;
use crate::views;

/// How long the public statistics are served from the cache: a flood of
/// `/api/stats/global` costs one query per second at most.
const GLOBAL_TTL: Duration = Duration::from_secs(1);

/// The public statistics, computed at most once per [`GLOBAL_TTL`]; callers
/// that arrive while they are computed wait for that one query.
#[derive(Default)]
pub struct GlobalStats(Mutex<Option<(Instant, Stats)>>);

/// `GET /api/stats`: accuracy from the caller's own feedback.
pub async fn stats(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Stats>, ApiError> {
    Ok(Json(fetch(&state, caller.scope()).await?))
}

/// `GET /api/stats/global`: every visitor's predictions counted together; no drawings.
pub async fn global(State(state): State<AppState>) -> Result<Json<Stats>, ApiError> {
    let mut cached = state.global_stats.0.lock().await;
    if let Some((at, stats)) = cached.as_ref()
        && at.elapsed() < GLOBAL_TTL
    {
        return Ok(Json(stats.clone()));
    }
    let stats = fetch(&state, None).await?;
    *cached = Some((Instant::now(), stats.clone()));
    Ok(Json(stats))
}

async fn fetch(state: &AppState, owner: Option<String>) -> Result<Stats, ApiError> {
    let response = state
        .logging
        .clone()
        .get_stats(logging::GetStatsRequest { owner })
        .await
        .map_err(|s| ApiError::from_logging(&s))?;
    Ok(views::stats(response.into_inner()))
}

/// `GET /api/model`: the serving model's card.
pub async fn model(State(state): State<AppState>) -> Result<Json<ModelInfo>, ApiError> {
    let info = state.inference.model_info().await.map_err(|s| ApiError::from_inference(&s))?.into_inner();
    Ok(Json(views::model(info)))
}

/// Query of `GET /api/admin/export`.
#[derive(Debug, Deserialize)]
pub struct ExportParams {
    /// Only rows with an id above this, to resume an export.
    #[serde(default)]
    after: i64,
}

/// The operators' gate: 404 while `DIGITS_ADMIN_TOKEN` is unset (the views
/// do not exist), 401 for anyone else.
pub fn require_admin(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    if !state.credentials.admin_configured() {
        return Err(ApiError::not_found("the admin views are off: DIGITS_ADMIN_TOKEN is not set"));
    }
    if *caller != Caller::Admin {
        return Err(ApiError::unauthorized("this view needs the operators' token"));
    }
    Ok(())
}

/// `GET /api/admin/export`: every labelled prediction, oldest first, one
/// JSON [`Example`] per line, streamed as the database is read.
pub async fn export(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<ExportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    require_admin(&state, &caller)?;
    let Query(params) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    if params.after < 0 {
        return Err(ApiError::unprocessable("invalid_argument", "after must be 0 or more"));
    }
    let request = logging::ExportLabeledRequest { after_id: params.after };
    let rows = state.logging.clone().export_labeled(request).await.map_err(|s| ApiError::from_logging(&s))?;
    let lines = rows.into_inner().map(|row| {
        let row = row?;
        let example = Example {
            id: row.id,
            true_label: u8::try_from(row.true_label).unwrap_or(u8::MAX),
            predicted_digit: u8::try_from(row.predicted_digit).unwrap_or(u8::MAX),
            model_version: row.model_version,
            input: row.input,
        };
        let mut line = serde_json::to_vec(&example).map_err(|e| tonic::Status::internal(e.to_string()))?;
        line.push(b'\n');
        Ok::<_, tonic::Status>(Bytes::from(line))
    });
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], Body::from_stream(lines)).into_response())
}
