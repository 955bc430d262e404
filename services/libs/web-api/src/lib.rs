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
/// model's input: 784 bytes, a 28x28 MNIST-form image row by row, ink high
/// (255) on 0, or up to 8 such images one after the other, the digits of a
/// number left to right. The web app splits and normalises the drawing
/// itself and sends its previews this way, so the answer is for exactly the
/// images it shows, and the server skips decoding and preprocessing.
pub const MNIST_MEDIA_TYPE: &str = "application/vnd.digits.mnist";

/// The length of one image of an [`MNIST_MEDIA_TYPE`] body.
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

/// What a drawing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Verdict {
    /// One digit.
    Digit,
    /// Not a digit (a letter, a doodle, a scribble), or a number with such a part.
    NotADigit,
    /// A number of two or more digits.
    SeveralDigits,
}

/// A rectangle of pixels in the submitted image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bounds {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// One digit-sized piece of a drawing, as the model read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Part {
    /// Its bounding box in the submitted image (for a
    /// `application/vnd.digits.mnist` body, image i is at x = 28 i).
    #[serde(rename = "box")]
    pub bounds: Bounds,
    /// Its most probable digit.
    #[cfg_attr(feature = "openapi", schema(maximum = 9))]
    pub digit: u8,
    /// The probability of `digit`.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub confidence: f32,
    /// The probabilities of digits 0-9; with `not_a_digit` they sum to 1.
    #[cfg_attr(feature = "openapi", schema(min_items = 10, max_items = 10))]
    pub probabilities: Vec<f32>,
    /// Its 28x28 image as the model saw it, 784 grey values (ink high), row by row.
    #[cfg_attr(feature = "openapi", schema(min_items = 784, max_items = 784))]
    pub input: Vec<u8>,
    /// Its probability of not being a digit at all.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub not_a_digit: f32,
}

/// The answer to `POST /api/predictions`.
///
/// `digit`, `confidence`, `probabilities`, `input` and `not_a_digit` are
/// those of the part that decides the verdict: the only part of a `digit`;
/// the least confident part of `several_digits`; the part most likely not a
/// digit of `not_a_digit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Prediction {
    /// The id to give feedback on; `None` when the prediction was not logged.
    pub id: Option<String>,
    /// What the drawing is.
    pub verdict: Verdict,
    /// The digits read left to right (`"7"`, `"42"`); empty for `not_a_digit`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{0,8}$"))]
    pub number: String,
    /// Every part found, left to right.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 8))]
    pub parts: Vec<Part>,
    /// The deciding part's digit.
    #[cfg_attr(feature = "openapi", schema(maximum = 9))]
    pub digit: u8,
    /// Its probability.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub confidence: f32,
    /// The deciding part's probabilities of digits 0-9; with `not_a_digit` they sum to 1.
    #[cfg_attr(feature = "openapi", schema(min_items = 10, max_items = 10))]
    pub probabilities: Vec<f32>,
    /// The deciding part's 28x28 image, 784 grey values (ink high), row by row.
    #[cfg_attr(feature = "openapi", schema(min_items = 784, max_items = 784))]
    pub input: Vec<u8>,
    /// The deciding part's probability of not being a digit.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub not_a_digit: f32,
    /// The model's version.
    pub model_version: String,
    /// Time spent in the gateway and the recognizer, in milliseconds.
    pub latency_ms: f64,
}

/// The body of `PUT /api/predictions/{id}/feedback`: what was drawn, as
/// exactly one of `{"true_label": 7}`, `{"not_a_digit": true}` or
/// `{"true_number": "42"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Feedback {
    /// The digit that was drawn, 0-9.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(maximum = 9))]
    pub true_label: Option<u8>,
    /// Nothing drawn was a digit.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_a_digit: bool,
    /// The number that was drawn, 2-8 digits left to right: to confirm or
    /// correct a number (e.g. one digit of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{2,8}$"))]
    pub true_number: Option<String>,
}

impl Feedback {
    /// The digit `d`.
    pub fn digit(d: u8) -> Self {
        Self { true_label: Some(d), ..Self::default() }
    }

    /// Not a digit.
    pub fn not_a_digit() -> Self {
        Self { not_a_digit: true, ..Self::default() }
    }

