//! The body of `POST /api/predictions`: an encoded PNG or JPEG file, JSON
//! `{"width": W, "height": H, "pixels": [...]}` with one 0-255 grey value per
//! pixel, row by row, or ready 28x28 inputs, 784 bytes each
//! ([`MNIST_MEDIA_TYPE`]).

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use digits_proto::inference::v1 as pb;
use digits_web_api::{MNIST_BYTES, MNIST_MEDIA_TYPE, PixelImage};

use crate::error::ApiError;

/// The image in a request body, ready for the inference service.
///
/// # Errors
/// 415 for another content type, 400 for malformed JSON, 422 for JSON of the
/// wrong shape or an empty body.
pub fn parse(headers: &HeaderMap, body: Vec<u8>) -> Result<pb::Image, ApiError> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match media_type.as_str() {
        "image/png" | "image/jpeg" => {
            if body.is_empty() {
                return Err(ApiError::unprocessable("invalid_image", "the request body is empty"));
            }
            Ok(pb::Image { source: Some(pb::image::Source::Encoded(body)) })
        }
        "application/json" => from_json(&body),
        MNIST_MEDIA_TYPE => {
            // How many images may come at once is the inference service's to check.
            if body.is_empty() || !body.len().is_multiple_of(MNIST_BYTES) {
                return Err(ApiError::unprocessable(
                    "invalid_image",
                    format!(
                        "an {MNIST_MEDIA_TYPE} body is {MNIST_BYTES} bytes per 28x28 image (row by row), not {}",
                        body.len()
                    ),
                ));
            }
            Ok(pb::Image { source: Some(pb::image::Source::Mnist(body)) })
        }
        _ => Err(ApiError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "content type {content_type:?} is not supported: send image/png, image/jpeg, \
                 application/json {{\"width\",\"height\",\"pixels\"}} or {MNIST_MEDIA_TYPE} (784 bytes per image)"
            ),
        )),
    }
}

fn from_json(body: &[u8]) -> Result<pb::Image, ApiError> {
    let PixelImage { width, height, pixels } = serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            ApiError::unprocessable("invalid_pixels", format!("the JSON image is invalid: {e}"))
        } else {
            ApiError::bad_request("invalid_json", format!("the body is not valid JSON: {e}"))
        }
    })?;
    // The size, the limits and the pixel count are the inference service's
    // to check: it owns the limits, and its errors map to 413 and 422.
    let raw = pb::RawImage { width, height, format: pb::PixelFormat::Gray8 as i32, pixels };
    Ok(pb::Image { source: Some(pb::image::Source::Raw(raw)) })
}
