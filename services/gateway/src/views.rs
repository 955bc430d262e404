//! The API's JSON answers (the shared `digits-web-api` types), built from the
//! backends' protobuf messages.

use digits_proto::inference::v1 as inference;
use digits_proto::logging::v1 as logging;
use digits_web_api::{
    Bounds, DigitStats, ModelInfo, Part, Prediction, Record, ServedVersion, Source, Stats, Verdict, VersionRole,
    VersionStats,
};

/// A digit from a protobuf `uint32` (the services only ever send 0-9).
fn digit(value: u32) -> u8 {
    u8::try_from(value).unwrap_or(u8::MAX)
}

/// The answer to a recognition, as the API shows it.
pub fn prediction(p: inference::Prediction, id: Option<String>, model_version: String, latency_ms: f64) -> Prediction {
    let verdict = match inference::Verdict::try_from(p.verdict) {
        Ok(inference::Verdict::NotADigit) => Verdict::NotADigit,
        Ok(inference::Verdict::SeveralDigits) => Verdict::SeveralDigits,
        _ => Verdict::Digit,
    };
    let parts = p
        .parts
        .into_iter()
        .map(|part| {
            let b = part.r#box.unwrap_or_default();
            Part {
                bounds: Bounds { x: b.x, y: b.y, width: b.width, height: b.height },
                digit: digit(part.digit),
                confidence: part.confidence,
                probabilities: part.probabilities,
                input: part.input,
                not_a_digit: part.not_a_digit,
            }
        })
        .collect();
    Prediction {
        id,
        verdict,
        number: p.number,
        parts,
        digit: digit(p.digit),
        confidence: p.confidence,
        probabilities: p.probabilities,
        input: p.input,
        not_a_digit: p.not_a_digit,
        model_version,
        latency_ms,
    }
}

/// `true_label` of a drawing that is not a digit.
const NOT_A_DIGIT: u32 = 10;
/// `true_label` of a number read right.
const NUMBER_RIGHT: u32 = 11;

/// A stored prediction as the API shows it.
pub fn record(p: logging::StoredPrediction) -> Record {
    let source = match logging::Source::try_from(p.source) {
        Ok(logging::Source::Grpc) => Source::Grpc,
        _ => Source::Web,
    };
    let verdict = match logging::Verdict::try_from(p.verdict) {
        Ok(logging::Verdict::NotADigit) => Verdict::NotADigit,
        Ok(logging::Verdict::SeveralDigits) => Verdict::SeveralDigits,
        _ => Verdict::Digit,
    };
    // The class read, to compare with the label: the digit, 10 or 11.
    let read = match verdict {
        Verdict::Digit => p.predicted_digit,
        Verdict::NotADigit => NOT_A_DIGIT,
        Verdict::SeveralDigits => NUMBER_RIGHT,
    };
    let true_number = match p.true_label {
        Some(NUMBER_RIGHT) => Some(p.number.clone()),
        _ => p.true_number,
    };
    Record {
        id: p.request_id,
        created_at_ms: p.created_at_unix_ms,
        verdict,
        number: p.number,
        digit: digit(p.predicted_digit),
        confidence: p.confidence,
        probabilities: p.probabilities,
        input: p.input,
        parts: p
            .parts
            .into_iter()
            .map(|part| Part {
                bounds: Bounds { x: part.x, y: part.y, width: part.width, height: part.height },
                digit: digit(part.digit),
                confidence: part.confidence,
                probabilities: part.probabilities,
                input: part.input,
                not_a_digit: part.not_a_digit,
            })
            .collect(),
        model_version: p.model_version,
        source,
        latency_ms: p.latency_us as f64 / 1000.0,
        correct: p.true_label.map(|label| label == read),
        true_label: p.true_label.filter(|&l| l <= NOT_A_DIGIT).map(digit),
        true_number,
        feedback_at_ms: p.feedback_at_unix_ms,
    }
}

fn finite(v: Option<&f64>) -> Option<f64> {
    v.copied().filter(|v| v.is_finite())
}

/// The accuracy figures as the API shows them.
pub fn stats(r: logging::GetStatsResponse) -> Stats {
    const CLASSES: usize = 11;
    let overall = r.overall.unwrap_or_default();
    let confusion: Vec<Vec<i64>> = (0..CLASSES)
        .map(|t| (0..CLASSES).map(|p| overall.confusion.get(t * CLASSES + p).copied().unwrap_or(0)).collect())
        .collect();
    let class = |c: u8| DigitStats {
        digit: c,
        drawn: confusion[usize::from(c)].iter().sum(),
        precision: finite(overall.precision.get(usize::from(c))),
        recall: finite(overall.recall.get(usize::from(c))),
    };
    let per_digit = (0..10u8).map(class).collect();
    let not_a_digit = class(10);
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
        not_a_digit,
        confusion,
        numbers_labeled: overall.numbers_labeled,
        numbers_right: overall.numbers_right,
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
        versions: info
            .versions
            .into_iter()
            .map(|v| ServedVersion {
                role: match v.role() {
                    inference::VersionRole::Canary => VersionRole::Canary,
                    inference::VersionRole::Current => VersionRole::Current,
                    inference::VersionRole::Available | inference::VersionRole::Unspecified => VersionRole::Available,
                },
                version: v.version,
                traffic_percent: v.traffic_percent,
                test_accuracy: v.test_accuracy,
                origin: v.origin,
            })
            .collect(),
    }
}
