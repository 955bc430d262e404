//! `/api/stats` and `/api/model`.

use axum::Json;
use axum::extract::State;
use digits_proto::logging::v1 as logging;
use digits_web_api::{ModelInfo, Stats};

use crate::error::ApiError;
use crate::state::AppState;
use crate::views;

/// `GET /api/stats`: accuracy from feedback, per digit, the confusion matrix.
pub async fn stats(State(state): State<AppState>) -> Result<Json<Stats>, ApiError> {
    let response = state
        .logging
        .clone()
        .get_stats(logging::GetStatsRequest::default())
        .await
        .map_err(|s| ApiError::from_logging(&s))?;
    Ok(Json(views::stats(response.into_inner())))
}

/// `GET /api/model`: the serving model's card.
pub async fn model(State(state): State<AppState>) -> Result<Json<ModelInfo>, ApiError> {
    let info = state.inference.model_info().await.map_err(|s| ApiError::from_inference(&s))?.into_inner();
    Ok(Json(views::model(info)))
}
