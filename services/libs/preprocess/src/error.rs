//! What can go wrong when turning an image into MNIST form.

/// Why an image could not be turned into MNIST form. Every variant is the
/// caller's input, so services report it as a client error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreprocessError {
    /// Width or height is zero.
    #[error("image is empty: {width}x{height} pixels")]
    ZeroSize {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The image is larger than the configured [`crate::Limits`].
    #[error("image is {width}x{height} pixels; the limit is {max_side} px per side and {max_pixels} pixels in all")]
    TooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Longest side allowed.
        max_side: u32,
        /// Most pixels allowed.
        max_pixels: u64,
    },
    /// The pixel buffer does not hold width x height pixels of the format.
    #[error("pixel buffer has {actual} bytes; {width}x{height} {format} needs {expected}")]
    BufferLength {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// The pixel format's name.
        format: &'static str,
        /// Bytes needed.
        expected: u64,
        /// Bytes given.
        actual: u64,
    },
    /// A ready MNIST image must be exactly 784 bytes.
    #[error("an MNIST-form image has 784 bytes (28x28), got {0}")]
    MnistLength(usize),
    /// Nothing (or almost nothing) is drawn.
    #[error("the drawing is empty: {ink_pixels} pixels with ink, at least {required} needed")]
    Empty {
        /// Pixels with ink above the threshold.
        ink_pixels: usize,
        /// The fewest needed.
        required: usize,
    },
    /// The only mark is no larger than the brush that made it: a tap, a dot
    /// or the first touch of a pen ([`crate::TAP_SIDE`]).
    #[error(
        "the drawing is too small to read: {width}x{height} pixels, about the width of its stroke ({brush} px); draw a bigger digit"
    )]
    TooSmall {
        /// Width of the ink's box, in pixels.
        width: u32,
        /// Height of the ink's box, in pixels.
        height: u32,
        /// The measured width of the brush, in pixels.
        brush: u32,
    },
    /// A photo holds marks, but none tall enough to be a digit written on it.
    #[error(
        "no mark in the photo is tall enough to be a digit: the tallest is {tallest} px, at least {required} px needed"
    )]
    NoDigit {
        /// The tallest mark, in pixels of the photo as processed.
        tallest: u32,
        /// The shortest digit taken ([`crate::MIN_DIGIT_HEIGHT`] of the shorter side).
        required: u32,
    },
}
