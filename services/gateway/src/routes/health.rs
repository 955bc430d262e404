//! `/healthz` (the process answers) and `/readyz` (both backends answer).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::state::AppState;

/// `GET /healthz`.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "probes",
    summary = "The gateway process answers",
    security(()),
    responses((status = 200, description = "{\"status\":\"ok\"}"))
)]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 when at least one inference replica and the logging
/// service are serving, 503 otherwise; the body also shows the log queue,
/// including how many entries were ever dropped.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "probes",
    summary = "Both backends answer",
    description = "200 when at least one inference replica and the logging service are serving, else 503. The \
                   body shows the replicas and the log queue (pending, capacity, dropped since start, written since \
                   start, and replayed: entries a previous run left in the spool and sent after this start).",
    security(()),
    responses((status = 200, description = "Ready"), (status = 503, description = "Not ready"))
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    // What the last discovery round found: probed at most one refresh period ago.
    let replicas = state.inference.replicas().addresses();
    let logging = state.logging_replicas.addresses();
    let queue = state.logs.stats();
    let ready = !replicas.is_empty() && !logging.is_empty();
    let body = json!({
        "ready": ready,
        "inference": { "ready": !replicas.is_empty(), "replicas": replicas.len() },
        "logging": { "ready": !logging.is_empty(), "replicas": logging.len() },
        "log_queue": queue,
    });
    (if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}
