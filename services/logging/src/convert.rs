//! Between stored rows and protobuf messages, with the checks a request needs.

use chrono::{DateTime, NaiveDateTime, Utc};
use digits_proto::logging::v1 as pb;
use prost::Message;

use crate::checks::{self, invalid};
use crate::error::StoreError;
use crate::predictions::{CLASSES, Label, NOT_A_DIGIT, NewPrediction, Prediction, PredictionKey, Stats};
use crate::source::Source;
use crate::verdict::Verdict;

/// The most parts one drawing has.
const MAX_PARTS: usize = 8;

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

/// What a feedback request says was drawn: `true_label` (0-9, or 10 for
/// not a digit) or `true_number`, exactly one of them.
///
/// # Errors
/// [`StoreError::Invalid`] naming the field.
pub fn label(true_label: Option<u32>, true_number: Option<String>) -> Result<Label, StoreError> {
    match (true_label, true_number) {
        (Some(_), Some(_)) => Err(invalid("true_number", "set true_label or true_number, not both")),
        (None, None) => Err(invalid("true_label", "set true_label (0-9, or 10 for not a digit) or true_number")),
        (None, Some(number)) => Ok(Label::Number(number)),
        (Some(class), None) => match checks::class("true_label", i64::from(class))? {
            NOT_A_DIGIT => Ok(Label::NotADigit),
            digit => Ok(Label::Digit(digit)),
        },
    }
}

/// Checks the parts of a request and encodes them for the `parts` column,
/// leaving out the input of the part whose input is the row's (it is stored
/// once, in `input`).
fn encode_parts(parts: Vec<pb::Part>, input: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    if parts.is_empty() {
        return Ok(None);
    }
    if parts.len() > MAX_PARTS {
        return Err(invalid("parts", format!("{} parts; a drawing has at most {MAX_PARTS}", parts.len())));
    }
    let mut deciding_seen = false;
    let mut stored = Vec::with_capacity(parts.len());
    for mut part in parts {
        checks::digit("parts.digit", i64::from(part.digit))?;
        if part.probabilities.len() != 10 || part.input.len() != 784 {
            return Err(invalid("parts", "every part has 10 probabilities and a 784-byte input"));
        }
        let in_range = |p: f32| (0.0..=1.0).contains(&p);
        if !(in_range(part.confidence) && in_range(part.not_a_digit) && part.probabilities.iter().all(|&p| in_range(p)))
        {
            return Err(invalid("parts", "every probability must be in [0, 1]"));
        }
        if !deciding_seen && part.input == input {
            deciding_seen = true;
            part.input.clear();
        }
        stored.push(part);
    }
    Ok(Some(pb::Parts { parts: stored }.encode_to_vec()))
}

/// The parts of a stored row, with the deciding part's input put back; a
/// row logged without parts is its own one part.
fn decode_parts(p: &Prediction, probabilities: &[f32]) -> Vec<pb::Part> {
    let stored = p.parts.as_deref().and_then(|bytes| pb::Parts::decode(bytes).ok()).map(|s| s.parts);
    match stored {
        Some(mut parts) if !parts.is_empty() => {
            for part in &mut parts {
                if part.input.is_empty() {
                    part.input.clone_from(&p.input);
                }
            }
            parts
        }
        _ => vec![pb::Part {
            digit: u32::try_from(p.predicted_digit).unwrap_or_default(),
            confidence: p.confidence,
            probabilities: probabilities.to_vec(),
            input: p.input.clone(),
            ..pb::Part::default()
        }],
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
    let verdict = Verdict::from(r.verdict);
    let number =
        if verdict == Verdict::Digit && r.number.is_empty() { r.predicted_digit.to_string() } else { r.number };
    let parts = encode_parts(r.parts, &r.input)?;
    let new = NewPrediction {
        verdict,
        number,
        parts,
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
        revision: i32::try_from(r.revision).map_err(|_| invalid("revision", "must be at most 2^31 - 1"))?,
    };
    // The store checks the rest of the row's rules when it is logged.
    Ok(new)
}

/// A stored row as a message.
pub fn stored(p: Prediction) -> pb::StoredPrediction {
    let probabilities: Vec<f32> =
        p.probabilities.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let parts = decode_parts(&p, &probabilities);
    pb::StoredPrediction {
        verdict: pb::Verdict::from(p.verdict) as i32,
        number: p.number,
        parts,
        true_number: p.true_number,
        id: p.id,
        request_id: p.request_id,
        created_at_unix_ms: unix_ms(p.created_at),
        predicted_digit: u32::try_from(p.predicted_digit).unwrap_or_default(),
        confidence: p.confidence,
        probabilities,
        model_version: p.model_version,
        input: p.input,
        source: pb::Source::from(p.source) as i32,
        latency_us: u64::try_from(p.latency_us).unwrap_or_default(),
        true_label: p.true_label.and_then(|l| u32::try_from(l).ok()),
        feedback_at_unix_ms: p.feedback_at.map(unix_ms),
        owner: p.owner,
        revision: u32::try_from(p.revision).unwrap_or_default(),
    }
}

/// Stats as a message.
pub fn stats(s: &Stats) -> pb::Stats {
    pb::Stats {
        total: s.total,
        labeled: s.labelled,
        correct: s.correct,
        accuracy: s.accuracy(),
        precision: (0..CLASSES).map(|c| s.precision(c).unwrap_or(f64::NAN)).collect(),
        recall: (0..CLASSES).map(|c| s.recall(c).unwrap_or(f64::NAN)).collect(),
        confusion: s.confusion.iter().flatten().copied().collect(),
        numbers_labeled: s.numbers_labelled,
        numbers_right: s.numbers_right,
    }
}
