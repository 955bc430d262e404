//! The API's JSON answers (the shared `digits-web-api` types), built from the
//! backends' protobuf messages.

use digits_proto::inference::v1 as inference;
use digits_proto::logging::v1 as logging;
use digits_web_api::{DigitStats, ModelInfo, Record, Source, Stats, VersionStats};

/// A digit from a protobuf `uint32` (the services only ever send 0-9).
fn digit(value: u32) -> u8 {
    u8::try_from(value).unwrap_or(u8::MAX)
}

/// A stored prediction as the API shows it.
pub fn record(p: logging::StoredPrediction) -> Record {
    let source = match logging::Source::try_from(p.source) {
        Ok(logging::Source::Grpc) => Source::Grpc,
        _ => Source::Web,
    };
    Record {
        id: p.request_id,
        created_at_ms: p.created_at_unix_ms,
        digit: digit(p.predicted_digit),
        confidence: p.confidence,
        probabilities: p.probabilities,
        input: p.input,
        model_version: p.model_version,
        source,
        latency_ms: p.latency_us as f64 / 1000.0,
        correct: p.true_label.map(|label| label == p.predicted_digit),
        true_label: p.true_label.map(digit),
        feedback_at_ms: p.feedback_at_unix_ms,
    }
}

fn finite(v: Option<&f64>) -> Option<f64> {
    v.copied().filter(|v| v.is_finite())
}

/// The accuracy figures as the API shows them.
pub fn stats(r: logging::GetStatsResponse) -> Stats {
    let overall = r.overall.unwrap_or_default();
    let confusion: Vec<Vec<i64>> =
        (0..10).map(|t| (0..10).map(|p| overall.confusion.get(t * 10 + p).copied().unwrap_or(0)).collect()).collect();
    let per_digit = (0..10u8)
        .map(|d| DigitStats {
            digit: d,
            drawn: confusion[usize::from(d)].iter().sum(),
            precision: finite(overall.precision.get(usize::from(d))),
            recall: finite(overall.recall.get(usize::from(d))),
        })
        .collect();
    let by_model_version = r
        .by_model_version
        .into_iter()
        .map(|v| {
            let s = v.stats.unwrap_or_default();
            VersionStats {
                model_version: v.model_version,
                total: s.total,
                labeled: s.labeled,
                correct: s.correct,
                accuracy: s.accuracy,
            }
        })
        .collect();
    Stats {
        total: overall.total,
        labeled: overall.labeled,
        correct: overall.correct,
        accuracy: overall.accuracy,
        per_digit,
        confusion,
        by_model_version,
    }
}

/// The model card as the API shows it.
pub fn model(info: inference::ModelInfo) -> ModelInfo {
    ModelInfo {
        name: info.name,
        version: info.version,
        test_accuracy: info.test_accuracy,
        per_digit_accuracy: info.per_digit_accuracy,
        parameters: info.parameters,
        multiply_adds: info.multiply_adds,
        created: info.created,
    }
}
