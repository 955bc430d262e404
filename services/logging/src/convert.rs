//! Between stored rows and protobuf messages, with the checks a request needs.

use chrono::{DateTime, NaiveDateTime, Utc};
use digits_proto::logging::v1 as pb;

use crate::checks::{self, invalid};
use crate::error::StoreError;
use crate::predictions::{NewPrediction, Prediction, PredictionKey, Stats};
use crate::source::Source;

fn unix_ms(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_millis()
}

/// A digit from the wire: 0-9.
///
/// # Errors
/// [`StoreError::Invalid`] naming `field` otherwise.
pub fn digit(field: &'static str, value: u32) -> Result<i16, StoreError> {
    checks::digit(field, i64::from(value))
}

impl From<pb::record_feedback_request::Prediction> for PredictionKey {
    fn from(named: pb::record_feedback_request::Prediction) -> Self {
        use pb::record_feedback_request::Prediction;
        match named {
            Prediction::Id(id) => Self::Id(id),
            Prediction::RequestId(request_id) => Self::RequestId(request_id),
        }
    }
}

impl From<pb::get_prediction_request::Prediction> for PredictionKey {
    fn from(named: pb::get_prediction_request::Prediction) -> Self {
        use pb::get_prediction_request::Prediction;
        match named {
            Prediction::Id(id) => Self::Id(id),
            Prediction::RequestId(request_id) => Self::RequestId(request_id),
        }
    }
}

/// The prediction a request names in its `prediction` oneof.
///
/// # Errors
/// [`StoreError::Invalid`] when it names none, or an empty request id.
pub fn key(named: Option<impl Into<PredictionKey>>) -> Result<PredictionKey, StoreError> {
    match named.map(Into::into) {
        None => Err(invalid("prediction", "set id or request_id")),
        Some(PredictionKey::RequestId(id)) if id.is_empty() => Err(invalid("request_id", "must not be empty")),
        Some(key) => Ok(key),
    }
}

/// The row to store for a request.
///
/// # Errors
/// [`StoreError::Invalid`] naming the field.
pub fn new_prediction(r: pb::LogPredictionRequest) -> Result<NewPrediction, StoreError> {
    if r.probabilities.len() != 10 {
        return Err(invalid("probabilities", format!("{} values, expected 10", r.probabilities.len())));
    }
    if r.probabilities.iter().any(|p| !(0.0..=1.0).contains(p)) {
        return Err(invalid("probabilities", "every value must be in [0, 1]"));
    }
    let created_at = if r.created_at_unix_ms == 0 {
        Utc::now()
    } else {
        DateTime::from_timestamp_millis(r.created_at_unix_ms)
            .ok_or_else(|| invalid("created_at_unix_ms", "out of range"))?
    };
    let new = NewPrediction {
        request_id: r.request_id,
        created_at: created_at.naive_utc(),
        predicted_digit: digit("predicted_digit", r.predicted_digit)?,
        confidence: r.confidence,
        probabilities: r.probabilities.iter().flat_map(|p| p.to_le_bytes()).collect(),
        model_version: r.model_version,
        input: r.input,
        source: Source::try_from(r.source).map_err(|e| invalid("source", e.to_string()))?,
        latency_us: i64::try_from(r.latency_us).map_err(|_| invalid("latency_us", "too large"))?,
        owner: r.owner,
    };
    // The store checks the rest of the row's rules when it is logged.
    Ok(new)
}

/// A stored row as a message.
pub fn stored(p: Prediction) -> pb::StoredPrediction {
    pb::StoredPrediction {
        id: p.id,
        request_id: p.request_id,
        created_at_unix_ms: unix_ms(p.created_at),
        predicted_digit: u32::try_from(p.predicted_digit).unwrap_or_default(),
        confidence: p.confidence,
        probabilities: p.probabilities.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        model_version: p.model_version,
        input: p.input,
        source: pb::Source::from(p.source) as i32,
        latency_us: u64::try_from(p.latency_us).unwrap_or_default(),
        true_label: p.true_label.and_then(|l| u32::try_from(l).ok()),
        feedback_at_unix_ms: p.feedback_at.map(unix_ms),
        owner: p.owner,
    }
}

/// Stats as a message.
pub fn stats(s: &Stats) -> pb::Stats {
    pb::Stats {
        total: s.total,
        labeled: s.labelled,
        correct: s.correct,
        accuracy: s.accuracy(),
        precision: (0..10).map(|d| s.precision(d).unwrap_or(f64::NAN)).collect(),
        recall: (0..10).map(|d| s.recall(d).unwrap_or(f64::NAN)).collect(),
        confusion: s.confusion.iter().flatten().copied().collect(),
    }
}
