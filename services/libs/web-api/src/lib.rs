//! The JSON shapes of the Digits HTTP API. The gateway serialises them and
//! the web app deserialises them, so the two cannot drift apart. With the
//! `openapi` feature (the gateway's) they also describe themselves, limits
//! included, for the OpenAPI document served at `/api/openapi.json`.
//! No dependencies beyond serde (and its URL-query format): the crate builds
//! for wasm too.

use serde::{Deserialize, Serialize};

/// An error answer: `{"error": "...", "code": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Error))]
pub struct ErrorBody {
    /// What went wrong, for people.
    pub error: String,
    /// A stable, machine-readable name (`empty_drawing`, `not_found`, ...).
    pub code: String,
}

/// The media type of a `POST /api/predictions` body that is already the
/// model's input: 784 bytes, the 28x28 MNIST-form image row by row, ink high
/// (255) on 0. The web app sends its preview this way, so the answer is for
/// exactly the image it shows, and the server skips decoding and
/// preprocessing.
pub const MNIST_MEDIA_TYPE: &str = "application/vnd.digits.mnist";

/// The length of an [`MNIST_MEDIA_TYPE`] body.
pub const MNIST_BYTES: usize = 28 * 28;

/// A JSON image body of `POST /api/predictions`: grey values, row by row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PixelImage {
    /// Width in pixels.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4096))]
    pub width: u32,
    /// Height in pixels.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4096))]
    pub height: u32,
    /// `width * height` values 0-255.
    #[cfg_attr(feature = "openapi", schema(max_items = 4_194_304))]
    pub pixels: Vec<u8>,
}

/// The answer to `POST /api/predictions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Prediction {
    /// The id to give feedback on; `None` when the prediction was not logged.
    pub id: Option<String>,
    /// The predicted digit.
    #[cfg_attr(feature = "openapi", schema(maximum = 9))]
    pub digit: u8,
    /// Its probability.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub confidence: f32,
    /// The probabilities of digits 0-9.
    #[cfg_attr(feature = "openapi", schema(min_items = 10, max_items = 10))]
    pub probabilities: Vec<f32>,
    /// The 28x28 image the model saw, 784 grey values (ink high), row by row.
    #[cfg_attr(feature = "openapi", schema(min_items = 784, max_items = 784))]
    pub input: Vec<u8>,
    /// The model's version.
    pub model_version: String,
    /// Time spent in the gateway and the recognizer, in milliseconds.
    pub latency_ms: f64,
}

/// The body of `PUT /api/predictions/{id}/feedback`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Feedback {
    /// The digit that was drawn, 0-9.
    #[cfg_attr(feature = "openapi", schema(maximum = 9))]
    pub true_label: u8,
}

/// The query of `GET /api/predictions`: which page of whose predictions.
/// The web app writes it with [`ListQuery::to_query_string`], the gateway
/// reads it; unset fields are left out of the URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct ListQuery {
    /// Page size, 1-500 (the gateway's default is 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    pub limit: Option<u32>,
    /// The previous page's `next_before`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
    /// Only predictions the feedback marked wrong.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wrong_only: bool,
    /// Only predictions of this digit.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(maximum = 9))]
    pub digit: Option<u32>,
    /// Only predictions whose true label is this digit.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(maximum = 9))]
    pub true_label: Option<u32>,
    /// Only predictions with (`true`) or without (`false`) feedback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_feedback: Option<bool>,
}

impl ListQuery {
    /// The query string, without the `?`.
    pub fn to_query_string(&self) -> String {
        // Numbers and booleans only: serialising them cannot fail.
        serde_urlencoded::to_string(self).unwrap_or_default()
    }
}

/// A stored prediction, with its feedback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Record {
    /// The prediction's id.
    pub id: String,
    /// When it was made, Unix milliseconds.
    pub created_at_ms: i64,
    /// The predicted digit.
    #[cfg_attr(feature = "openapi", schema(maximum = 9))]
    pub digit: u8,
    /// Its probability.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub confidence: f32,
    /// The probabilities of digits 0-9.
    #[cfg_attr(feature = "openapi", schema(min_items = 10, max_items = 10))]
    pub probabilities: Vec<f32>,
    /// The 28x28 input.
    #[cfg_attr(feature = "openapi", schema(min_items = 784, max_items = 784))]
    pub input: Vec<u8>,
    /// The model's version.
    pub model_version: String,
    /// Where it came from.
    pub source: Source,
    /// Latency in milliseconds.
    pub latency_ms: f64,
    /// The user's true label, once given.
    #[cfg_attr(feature = "openapi", schema(maximum = 9))]
    pub true_label: Option<u8>,
    /// When feedback was given, Unix milliseconds.
    pub feedback_at_ms: Option<i64>,
    /// Whether the prediction was right; `None` before feedback.
    pub correct: Option<bool>,
}