    /// The number `n`.
    pub fn number(n: impl Into<String>) -> Self {
        Self { true_number: Some(n.into()), ..Self::default() }
    }
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
    /// Only predictions read as this digit, or as not a digit (10).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(maximum = 10))]
    pub digit: Option<u32>,
    /// Only predictions whose true label is this digit, or not a digit (10).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(maximum = 10))]
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
    /// What the drawing was read as.
    pub verdict: Verdict,
    /// The digits read, left to right; empty for `not_a_digit`.
    pub number: String,
    /// The deciding part's digit (see [`Prediction`]).
    #[cfg_attr(feature = "openapi", schema(maximum = 9))]
    pub digit: u8,
    /// Its probability.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub confidence: f32,
    /// The deciding part's probabilities of digits 0-9.
    #[cfg_attr(feature = "openapi", schema(min_items = 10, max_items = 10))]
    pub probabilities: Vec<f32>,
    /// The deciding part's 28x28 input.
    #[cfg_attr(feature = "openapi", schema(min_items = 784, max_items = 784))]
    pub input: Vec<u8>,
    /// Every part, left to right (so a number's drawing shows all its
    /// digits); empty for predictions stored before parts were kept.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 8))]
    pub parts: Vec<Part>,
    /// The model's version.
    pub model_version: String,
    /// Where it came from.
    pub source: Source,
    /// Latency in milliseconds.
    pub latency_ms: f64,
    /// What the user said was drawn, when it was one digit (0-9) or not a
    /// digit (10).
    #[cfg_attr(feature = "openapi", schema(maximum = 10))]
    pub true_label: Option<u8>,
    /// What the user said was drawn, when it was a number.
    pub true_number: Option<String>,
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

/// One line of `GET /api/admin/export`: a drawing of one digit, or of no
/// digit at all, with the user's label, for retraining.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Example {
    /// The prediction's row id (export order, for resuming with `after`).
    pub id: i64,
    /// The digit the user said was drawn, or 10 for not a digit.
    #[cfg_attr(feature = "openapi", schema(maximum = 10))]
    pub true_label: u8,
    /// What the model predicted.
    #[cfg_attr(feature = "openapi", schema(maximum = 9))]
    pub predicted_digit: u8,
    /// The model's version.
    pub model_version: String,
    /// The 28x28 input, 784 grey values (ink high), row by row.
    #[cfg_attr(feature = "openapi", schema(min_items = 784, max_items = 784))]
    pub input: Vec<u8>,
    /// Who labelled it, as an opaque pseudonym (`v:…` a browser, `t:…` a
    /// token, `key:NAME` an API key; empty for an anonymous gRPC caller).
    #[serde(default)]
    pub owner: String,
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
    /// The same for "not a digit" (`digit` 10): `precision` is how often a
    /// rejection was right, `recall` how often a non-digit was rejected.
    pub not_a_digit: DigitStats,
    /// `confusion[true][predicted]` over the digits 0-9 and not a digit
    /// (index 10): counts of labelled drawings read as one digit or as not a
    /// digit, and labelled so.
    #[cfg_attr(feature = "openapi", schema(min_items = 11, max_items = 11))]
    pub confusion: Vec<Vec<i64>>,
    /// Drawings read as a number that have feedback.
    pub numbers_labeled: i64,
    /// Of them, read right.
    pub numbers_right: i64,
    /// The totals per model version.
    pub by_model_version: Vec<VersionStats>,
}

/// The figures of one digit (or, as 10, of "not a digit").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DigitStats {
    /// The digit, or 10 for not a digit.
    #[cfg_attr(feature = "openapi", schema(maximum = 10))]
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
    /// Every version the recognizer can answer with, newest first: the
    /// current one, the canary if there is one, and the others.
    #[serde(default)]
    pub versions: Vec<ServedVersion>,
}

/// The model a page runs for its caller: the version the server would
/// answer this caller with (the current one, or the canary for its share of
/// callers), where to fetch its file, and how to read its outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PageModel {
    /// The version.
    pub version: String,
    /// SHA-256 of the ONNX file, hex: check it before running the file.
    pub sha256: String,
    /// Where the file is: a URL that never changes what it holds (cache it for good).
    pub url: String,
    /// The outputs: "0" to "9", then "not_a_digit" when the model can say so.
    pub classes: Vec<String>,
    /// A part is not a digit when its probability of "not_a_digit" is at least this; 0 without that class.
    pub rejection_threshold: f32,
    /// Each input value is pixel * scale + offset (pixel: a byte of the 28x28 image, ink high).
    pub scale: f32,
    /// See `scale`.
    pub offset: f32,
}

/// One version of the model being served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServedVersion {
    /// The version.
    pub version: String,
    /// What it does.
    pub role: VersionRole,
    /// The share of drawings it answers, in percent.
    #[cfg_attr(feature = "openapi", schema(maximum = 100))]
    pub traffic_percent: u32,
    /// Accuracy on the MNIST test set, from its card.
    pub test_accuracy: f64,
    /// `embedded` (built into the recognizer) or `repository`.
    pub origin: String,
}

/// The role of a served version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum VersionRole {
    /// Answers every drawing but the canary's share.
    Current,
    /// A candidate answering a share of the visitors, each always by it.
    Canary,
    /// Answers only calls that name it.
    Available,
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
