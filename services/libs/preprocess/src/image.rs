//! A borrowed view of raw pixels, and the size limits enforced on it.

use crate::PreprocessError;

/// How one pixel is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// One byte: 0 black, 255 white.
    Gray8,
    /// Four bytes: red, green, blue, alpha (straight, not premultiplied), as a
    /// canvas's `getImageData()` returns them.
    Rgba8,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub const fn bytes_per_pixel(self) -> usize {
        match self {
            Self::Gray8 => 1,
            Self::Rgba8 => 4,
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Self::Gray8 => "Gray8",
            Self::Rgba8 => "Rgba8",
        }
    }
}

/// Row-major pixels (top row first, no row padding) with their size and format.
#[derive(Debug, Clone, Copy)]
pub struct ImageView<'a> {
    width: u32,
    height: u32,
    format: PixelFormat,
    pixels: &'a [u8],
}

impl<'a> ImageView<'a> {
    /// Wraps `pixels`, checking that the size is non-zero and the buffer
    /// holds exactly `width * height` pixels of `format`.
    ///
    /// # Errors
    /// [`PreprocessError::ZeroSize`] or [`PreprocessError::BufferLength`].
    pub fn new(width: u32, height: u32, format: PixelFormat, pixels: &'a [u8]) -> Result<Self, PreprocessError> {
        if width == 0 || height == 0 {
            return Err(PreprocessError::ZeroSize { width, height });
        }
        let expected = u64::from(width) * u64::from(height) * format.bytes_per_pixel() as u64;
        if pixels.len() as u64 != expected {
            return Err(PreprocessError::BufferLength {
                width,
                height,
                format: format.name(),
                expected,
                actual: pixels.len() as u64,
            });
        }
        Ok(Self { width, height, format, pixels })
    }

    /// Wraps pixels whose length the caller built to match.
    pub(crate) fn sized(width: u32, height: u32, format: PixelFormat, pixels: &'a [u8]) -> Self {
        debug_assert_eq!(pixels.len(), width as usize * height as usize * format.bytes_per_pixel());
        Self { width, height, format, pixels }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixel format.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// The raw bytes.
    pub fn pixels(&self) -> &'a [u8] {
        self.pixels
    }
}

/// The largest image accepted. Both bounds apply; they keep memory and time
/// per image bounded whatever a client sends (e.g. a decompression bomb).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest side, in pixels.
    pub max_side: u32,
    /// Most pixels (width x height).
    pub max_pixels: u64,
}

impl Default for Limits {
    /// 4096 px per side and 4,194,304 pixels (2048x2048) in all: a phone
    /// photo of a digit fits, and a decompression bomb costs little.
    fn default() -> Self {
        Self { max_side: 4096, max_pixels: 4 << 20 }
    }
}

impl Limits {
    /// Checks a size against the limits (also usable before decoding a file).
    ///
    /// # Errors
    /// [`PreprocessError::ZeroSize`] or [`PreprocessError::TooLarge`].
    pub fn check(&self, width: u32, height: u32) -> Result<(), PreprocessError> {
        if width == 0 || height == 0 {
            return Err(PreprocessError::ZeroSize { width, height });
        }
        if width > self.max_side || height > self.max_side || u64::from(width) * u64::from(height) > self.max_pixels {
            return Err(PreprocessError::TooLarge {
                width,
                height,
                max_side: self.max_side,
                max_pixels: self.max_pixels,
            });
        }
        Ok(())
    }
}
