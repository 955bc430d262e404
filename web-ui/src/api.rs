//! The gateway's JSON API, called with the browser's `fetch`.

use digits_web_api::{ErrorBody, Feedback, MNIST_MEDIA_TYPE};
pub use digits_web_api::{ListQuery, ModelInfo, Page, Prediction, Record, Stats, Verdict};
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// A call failed; the message is fit to show.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// What went wrong, in words.
    pub message: String,
    /// The server could not be reached at all.
    pub offline: bool,
    /// The HTTP status the server answered, when it did.
    pub status: Option<u16>,
}

impl ApiError {
    fn said(message: impl Into<String>) -> Self {
        Self { message: message.into(), offline: false, status: None }
    }
}

impl From<JsValue> for ApiError {
    fn from(_: JsValue) -> Self {
        Self { message: "Cannot reach the server. Check your connection.".into(), offline: true, status: None }
    }
}

/// Sends a request; the body of a success is returned as text.
async fn send(method: &str, url: &str, body: Option<(&str, &JsValue)>) -> Result<String, ApiError> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some((content_type, body)) = body {
        let headers = web_sys::Headers::new()?;
        headers.set("content-type", content_type)?;
        init.set_headers(&headers);
        init.set_body(body);
    }
    let request = Request::new_with_str_and_init(url, &init)?;
    let window = web_sys::window().ok_or_else(|| ApiError::said("no window"))?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request)).await?.dyn_into()?;
    let text = JsFuture::from(response.text()?).await?.as_string().unwrap_or_default();
    if response.ok() {
        Ok(text)
    } else {
        let message = serde_json::from_str::<ErrorBody>(&text)
            .map(|b| b.error)
            .unwrap_or_else(|_| format!("The server answered {}", response.status()));
        Err(ApiError { status: Some(response.status()), ..ApiError::said(message) })
    }
}

async fn call<T: DeserializeOwned>(method: &str, url: &str, body: Option<(&str, &JsValue)>) -> Result<T, ApiError> {
    let text = send(method, url, body).await?;
    serde_json::from_str(&text).map_err(|e| ApiError::said(format!("Unexpected answer from the server: {e}")))
}

/// Reads the drawing's 28x28 inputs, one per digit (the local previews,
/// sent as they are, so the answer is for exactly the images shown); `log`
/// false for a draft that is not stored.
pub async fn predict(input: &[u8], log: bool) -> Result<Prediction, ApiError> {
    let url = if log { "/api/predictions" } else { "/api/predictions?log=false" };
    let body = js_sys::Uint8Array::from(input);
    call("POST", url, Some((MNIST_MEDIA_TYPE, body.as_ref()))).await
}

/// Stores a changed drawing in place of its record `id`: revision
/// `revision` of it, read from `input` as in [`predict`].
pub async fn revise(id: &str, revision: u32, input: &[u8]) -> Result<Prediction, ApiError> {
    let body = js_sys::Uint8Array::from(input);
    let url = format!("/api/predictions/{id}?revision={revision}");
    call("PUT", &url, Some((MNIST_MEDIA_TYPE, body.as_ref()))).await
}

/// Deletes one of the visitor's predictions.
pub async fn delete(id: &str) -> Result<(), ApiError> {
    send("DELETE", &format!("/api/predictions/{id}"), None).await.map(drop)
}

/// Records what was drawn: a digit, not a digit, or a number.
pub async fn feedback(id: &str, answer: &Feedback) -> Result<Record, ApiError> {
    let body = serde_json::to_string(answer).map_err(|e| ApiError::said(e.to_string()))?;
    let body = JsValue::from_str(&body);
    call("PUT", &format!("/api/predictions/{id}/feedback"), Some(("application/json", &body))).await
}

/// The page of the visitor's predictions that `query` asks for.
pub async fn history(query: &ListQuery) -> Result<Page, ApiError> {
    call("GET", &format!("/api/predictions?{}", query.to_query_string()), None).await
}

/// Accuracy figures.
pub async fn stats() -> Result<Stats, ApiError> {
    call("GET", "/api/stats", None).await
}

/// The serving model.
pub async fn model() -> Result<ModelInfo, ApiError> {
    call("GET", "/api/model", None).await
}
