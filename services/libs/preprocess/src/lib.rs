//! MNIST-form preprocessing for Digits.
//!
//! [`to_mnist`] turns an image of one handwritten digit, of any size and in
//! any of the usual colour schemes, into the 28x28 form MNIST itself was made
//! in, so a model trained on MNIST sees what it expects:
//!
//! 0. **Photos.** A picture whose background is not one flat colour (a
//!    photo of paper: uneven light, shadows, grain) has its background
//!    estimated everywhere and removed first (the `photo` module), which
//!    leaves ink high on 0 for the steps below.
//! 1. **Ink.** The background is found from the border pixels: light
//!    backgrounds (black ink on white), dark ones (white ink on black) and
//!    transparent ones (a canvas's RGBA, where only alpha carries the ink) are
//!    all turned into ink values in `[0, 1]`, ink high.
//! 2. **Crop** to the bounding box of the pixels with ink above
//!    [`INK_THRESHOLD`]. A crop no larger than [`TAP_SIDE`] brush widths
//!    either way is a tap or a dot: too small to read (the `tap` module).
//! 3. **Thicken** thin strokes: when the crop's mean stroke width is below
//!    [`STROKE_WIDTH`] of its longer side, dilate the ink to that width
//!    (MNIST's strokes are about that wide; a fine pen on a big canvas is not).
//! 4. **Fit** the crop into a [`BOX`]x[`BOX`] (20x20) box, keeping the aspect
//!    ratio: area-averaging when shrinking (anti-aliasing), bilinear when
//!    enlarging.
//! 5. **Centre**: place the box in the [`SIZE`]x[`SIZE`] (28x28) field and shift
//!    it by whole pixels so its centre of mass lands on [`COM_TARGET`].
//!
//! [`to_parts`] first splits a drawing into the digits it holds (a number
//! such as "42"), left to right, and puts each into MNIST form on its own.
//!
//! The same crate runs in the inference service and, compiled to wasm, in the
//! web UI, so the preview a person sees is exactly what the model is fed.
//! `training/digits_training/preprocess.py` is the numpy reference of the same
//! procedure.

mod error;
mod image;
mod ink;
mod mnist;
mod photo;
mod resample;
mod segment;
mod stroke;
mod tap;

pub use error::PreprocessError;
pub use image::{ImageView, Limits, PixelFormat};
pub use mnist::{MnistImage, Normalisation};
pub use photo::{
    BLOCKS, CLOSING_RADIUS, FLAT_LEVELS, FLAT_SHARE, MIN_DIGIT_HEIGHT, MIN_THRESHOLD, NOISE_MADS, PAPER_PERCENTILE,
    WORK_SIDE,
};
pub use segment::{
    FRAGMENT_GAP, FRAGMENT_HEIGHT, MAX_PARTS, OVERLAP_SHARE, Part, Rect, SPECK_REACH, SPECK_SHARE, SPECK_SIDE,
    STRAY_SHARE, to_parts,
};
pub use stroke::{STROKE_INK, STROKE_WIDTH};
pub use tap::TAP_SIDE;

/// Side of the MNIST field, in pixels.
pub const SIZE: usize = 28;
/// Pixels in one MNIST-form image.
pub const PIXELS: usize = SIZE * SIZE;
/// Side of the box the digit's longer side is scaled to.
pub const BOX: usize = 20;
/// Ink above this (on a 0-1 scale) counts towards the bounding box.
pub const INK_THRESHOLD: f32 = 0.1;
/// Where the centre of mass is moved to, `(x, y)` in pixel-index
/// coordinates: the mean centre of mass of MNIST's training images.
pub const COM_TARGET: (f32, f32) = (14.0, 14.0);
/// The fewest ink pixels a drawing needs; larger images need one per 10,000 pixels.
pub const MIN_INK_PIXELS: usize = 4;

/// Turns `image` into MNIST form.
///
/// # Errors
/// [`PreprocessError::TooLarge`] when `image` exceeds `limits`,
/// [`PreprocessError::Empty`] when it holds too little ink to be a digit, and
/// [`PreprocessError::TooSmall`] when its ink is a tap or a dot.
pub fn to_mnist(image: &ImageView<'_>, limits: &Limits) -> Result<MnistImage, PreprocessError> {
    limits.check(image.width(), image.height())?;
    let flat = photo::is_photo(image).then(|| photo::flatten(image));
    let image = flat.as_ref().map_or(*image, photo::Flattened::view);
    let image = &image;
    let ink = ink::Ink::detect(image);
    let bounds = ink.bounds(min_ink_pixels(image))?;
    let fitted = resample::fit_box(&ink, bounds)?;
    Ok(mnist::centre(&fitted))
}

/// The fewest pixels with ink that `image` must have not to count as empty.
pub(crate) fn min_ink_pixels(image: &ImageView<'_>) -> usize {
    let pixels = image.width() as usize * image.height() as usize;
    MIN_INK_PIXELS.max(pixels / 10_000)
}
