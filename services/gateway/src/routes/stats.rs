//! `/api/stats` (the caller's own figures) and `/api/stats/global`
//! (everyone's, counts only: public).

use std::time::Duration;

use axum::Json;
use axum::extract::{Extension, State};
use digits_proto::logging::v1 as logging;
use digits_web_api::Stats;
use tokio::sync::Mutex;
use tokio::time::Instant;

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
#[utoipa::path(
    get,
    path = "/api/stats",
    operation_id = "getStats",
    tag = "stats",
    summary = "Your live accuracy",
    description = "Accuracy from the caller's own feedback: per digit, per model version and the confusion matrix.",
    responses((status = 200, description = "The figures", body = Stats))
)]
pub async fn stats(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Stats>, ApiError> {
    let owner = caller.scope();
    super::predictions::flush_owner(&state, owner.as_deref()).await?;
    Ok(Json(fetch(&state, owner).await?))
}

/// `GET /api/stats/global`: every visitor's predictions counted together; no drawings.
#[utoipa::path(
    get,
    path = "/api/stats/global",
    operation_id = "getGlobalStats",
    tag = "stats",
    summary = "Everyone's live accuracy",
    description = "Every visitor's predictions counted together: counts only, no drawings. Public; refreshed at \
                   most once a second.",
    responses((status = 200, description = "The figures", body = Stats))
)]
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
