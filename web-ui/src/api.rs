//! The gateway's JSON API, called with the browser's `fetch`.

use digits_web_api::{ErrorBody, Feedback, MNIST_MEDIA_TYPE};
pub use digits_web_api::{ListQuery, ModelInfo, Page, PageModel, Prediction, Record, Stats, Verdict};
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

/// Sends a request, with `extra` headers; the answer as it came.
async fn fetch(
    method: &str,
    url: &str,
    body: Option<(&str, &JsValue)>,
    extra: &[(&str, &str)],
) -> Result<Response, ApiError> {
    let init = RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new()?;
    for (name, value) in extra {
        headers.set(name, value)?;
    }
    if let Some((content_type, body)) = body {
        headers.set("content-type", content_type)?;
        init.set_body(body);
    }
    init.set_headers(&headers);
    let request = Request::new_with_str_and_init(url, &init)?;
    let window = web_sys::window().ok_or_else(|| ApiError::said("no window"))?;
    Ok(JsFuture::from(window.fetch_with_request(&request)).await?.dyn_into()?)
}

/// Sends a request; the body of a success is returned as text.
async fn send(method: &str, url: &str, body: Option<(&str, &JsValue)>) -> Result<String, ApiError> {
    send_with(method, url, body, &[]).await
}

/// [`send`] with extra headers.
async fn send_with(
    method: &str,
    url: &str,
    body: Option<(&str, &JsValue)>,
    extra: &[(&str, &str)],
) -> Result<String, ApiError> {
    let response = fetch(method, url, body, extra).await?;
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
/// sent as they are, so the answer is for exactly the images shown), as a
/// draft that is not stored.
pub async fn draft(input: &[u8]) -> Result<Prediction, ApiError> {
    let body = js_sys::Uint8Array::from(input);
    call("POST", "/api/predictions?log=false", Some((MNIST_MEDIA_TYPE, body.as_ref()))).await
}

/// Stores a new drawing read from `input` as in [`draft`]. `key` names the
/// drawing: sent again after a lost answer, it finds the same record.
pub async fn store(input: &[u8], key: &str) -> Result<Prediction, ApiError> {
    let body = js_sys::Uint8Array::from(input);
    let text =
        send_with("POST", "/api/predictions", Some((MNIST_MEDIA_TYPE, body.as_ref())), &[("idempotency-key", key)])
            .await?;
    serde_json::from_str(&text).map_err(|e| ApiError::said(format!("Unexpected answer from the server: {e}")))
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

/// The model this visitor's drafts are read with in the page.
pub async fn page_model() -> Result<PageModel, ApiError> {
    call("GET", "/api/model/page", None).await
}

/// A file's bytes (the model's, from its immutable URL: the browser's cache
/// answers after the first time).
pub async fn bytes(url: &str) -> Result<Vec<u8>, ApiError> {
    let response = fetch("GET", url, None, &[]).await?;
    if !response.ok() {
        return Err(ApiError {
            status: Some(response.status()),
            ..ApiError::said(format!("{url}: {}", response.status()))
        });
    }
    let buffer = JsFuture::from(response.array_buffer()?).await?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Whether the server answers at all (after the connection was lost).
pub async fn reachable() -> bool {
    fetch("GET", "/healthz", None, &[]).await.is_ok_and(|r| r.ok())
}
