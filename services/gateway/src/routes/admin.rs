//! The operators' views, behind `DIGITS_ADMIN_TOKEN`: the export of the
//! labelled data. (The global history is `GET /api/predictions` with the
//! operators' token.)

use axum::body::{Body, Bytes};
use axum::extract::{Extension, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use digits_proto::logging::v1 as logging;
use digits_web_api::{ErrorBody, Example};
use serde::Deserialize;
use tokio_stream::StreamExt;

use crate::error::ApiError;
use crate::identity::Caller;
use crate::routes::extract::ApiQuery;
use crate::state::AppState;

/// Query of `GET /api/admin/export`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Only rows with an id above this, to resume an export.
    #[serde(default)]
    #[param(minimum = 0)]
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
#[utoipa::path(
    get,
    path = "/api/admin/export",
    operation_id = "exportLabelled",
    tag = "admin",
    summary = "Export the labelled data (operators)",
    description = "Every prediction with feedback, oldest first, one JSON object per line. Needs the operators' \
                   token; 404 while DIGITS_ADMIN_TOKEN is unset.",
    params(ExportParams),
    security(("token" = [])),
    responses(
        (status = 200, description = "Newline-delimited JSON, one Example per line", content_type = "application/x-ndjson", body = Example),
        (status = 400, description = "A malformed query", body = ErrorBody),
        (status = 404, description = "Not the operators' token, or the export is off", body = ErrorBody),
        (status = 422, description = "after is negative", body = ErrorBody),
    )
)]
pub async fn export(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    require_admin(&state, &caller)?;
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
            owner: row.owner,
        };
        let mut line = serde_json::to_vec(&example).map_err(|e| tonic::Status::internal(e.to_string()))?;
        line.push(b'\n');
        Ok::<_, tonic::Status>(Bytes::from(line))
    });
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], Body::from_stream(lines)).into_response())
}
