//! `/api/predictions`: recognise a drawing, give feedback, read the history.
//! Each caller sees and labels only its own predictions (the operators see
//! all): another caller's prediction is 404, exactly like a missing one.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use digits_proto::inference::metadata;
use digits_proto::inference::v1 as inference;
use digits_proto::logging::v1 as logging;
use serde::Deserialize;

use crate::error::ApiError;
use crate::identity::Caller;
use crate::image_body;
use crate::log_queue::{self, Forgotten};
use crate::routes::extract::{ApiQuery, Body};
use crate::state::AppState;
use crate::views;
use digits_web_api::{ErrorBody, Feedback, ListQuery, Page, PixelImage, Prediction, Record};

/// The response header that passes on the inference replica that answered.
pub const REPLICA_HEADER: &str = "x-digits-replica";
/// The request header that makes a `POST /api/predictions` safe to send
/// again: the same key from the same caller names the same record.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The longest idempotency key.
const MAX_IDEMPOTENCY_KEY: usize = 128;

/// Query of `POST /api/predictions`.
#[derive(Debug, Deserialize)]
pub struct CreateParams {
    /// `false` for a draft (the live preview while drawing): answered but not logged.
    #[serde(default = "default_log")]
    log: bool,
}

fn default_log() -> bool {
    true
}

