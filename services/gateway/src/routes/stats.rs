//! `/api/stats` and `/api/model`.

use axum::Json;
use axum::extract::State;
use digits_proto::logging::v1 as logging;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;
use crate::views::StatsView;

/// `GET /api/stats`: accuracy from feedback, per digit, the confusion matrix.
pub async fn stats(State(state): State<AppState>) -> Result<Json<StatsView>, ApiError> {
    let response =
        state.logging.clone().get_stats(logging::GetStatsRequest {}).await.map_err(|s| ApiError::from_logging(&s))?;
    Ok(Json(response.into_inner().into()))
}

/// `GET /api/model`: the serving model's card.
pub async fn model(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let info = state.inference.model_info().await.map_err(|s| ApiError::from_inference(&s))?.into_inner();
    Ok(Json(json!({
        "name": info.name,
        "version": info.version,
        "test_accuracy": info.test_accuracy,
        "per_digit_accuracy": info.per_digit_accuracy,
        "parameters": info.parameters,
        "multiply_adds": info.multiply_adds,
        "created": info.created,
    })))
}
