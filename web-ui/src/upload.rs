//! A picture to start a drawing from: an image file chosen, dropped or
//! pasted. The browser decodes it here; only the 28x28 inputs computed from
//! it leave the page, exactly as for a drawing.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ImageBitmap};

use crate::drawing::Picture;

/// The largest file taken, in bytes.
pub const MAX_BYTES: f64 = 20.0 * 1024.0 * 1024.0;

/// Decodes an image file.
///
/// # Errors
/// A message fit to show: not an image, too large, or undecodable.
pub async fn picture(blob: Blob) -> Result<Picture, String> {
    if !blob.type_().starts_with("image/") {
        return Err("That file is not an image. Choose a PNG, JPEG or other picture.".into());
    }
    if blob.size() > MAX_BYTES {
        return Err("That image is over 20 MB. Choose a smaller one.".into());
    }
    let cannot = || "This browser cannot open that image.".to_owned();
    let window = web_sys::window().ok_or_else(cannot)?;
    let promise = window.create_image_bitmap_with_blob(&blob).map_err(|_| cannot())?;
    let bitmap: ImageBitmap = JsFuture::from(promise).await.map_err(|_| cannot())?.dyn_into().map_err(|_| cannot())?;
    Ok(Picture(bitmap))
}