/// Where a prediction was requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Source {
    /// The web app or the JSON API.
    Web,
    /// The inference gRPC API.
    Grpc,
}

/// One page of `GET /api/predictions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page {
    /// Newest first.
    pub predictions: Vec<Record>,
    /// Pass as `before` for the next page; `None` on the last page.
    pub next_before: Option<i64>,
}

/// One line of `GET /api/admin/export`: a prediction with the user's label,
/// for retraining.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Example {
    /// The prediction's row id (export order, for resuming with `after`).
    pub id: i64,
    /// The digit the user said was drawn.
    #[cfg_attr(feature = "openapi", schema(maximum = 9))]
    pub true_label: u8,
    /// What the model predicted.
    #[cfg_attr(feature = "openapi", schema(maximum = 9))]
    pub predicted_digit: u8,
    /// The model's version.
    pub model_version: String,
    /// The 28x28 input, 784 grey values (ink high), row by row.
    #[cfg_attr(feature = "openapi", schema(min_items = 784, max_items = 784))]
    pub input: Vec<u8>,
}

/// The answer to `GET /api/stats` (the caller's own predictions) and
/// `GET /api/stats/global` (everyone's, counts only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stats {
    /// All logged predictions.
    pub total: i64,
    /// Predictions with feedback.
    pub labeled: i64,
    /// Labelled predictions that were right.
    pub correct: i64,
    /// `correct / labeled`; `None` before any feedback.
    pub accuracy: Option<f64>,
    /// Per digit 0-9.
    #[cfg_attr(feature = "openapi", schema(min_items = 10, max_items = 10))]
    pub per_digit: Vec<DigitStats>,
    /// `confusion[true][predicted]`: counts of labelled predictions.
    #[cfg_attr(feature = "openapi", schema(min_items = 10, max_items = 10))]
    pub confusion: Vec<Vec<i64>>,
    /// The totals per model version.
    pub by_model_version: Vec<VersionStats>,
}

/// The figures of one digit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DigitStats {
    /// The digit.
    #[cfg_attr(feature = "openapi", schema(maximum = 9))]
    pub digit: u8,
    /// Labelled drawings of this digit.
    pub drawn: i64,
    /// Of the predictions of this digit, the share right; `None` when none.
    pub precision: Option<f64>,
    /// Of the drawings of this digit, the share recognised; `None` when none.
    pub recall: Option<f64>,
}

/// The totals of one model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionStats {
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

/// The answer to `GET /api/model`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelInfo {
    /// The model's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Accuracy on the 10,000 MNIST test images.
    pub test_accuracy: f64,
    /// The same per digit 0-9.
    #[cfg_attr(feature = "openapi", schema(min_items = 10, max_items = 10))]
    pub per_digit_accuracy: Vec<f64>,
    /// Trainable parameters.
    pub parameters: u64,
    /// Multiply-adds per image.
    pub multiply_adds: u64,
    /// When it was made.
    pub created: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_lowercase_words_on_the_wire() {
        assert_eq!(serde_json::to_string(&Source::Grpc).ok().as_deref(), Some("\"grpc\""));
        assert_eq!(serde_json::from_str::<Source>("\"web\"").ok(), Some(Source::Web));
    }

    #[test]
    fn a_list_query_round_trips_through_its_query_string_and_leaves_out_what_is_unset() {
        assert_eq!(ListQuery::default().to_query_string(), "");
        let cell = ListQuery { digit: Some(1), true_label: Some(7), limit: Some(24), ..ListQuery::default() };
        assert_eq!(cell.to_query_string(), "limit=24&digit=1&true_label=7");
        let all = ListQuery {
            limit: Some(5),
            before: Some(42),
            wrong_only: true,
            digit: Some(3),
            true_label: Some(8),
            has_feedback: Some(false),
        };
        assert_eq!(serde_urlencoded::from_str::<ListQuery>(&all.to_query_string()).ok(), Some(all));
    }

    #[test]
    fn a_pixel_image_with_an_unknown_field_is_refused() {
        let json = r#"{"width":1,"height":1,"pixels":[0],"colour":"red"}"#;
        assert!(serde_json::from_str::<PixelImage>(json).is_err());
    }
}