/// `POST /api/predictions`: recognises the image in the body. The answer
/// does not wait for the log write, which is queued.
#[utoipa::path(
    post,
    path = "/api/predictions",
    operation_id = "createPrediction",
    tag = "predictions",
    summary = "Recognise a drawing",
    description = "Reads a digit, a number of up to 8 digits (left to right, with gaps between them), or \
                   says that the drawing is not a digit (`verdict`). The answer is returned as soon as the model \
                   has spoken; the prediction is logged asynchronously (and retried) unless log=false. The body \
                   is an encoded image (PNG or JPEG: dark-on-light, light-on-dark or ink on a transparent \
                   background), grey pixels as JSON, or ready 28x28 images (application/vnd.digits.mnist, 784 \
                   bytes per image, up to 8).",
    params(
        ("log" = Option<bool>, Query,
            description = "false for a draft (e.g. a live preview while drawing): answered, not logged, id is null. Default true."),
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 128, pattern = "^[!-~]{1,128}$",
            description = "A key of the caller's (1-128 visible ASCII characters, e.g. a random one per drawing) that \
                           makes the request safe to send again after a lost answer: the same key from the same caller \
                           always gets the same id, and the prediction is stored once."),
    ),
    request_body(content((PixelImage = "application/json"))),
    responses(
        (status = 201, description = "Recognised and queued for logging", body = Prediction,
            headers(("x-digits-replica" = String, description = "The inference replica that answered.")),
            links(
                ("GetPrediction" = (operation_id = "getPrediction",
                    parameters(("id" = "$response.body#/id")), description = "The stored prediction.")),
                ("RecordFeedback" = (operation_id = "recordFeedback",
                    parameters(("id" = "$response.body#/id")), description = "Feedback on it.")),
                ("RevisePrediction" = (operation_id = "revisePrediction",
                    parameters(("id" = "$response.body#/id")), description = "The drawing, changed, read again in place.")),
                ("DeletePrediction" = (operation_id = "deletePrediction",
                    parameters(("id" = "$response.body#/id")), description = "Delete it.")),
            )),
        (status = 200, description = "Recognised, not logged (log=false)", body = Prediction,
            headers(("x-digits-replica" = String, description = "The inference replica that answered."))),
        (status = 400, description = "Not an image, a bad query or a bad Idempotency-Key", body = ErrorBody),
        (status = 408, description = "The body was not sent in time", body = ErrorBody),
        (status = 413, description = "The body or the image is too large", body = ErrorBody),
        (status = 415, description = "Neither PNG, JPEG nor JSON", body = ErrorBody),
        (status = 422, description = "An empty drawing, a tap too small to read (too_small), pixels that do not match the size, or an \
            application/vnd.digits.mnist body that is not 1 to 8 images of 784 bytes", body = ErrorBody),
        (status = 504, description = "The model did not answer in time", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(params): ApiQuery<CreateParams>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<impl IntoResponse, ApiError> {
    let key = idempotency_key(&headers)?;
    let id = params.log.then(|| key.map_or_else(|| uuid::Uuid::new_v4().to_string(), |k| keyed_id(&caller, k)));
    let read = recognise(&state, &caller, &headers, &body).await?;
    if let Some(id) = &id {
        state.logs.push(vec![read.entry(id.clone(), 0, &caller)]).await;
    }
    let status = if id.is_some() { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, [(REPLICA_HEADER, read.replica.clone())], Json(read.view(id))))
}

/// A drawing read by the model.
struct Reading {
    prediction: inference::Prediction,
    model_version: String,
    replica: String,
    latency: Duration,
}

impl Reading {
    /// Its log entry: revision `revision` of the drawing `id`.
    fn entry(&self, id: String, revision: u32, caller: &Caller) -> logging::LogPredictionRequest {
        log_queue::entry(
            id,
            revision,
            caller.owner(),
            &self.prediction,
            &self.model_version,
            logging::Source::Web,
            self.latency,
        )
    }

    /// The answer, under `id` when it is logged.
    fn view(self, id: Option<String>) -> Prediction {
        views::prediction(self.prediction, id, self.model_version, self.latency.as_secs_f64() * 1000.0)
    }
}

/// Reads the image in a request body, with the model version that answers
/// `caller` (the canary's share of callers get the canary).
async fn recognise(state: &AppState, caller: &Caller, headers: &HeaderMap, body: &[u8]) -> Result<Reading, ApiError> {
    let started = Instant::now();
    let image = image_body::parse(headers, body.to_vec())?;
    let deadline = state.inference.deadline(None);
    let response = state
        .inference
        .predict(
            inference::PredictRequest { image: Some(image), model_version: String::new(), routing_key: caller.owner() },
            deadline,
        )
        .await
        .map_err(|s| ApiError::from_inference(&s))?;
    // Which replica answered, for operators watching the balancing.
    let replica = response.metadata().get(metadata::REPLICA).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let response = response.into_inner();
    let prediction = response.prediction.ok_or_else(|| {
        ApiError::new(StatusCode::BAD_GATEWAY, "bad_backend_answer", "the recognizer sent no prediction")
    })?;
    Ok(Reading { prediction, model_version: response.model_version, replica, latency: started.elapsed() })
}

/// Query of `PUT /api/predictions/{id}`.
#[derive(Debug, Deserialize)]
pub struct ReviseParams {
    /// The drawing's revision, above every earlier one: 1, 2, 3, ...
    revision: u32,
}

/// `PUT /api/predictions/{id}?revision=N`: reads a drawing again after the
/// user changed it (a stroke more, an undo) and replaces its stored reading,
/// so that one drawing stays one record until it is final.
#[utoipa::path(
    put,
    path = "/api/predictions/{id}",
    operation_id = "revisePrediction",
    tag = "predictions",
    summary = "Read a changed drawing again, in place",
    description = "While a drawing is being drawn, each later version of it replaces the stored reading of the \
                   caller's prediction `id` (created by POST /api/predictions) instead of creating another: one \
                   drawing, one record. `revision` numbers the versions, 1, 2, 3, ... A revision at or below the \
                   stored one, and any revision after feedback (the record is final), is 409. The body is an \
                   image, exactly as for POST /api/predictions. Another caller's prediction is 404.",
    params(
        ("id" = String, Path, description = "The prediction's id, as returned by POST /api/predictions."),
        ("revision" = u32, Query, minimum = 1, maximum = 2147483647,
            description = "This version of the drawing; above every earlier one."),
    ),
    request_body(content((PixelImage = "application/json"))),
    responses(
        (status = 200, description = "Read again and queued for logging in place of the earlier reading",
            body = Prediction,
            headers(("x-digits-replica" = String, description = "The inference replica that answered."))),
        (status = 400, description = "Not an image, or a bad query", body = ErrorBody),
        (status = 404, description = "No such prediction of the caller's", body = ErrorBody),
        (status = 408, description = "The body was not sent in time", body = ErrorBody),
        (status = 409, description = "The record is final (it has feedback), or the revision is not above \
            the stored one", body = ErrorBody),
        (status = 413, description = "The body or the image is too large", body = ErrorBody),
        (status = 415, description = "Neither PNG, JPEG nor JSON", body = ErrorBody),
        (status = 422, description = "An empty drawing, unusable pixels, or a revision outside 1 to \
            2147483647", body = ErrorBody),
        (status = 504, description = "The model did not answer in time", body = ErrorBody),
    )
)]
pub async fn revise(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<ReviseParams>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<impl IntoResponse, ApiError> {
    let id = prediction_id(&id)?;
    let revision = params.revision;
    if !(1..=i32::MAX as u32).contains(&revision) {
        return Err(ApiError::unprocessable("invalid_argument", "revision must be 1 to 2147483647"));
    }
    let (stored, is_final) = stored_revision(&state, &id, &caller.owner()).await?;
    if is_final {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "final",
            "this drawing has feedback and is final; draw the next one as a new prediction",
        ));
    }
    if revision <= stored {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "stale_revision",
            format!("revision {revision} is not above the stored revision {stored}"),
        ));
    }
    let read = recognise(&state, &caller, &headers, &body).await?;
    state.logs.push(vec![read.entry(id.clone(), revision, &caller)]).await;
    Ok((StatusCode::OK, [(REPLICA_HEADER, read.replica.clone())], Json(read.view(Some(id)))))
}

