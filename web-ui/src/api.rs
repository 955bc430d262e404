//! The gateway's JSON API, called with the browser's `fetch`.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, Request, RequestInit, Response};

/// The answer to a drawing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Prediction {
    /// Set when the prediction was logged.
    pub id: Option<String>,
    /// The digit.
    pub digit: u8,
    /// Its probability.
    pub confidence: f32,
    /// All ten probabilities.
    pub probabilities: Vec<f32>,
    /// The 28x28 image the server fed the model.
    pub input: Vec<u8>,
    /// The model's version.
    pub model_version: String,
    /// Round trip inside the server.
    pub latency_ms: f64,
}

/// A logged prediction.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Record {
    /// Its id.
    pub id: String,
    /// Unix milliseconds.
    pub created_at_ms: f64,
    /// The predicted digit.
    pub digit: u8,
    /// Its probability.
    pub confidence: f32,
    /// The 28x28 input.
    pub input: Vec<u8>,
    /// The user's answer.
    pub true_label: Option<u8>,
    /// Whether the prediction was right.
    pub correct: Option<bool>,
    /// `web` or `grpc`.
    pub source: String,
}

/// A page of history.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Page {
    /// Newest first.
    pub predictions: Vec<Record>,
}

/// Accuracy figures.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Stats {
    /// Predictions logged.
    pub total: i64,
    /// With feedback.
    pub labeled: i64,
    /// Right.
    pub correct: i64,
    /// `correct / labeled`.
    pub accuracy: Option<f64>,
    /// Per digit.
    pub per_digit: Vec<DigitStats>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<i64>>,
}

/// One digit's figures.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DigitStats {
    /// The digit.
    pub digit: u8,
    /// Labelled drawings of it.
    pub drawn: i64,
    /// Share of its drawings recognised.
    pub recall: Option<f64>,
}

/// The serving model.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ModelInfo {
    /// Its version.
    pub version: String,
    /// MNIST test accuracy.
    pub test_accuracy: f64,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

/// A call failed; the message is fit to show.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError(pub String);

impl From<JsValue> for ApiError {
    fn from(_: JsValue) -> Self {
        Self("Cannot reach the server. Check your connection and try again.".into())
    }
}

async fn call<T: DeserializeOwned>(method: &str, url: &str, body: Option<(&str, &JsValue)>) -> Result<T, ApiError> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some((content_type, body)) = body {
        let headers = web_sys::Headers::new()?;
        headers.set("content-type", content_type)?;
        init.set_headers(&headers);
        init.set_body(body);
    }
    let request = Request::new_with_str_and_init(url, &init)?;
    let window = web_sys::window().ok_or_else(|| ApiError("no window".into()))?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request)).await?.dyn_into()?;
    let text = JsFuture::from(response.text()?).await?.as_string().unwrap_or_default();
    if response.ok() {
        serde_json::from_str(&text).map_err(|e| ApiError(format!("Unexpected answer from the server: {e}")))
    } else {
        let message = serde_json::from_str::<ErrorBody>(&text)
            .map(|b| b.error)
            .unwrap_or_else(|_| format!("The server answered {}", response.status()));
        Err(ApiError(message))
    }
}

/// The canvas as a PNG file.
pub async fn canvas_png(canvas: &web_sys::HtmlCanvasElement) -> Result<Blob, ApiError> {
    // A data URL is synchronous to make, and fetching it yields the PNG's bytes.
    let url = canvas.to_data_url()?;
    let window = web_sys::window().ok_or_else(|| ApiError("no window".into()))?;
    let response: Response = JsFuture::from(window.fetch_with_str(&url)).await?.dyn_into()?;
    Ok(JsFuture::from(response.blob()?).await?.dyn_into()?)
}

/// Recognises a PNG; `log` false for a draft that is not stored.
pub async fn predict(png: &Blob, log: bool) -> Result<Prediction, ApiError> {
    let url = if log { "/api/predictions" } else { "/api/predictions?log=false" };
    call("POST", url, Some(("image/png", png.as_ref()))).await
}

/// Records the true digit of a prediction.
pub async fn feedback(id: &str, true_label: u8) -> Result<Record, ApiError> {
    let body = JsValue::from_str(&format!("{{\"true_label\":{true_label}}}"));
    call("PUT", &format!("/api/predictions/{id}/feedback"), Some(("application/json", &body))).await
}

/// Recent predictions; `query` is the query string without `?`.
pub async fn history(query: &str) -> Result<Page, ApiError> {
    call("GET", &format!("/api/predictions?{query}"), None).await
}

/// Accuracy figures.
pub async fn stats() -> Result<Stats, ApiError> {
    call("GET", "/api/stats", None).await
}

/// The serving model.
pub async fn model() -> Result<ModelInfo, ApiError> {
    call("GET", "/api/model", None).await
}
