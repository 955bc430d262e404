//! The queries on `predictions`: log a prediction (idempotent on its request
//! id), record feedback, fetch one.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::DbConnection;
use crate::error::StoreError;
use crate::schema::predictions;

/// Where a prediction came from.
pub const SOURCES: [&str; 2] = ["web", "grpc"];

/// A prediction to log.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = predictions)]
pub struct NewPrediction {
    /// The caller's unique id for the request.
    pub request_id: String,
    /// When it was made (UTC).
    pub created_at: NaiveDateTime,
    /// The predicted digit.
    pub predicted_digit: i16,
    /// Its probability.
    pub confidence: f32,
    /// Ten little-endian f32 probabilities (40 bytes).
    pub probabilities: Vec<u8>,
    /// The model version.
    pub model_version: String,
    /// The 28x28 input (784 bytes).
    pub input: Vec<u8>,
    /// "web" or "grpc".
    pub source: String,
    /// Latency in microseconds.
    pub latency_us: i64,
}

/// A stored prediction.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = predictions)]
pub struct Prediction {
    /// Row id.
    pub id: i64,
    /// The caller's request id.
    pub request_id: String,
    /// When it was made (UTC).
    pub created_at: NaiveDateTime,
    /// The predicted digit.
    pub predicted_digit: i16,
    /// Its probability.
    pub confidence: f32,
    /// Ten little-endian f32 probabilities.
    pub probabilities: Vec<u8>,
    /// The user's true label.
    pub true_label: Option<i16>,
    /// When the latest feedback was given (UTC).
    pub feedback_at: Option<NaiveDateTime>,
    /// The model version.
    pub model_version: String,
    /// The 28x28 input.
    pub input: Vec<u8>,
    /// "web" or "grpc".
    pub source: String,
    /// Latency in microseconds.
    pub latency_us: i64,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::Invalid { field, reason: reason.into() }
}

impl NewPrediction {
    /// Checks the rules the schema enforces, so callers get a clear message
    /// instead of a constraint violation.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] naming the field.
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.request_id.is_empty() || self.request_id.len() > 128 {
            return Err(invalid("request_id", "must be 1 to 128 bytes"));
        }
        if !(0..=9).contains(&self.predicted_digit) {
            return Err(invalid("predicted_digit", format!("{} is not a digit 0-9", self.predicted_digit)));
        }
        if !(0.0..=1.0).contains(&self.confidence) {
            return Err(invalid("confidence", format!("{} is outside [0, 1]", self.confidence)));
        }
        if self.probabilities.len() != 40 {
            return Err(invalid(
                "probabilities",
                format!("{} bytes, expected 10 float32 (40 bytes)", self.probabilities.len()),
            ));
        }
        if self.input.len() != 784 {
            return Err(invalid("input", format!("{} bytes, expected 784 (28x28)", self.input.len())));
        }
        if self.model_version.is_empty() || self.model_version.len() > 64 {
            return Err(invalid("model_version", "must be 1 to 64 bytes"));
        }
        if !SOURCES.contains(&self.source.as_str()) {
            return Err(invalid("source", format!("{:?} is not one of {SOURCES:?}", self.source)));
        }
        if self.latency_us < 0 {
            return Err(invalid("latency_us", "must not be negative"));
        }
        Ok(())
    }
}

/// Stores `new` unless a prediction with its request id exists; returns the
/// stored row and whether this call created it. A retry never duplicates.
///
/// # Errors
/// [`StoreError::Invalid`] or a database error.
pub fn log(conn: &mut DbConnection, new: &NewPrediction) -> Result<(Prediction, bool), StoreError> {
    new.validate()?;
    let created = match diesel::insert_into(predictions::table).values(new).execute(conn) {
        Ok(_) => true,
        // Another call with this request id got there first.
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => false,
        Err(e) => return Err(e.into()),
    };
    let row = predictions::table
        .filter(predictions::request_id.eq(&new.request_id))
        .select(Prediction::as_select())
        .first(conn)?;
    Ok((row, created))
}

/// Fetches one prediction.
///
/// # Errors
/// [`StoreError::NotFound`] or a database error.
pub fn get(conn: &mut DbConnection, id: i64) -> Result<Prediction, StoreError> {
    predictions::table.find(id).select(Prediction::as_select()).first(conn).optional()?.ok_or(StoreError::NotFound(id))
}

/// Records the user's true label; a later call overwrites it and its time.
///
/// # Errors
/// [`StoreError::Invalid`] for a label outside 0-9, [`StoreError::NotFound`].
pub fn record_feedback(conn: &mut DbConnection, id: i64, true_label: i16) -> Result<Prediction, StoreError> {
    if !(0..=9).contains(&true_label) {
        return Err(invalid("true_label", format!("{true_label} is not a digit 0-9")));
    }
    let now = Utc::now().naive_utc();
    let updated = diesel::update(predictions::table.find(id))
        .set((predictions::true_label.eq(Some(true_label)), predictions::feedback_at.eq(Some(now))))
        .execute(conn)?;
    if updated == 0 {
        return Err(StoreError::NotFound(id));
    }
    get(conn, id)
}