/// The latest revision of `owner`'s drawing `id`, queued or stored, and
/// whether it is final (has feedback).
async fn stored_revision(state: &AppState, id: &str, owner: &str) -> Result<(u32, bool), ApiError> {
    let not_found = || ApiError::not_found(format!("prediction {id:?} not found"));
    if let Some(entry) = state.logs.pending(id) {
        return if entry.owner == owner { Ok((entry.revision, false)) } else { Err(not_found()) };
    }
    let request = logging::GetPredictionRequest {
        prediction: Some(logging::get_prediction_request::Prediction::RequestId(id.to_owned())),
        owner: Some(owner.to_owned()),
    };
    let stored = state.logging.clone().get_prediction(request).await.map_err(|s| ApiError::from_logging(&s))?;
    let stored = stored.into_inner();
    Ok((stored.revision, stored.true_label.is_some()))
}

/// `DELETE /api/predictions/{id}`: deletes one of the caller's predictions
/// for good, queued or stored.
#[utoipa::path(
    delete,
    path = "/api/predictions/{id}",
    operation_id = "deletePrediction",
    tag = "predictions",
    summary = "Delete a prediction",
    description = "Deletes one of the caller's predictions for good: its drawing, reading and feedback. \
                   Another caller's prediction is 404.",
    params(("id" = String, Path, description = "The prediction's id, as returned by POST /api/predictions.")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such prediction of the caller's", body = ErrorBody),
        (status = 503, description = "The store is unavailable; nothing was deleted there, try again",
            body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = prediction_id(&id)?;
    let owner = caller.scope();
    let queued = state.logs.forget(&id, owner.as_deref()).await;
    if queued == Forgotten::NotYours {
        return Err(ApiError::not_found(format!("prediction {id:?} not found")));
    }
    let request = logging::DeletePredictionRequest { request_id: id, owner };
    match state.logging.clone().delete_prediction(request).await {
        Ok(_) => Ok(StatusCode::NO_CONTENT),
        // Queued, never stored: forgetting it was the whole delete.
        Err(status) if status.code() == tonic::Code::NotFound && queued == Forgotten::Pending => {
            Ok(StatusCode::NO_CONTENT)
        }
        Err(status) => Err(ApiError::from_logging(&status)),
    }
}

/// The `Idempotency-Key` header, if sent (an empty one is no key, as
/// proxies and clients often send it for an unset value).
fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY).filter(|v| !v.is_empty()) else { return Ok(None) };
    let key = value
        .to_str()
        .ok()
        .filter(|k| (1..=MAX_IDEMPOTENCY_KEY).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()));
    key.map(Some).ok_or_else(|| {
        ApiError::bad_request("invalid_idempotency_key", "Idempotency-Key takes 1-128 visible ASCII characters")
    })
}

/// The id a caller's idempotency key names: a UUID made from a digest of
/// both, so that another caller's same key names another record.
fn keyed_id(caller: &Caller, key: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"digits prediction\0")
        .chain_update(caller.owner())
        .chain_update([0])
        .chain_update(key)
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid().hyphenated().to_string()
}

/// The prediction id in a path: the gateway only ever hands out UUIDs, so
/// anything else (NUL bytes included) names nothing: 404.
fn prediction_id(id: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(id)
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| ApiError::not_found(format!("prediction {id:?} not found")))
}

/// Writes the queued log entry of `id` now, if it is still waiting, so that
/// feedback and lookups right after a prediction find it.
async fn flush_pending(state: &AppState, id: &str) -> Result<(), ApiError> {
    if let Some(entry) = state.logs.pending(id) {
        let revision = entry.revision;
        state.logging.clone().log_prediction(entry).await.map_err(|s| ApiError::from_logging(&s))?;
        state.logs.written(id, revision);
    }
    Ok(())
}

/// Writes the queued log entries of `owner` (everyone's for `None`, at most
/// a batch) now, so a history or the statistics read right after a
/// prediction include it.
pub(crate) async fn flush_owner(state: &AppState, owner: Option<&str>) -> Result<(), ApiError> {
    let entries = state.logs.pending_of(owner, crate::log_queue::BATCH);
    if entries.is_empty() {
        return Ok(());
    }
    state.logs.store(&state.logging, entries).await.map_err(|s| ApiError::from_logging(&s))
}

