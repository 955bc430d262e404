//! Turns a request's image (encoded file, raw pixels or ready MNIST bytes)
//! into its digits in MNIST form, enforcing the size limits before any
//! large allocation. Encoded files are turned upright by their EXIF
//! orientation, as a photo viewer shows them.

use std::io::Cursor;

use digits_preprocess::{ImageView, Limits, MAX_PARTS, MnistImage, PIXELS, Part, PixelFormat, Rect, SIZE};
use digits_proto::inference::v1 as pb;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use crate::error::InferError;

/// The digits of `image`, left to right, each in MNIST form.
///
/// # Errors
/// [`InferError::Invalid`] or [`InferError::Preprocess`] with a message that
/// says what is wrong with the input.
pub fn to_parts(image: &pb::Image, limits: &Limits) -> Result<Vec<Part>, InferError> {
    use pb::image::Source;
    match &image.source {
        None => Err(InferError::Invalid("the image is missing: set one of encoded, raw or mnist".into())),
        Some(Source::Mnist(bytes)) => tiles(bytes),
        Some(Source::Raw(raw)) => {
            let format = match pb::PixelFormat::try_from(raw.format) {
                Ok(pb::PixelFormat::Gray8) => PixelFormat::Gray8,
                Ok(pb::PixelFormat::Rgba8) => PixelFormat::Rgba8,
                _ => {
                    return Err(InferError::Invalid(format!(
                        "raw.format {} is not supported: use PIXEL_FORMAT_GRAY8 or PIXEL_FORMAT_RGBA8",
                        raw.format
                    )));
                }
            };
            // Size first, so the error says "too large" rather than "wrong length".
            limits.check(raw.width, raw.height)?;
            let view = ImageView::new(raw.width, raw.height, format, &raw.pixels)?;
            Ok(digits_preprocess::to_parts(&view, limits)?)
        }
        Some(Source::Encoded(bytes)) => decode_file(bytes, limits),
    }
}

/// Ready MNIST-form images, one part each, side by side.
fn tiles(bytes: &[u8]) -> Result<Vec<Part>, InferError> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(PIXELS) || bytes.len() / PIXELS > MAX_PARTS {
        return Err(InferError::Invalid(format!(
            "mnist holds {} bytes: send one 28x28 image (784 bytes) or up to {MAX_PARTS} of them ({} bytes)",
            bytes.len(),
            MAX_PARTS * PIXELS
        )));
    }
    let side = SIZE as u32;
    bytes
        .chunks_exact(PIXELS)
        .zip(0..)
        .map(|(pixels, i)| {
            let bounds = Rect { x: side * i, y: 0, width: side, height: side };
            Ok(Part { bounds, image: MnistImage::from_pixels(pixels)? })
        })
        .collect()
}

fn decode_file(bytes: &[u8], limits: &Limits) -> Result<Vec<Part>, InferError> {
    if bytes.is_empty() {
        return Err(InferError::Invalid("the encoded image is empty (0 bytes)".into()));
    }
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg)) => f,
        Ok(other) => {
            return Err(InferError::Invalid(format!("{other:?} images are not supported; send PNG or JPEG")));
        }
        Err(_) => return Err(InferError::Invalid("the encoded image is neither PNG nor JPEG".into())),
    };
    let name = if format == ImageFormat::Png { "PNG" } else { "JPEG" };
    let undecodable = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => InferError::TooLarge(format!("cannot decode the {name} image: {e}")),
        _ => InferError::Invalid(format!("cannot decode the {name} image: {e}")),
    };

    // Read only the header first: a small file may declare a huge image.
    let (width, height) =
        ImageReader::with_format(Cursor::new(bytes), format).into_dimensions().map_err(undecodable)?;
    limits.check(width, height)?;

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decode_limits = image::Limits::default();
    decode_limits.max_image_width = Some(limits.max_side);
    decode_limits.max_image_height = Some(limits.max_side);
    // Room for the largest image at 16-bit RGBA, plus the decoder's own buffers.
    decode_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(decode_limits);
    let mut decoder = reader.into_decoder().map_err(undecodable)?;
    // Phones store photos as the sensor saw them and say in EXIF how to turn
    // them upright; a tag that cannot be read leaves the picture as stored.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut decoded = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    decoded.apply_orientation(orientation);

    let parts = if decoded.color().has_alpha() {
        let rgba = decoded.into_rgba8();
        let view = ImageView::new(rgba.width(), rgba.height(), PixelFormat::Rgba8, rgba.as_raw())?;
        digits_preprocess::to_parts(&view, limits)?
    } else {
        let gray = decoded.into_luma8();
        let view = ImageView::new(gray.width(), gray.height(), PixelFormat::Gray8, gray.as_raw())?;
        digits_preprocess::to_parts(&view, limits)?
    };
    Ok(parts)
}
