//! The JSON shapes of the API, built from the backends' messages. Field
//! names are part of the contract documented in `openapi.json`.

use digits_proto::logging::v1 as logging;
use serde::Serialize;

/// The answer to `POST /api/predictions`.
#[derive(Debug, Serialize)]
pub struct PredictionView {
    /// The id to give feedback on; `null` when the prediction was not logged.
    pub id: Option<String>,
    /// The predicted digit.
    pub digit: u32,
    /// Its probability.
    pub confidence: f32,
    /// The probabilities of digits 0-9.
    pub probabilities: Vec<f32>,
    /// The 28x28 image the model saw, 784 grey values, row by row.
    pub input: Vec<u8>,
    /// The model's version.
    pub model_version: String,
    /// Time spent in the gateway and the recognizer, in milliseconds.
    pub latency_ms: f64,
}

/// A stored prediction, with its feedback.
#[derive(Debug, Serialize)]
pub struct RecordView {
    /// The prediction's id (its request id).
    pub id: String,
    /// When it was made, Unix milliseconds.
    pub created_at_ms: i64,
    /// The predicted digit.
    pub digit: u32,
    /// Its probability.
    pub confidence: f32,
    /// The probabilities of digits 0-9.
    pub probabilities: Vec<f32>,
    /// The 28x28 input.
    pub input: Vec<u8>,
    /// The model's version.
    pub model_version: String,
    /// `web` or `grpc`.
    pub source: &'static str,
    /// Latency in milliseconds.
    pub latency_ms: f64,
    /// The user's true label, once given.
    pub true_label: Option<u32>,
    /// When feedback was given, Unix milliseconds.
    pub feedback_at_ms: Option<i64>,
    /// Whether the prediction was right; `null` before feedback.
    pub correct: Option<bool>,
}

impl From<logging::StoredPrediction> for RecordView {
    fn from(p: logging::StoredPrediction) -> Self {
        let source = match logging::Source::try_from(p.source) {
            Ok(logging::Source::Grpc) => "grpc",
            _ => "web",
        };
        Self {
            id: p.request_id,
            created_at_ms: p.created_at_unix_ms,
            digit: p.predicted_digit,
            confidence: p.confidence,
            probabilities: p.probabilities,
            input: p.input,
            model_version: p.model_version,
            source,
            latency_ms: p.latency_us as f64 / 1000.0,
            correct: p.true_label.map(|label| label == p.predicted_digit),
            true_label: p.true_label,
            feedback_at_ms: p.feedback_at_unix_ms,
        }
    }
}

/// One page of history.
#[derive(Debug, Serialize)]
pub struct PageView {
    /// Newest first.
    pub predictions: Vec<RecordView>,
    /// Pass as `before` for the next page; `null` on the last page.
    pub next_before: Option<i64>,
}

/// Accuracy figures.
#[derive(Debug, Serialize)]
pub struct StatsView {
    /// All logged predictions.
    pub total: i64,
    /// Predictions with feedback.
    pub labeled: i64,
    /// Labelled predictions that were right.
    pub correct: i64,
    /// `correct / labeled`; `null` before any feedback.
    pub accuracy: Option<f64>,
    /// Per digit 0-9.
    pub per_digit: Vec<DigitView>,
    /// `confusion[true][predicted]`: counts of labelled predictions.
    pub confusion: Vec<Vec<i64>>,
    /// The same totals per model version.
    pub by_model_version: Vec<VersionView>,
}

/// The figures of one digit.
#[derive(Debug, Serialize)]
pub struct DigitView {
    /// The digit.
    pub digit: u32,
    /// Labelled drawings of this digit.
    pub drawn: i64,
    /// Of the predictions of this digit, the share right; `null` when none.
    pub precision: Option<f64>,
    /// Of the drawings of this digit, the share recognised; `null` when none.
    pub recall: Option<f64>,
}

/// The totals of one model version.
#[derive(Debug, Serialize)]
pub struct VersionView {
    /// The version.
    pub model_version: String,
    /// All its predictions.
    pub total: i64,
    /// With feedback.
    pub labeled: i64,
    /// Right.
    pub correct: i64,
    /// `correct / labeled`.
    pub accuracy: Option<f64>,
}

fn finite(v: Option<&f64>) -> Option<f64> {
    v.copied().filter(|v| v.is_finite())
}

impl From<logging::GetStatsResponse> for StatsView {
    fn from(r: logging::GetStatsResponse) -> Self {
        let overall = r.overall.unwrap_or_default();
        let confusion: Vec<Vec<i64>> = (0..10)
            .map(|t| (0..10).map(|p| overall.confusion.get(t * 10 + p).copied().unwrap_or(0)).collect())
            .collect();
        let per_digit = (0..10u32)
            .map(|d| DigitView {
                digit: d,
                drawn: confusion[d as usize].iter().sum(),
                precision: finite(overall.precision.get(d as usize)),
                recall: finite(overall.recall.get(d as usize)),
            })
            .collect();
        let by_model_version = r
            .by_model_version
            .into_iter()
            .map(|v| {
                let s = v.stats.unwrap_or_default();
                VersionView {
                    model_version: v.model_version,
                    total: s.total,
                    labeled: s.labeled,
                    correct: s.correct,
                    accuracy: s.accuracy,
                }
            })
            .collect();
        Self {
            total: overall.total,
            labeled: overall.labeled,
            correct: overall.correct,
            accuracy: overall.accuracy,
            per_digit,
            confusion,
            by_model_version,
        }
    }
}