/// `PUT /api/predictions/{id}/feedback` with `{"true_label": 0-9}`,
/// `{"not_a_digit": true}` or `{"true_number": "42"}`: records the user's
/// answer on one of their own predictions and returns the updated record.
/// Synchronous, so the user learns whether it was saved.
#[utoipa::path(
    put,
    path = "/api/predictions/{id}/feedback",
    operation_id = "recordFeedback",
    tag = "predictions",
    summary = "Say what was drawn",
    description = "Feedback on one of the caller's own predictions: the digit drawn, that it is not a digit, \
                   or the number drawn (to confirm or correct a number). The body is at most 1 KiB. \
                   Another caller's prediction is 404.",
    params(("id" = String, Path, description = "The prediction's id, as returned by POST /api/predictions.")),
    request_body(content = Feedback),
    responses(
        (status = 200, description = "The updated prediction", body = Record),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 404, description = "No such prediction of the caller's", body = ErrorBody),
        (status = 408, description = "The body was not sent in time", body = ErrorBody),
        (status = 413, description = "The body is over 1 KiB", body = ErrorBody),
        (status = 422, description = "Not exactly one of true_label (0-9), not_a_digit or true_number \
            (2-8 digits)", body = ErrorBody),
    )
)]
pub async fn feedback(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Json<Record>, ApiError> {
    let id = prediction_id(&id)?;
    const SHAPE: &str = "the body must be one of {\"true_label\": 0-9}, {\"not_a_digit\": true} or \
                         {\"true_number\": \"42\"} (2-8 digits)";
    let feedback: Feedback = serde_json::from_slice(&body).map_err(|e| {
        if e.is_data() {
            ApiError::unprocessable("invalid_label", SHAPE)
        } else {
            ApiError::bad_request("invalid_json", format!("the body is not valid JSON: {e}"))
        }
    })?;
    let (true_label, true_number) = match feedback {
        Feedback { true_label: Some(d), not_a_digit: false, true_number: None } if d <= 9 => (Some(u32::from(d)), None),
        Feedback { true_label: None, not_a_digit: true, true_number: None } => (Some(10), None),
        Feedback { true_label: None, not_a_digit: false, true_number: Some(n) }
            if (2..=8).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (None, Some(n))
        }
        _ => return Err(ApiError::unprocessable("invalid_label", SHAPE)),
    };
    flush_pending(&state, &id).await?;
    let request = logging::RecordFeedbackRequest {
        prediction: Some(logging::record_feedback_request::Prediction::RequestId(id)),
        true_label,
        true_number,
        owner: caller.scope(),
    };
    let stored = state.logging.clone().record_feedback(request).await.map_err(|s| ApiError::from_logging(&s))?;
    Ok(Json(views::record(stored.into_inner())))
}

/// `GET /api/predictions/{id}`: one of the caller's predictions with its feedback.
#[utoipa::path(
    get,
    path = "/api/predictions/{id}",
    operation_id = "getPrediction",
    tag = "predictions",
    summary = "One prediction",
    description = "One of the caller's predictions; another caller's, a missing one and a malformed id are all 404.",
    params(("id" = String, Path, description = "The prediction's id, as returned by POST /api/predictions.")),
    responses(
        (status = 200, description = "The prediction", body = Record),
        (status = 404, description = "No such prediction of the caller's", body = ErrorBody),
    )
)]
pub async fn get_one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Record>, ApiError> {
    let id = prediction_id(&id)?;
    flush_pending(&state, &id).await?;
    let request = logging::GetPredictionRequest {
        prediction: Some(logging::get_prediction_request::Prediction::RequestId(id)),
        owner: caller.scope(),
    };
    let stored = state.logging.clone().get_prediction(request).await.map_err(|s| ApiError::from_logging(&s))?;
    Ok(Json(views::record(stored.into_inner())))
}

/// `GET /api/predictions`: the caller's recent predictions (everyone's for
/// the operators), newest first.
#[utoipa::path(
    get,
    path = "/api/predictions",
    operation_id = "listPredictions",
    tag = "predictions",
    summary = "Recent predictions with their feedback, newest first",
    description = "The caller's own predictions, newest first (every caller's for the operators' token).",
    params(ListQuery),
    responses(
        (status = 200, description = "One page", body = Page),
        (status = 400, description = "A malformed query", body = ErrorBody),
        (status = 422, description = "A query value out of range", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(p): ApiQuery<ListQuery>,
) -> Result<Json<Page>, ApiError> {
    if p.limit == Some(0) {
        return Err(ApiError::unprocessable("invalid_argument", "limit must be 1-500"));
    }
    let owner = caller.scope();
    flush_owner(&state, owner.as_deref()).await?;
    let request = logging::ListPredictionsRequest {
        limit: p.limit.unwrap_or(50),
        before: p.before,
        has_feedback: p.has_feedback,
        wrong_only: p.wrong_only,
        digit: p.digit,
        true_label: p.true_label,
        owner,
    };
    let page =
        state.logging.clone().list_predictions(request).await.map_err(|s| ApiError::from_logging(&s))?.into_inner();
    Ok(Json(Page {
        predictions: page.predictions.into_iter().map(views::record).collect(),
        next_before: page.next_before,
    }))
}
