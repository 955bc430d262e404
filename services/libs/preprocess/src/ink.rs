//! Turns pixels of any colour scheme into ink values in `[0, 1]`, ink high.
//!
//! The background is whatever dominates the image's border: the median of the
//! border pixels. Pixels darker than a light background (or lighter than a
//! dark one) are ink, scaled so that full contrast with the background is 1.
//! When most of the border is transparent, as on a canvas where nothing was
//! painted, the colour carries no information and alpha alone is the ink.

use crate::{INK_THRESHOLD, ImageView, PixelFormat, PreprocessError};

/// An inclusive pixel rectangle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl Bounds {
    pub fn width(&self) -> usize {
        self.x1 - self.x0 + 1
    }

    pub fn height(&self) -> usize {
        self.y1 - self.y0 + 1
    }
}

#[derive(Debug, Clone, Copy)]
enum Scheme {
    /// Ink is the alpha channel (transparent background).
    Alpha,
    /// Ink is the contrast of the gray level with the background.
    Gray { background: f32, dark_ink: bool },
}

/// The ink of every pixel of an image, computed on demand.
pub(crate) struct Ink<'a> {
    image: &'a ImageView<'a>,
    scheme: Scheme,
    /// When a pixel's ink depends on one byte (its alpha, or its gray
    /// level), the ink of each byte value, computed once by the same formula
    /// as [`Ink::row`]'s general case, so the results are identical.
    by_byte: Option<ByteInk>,
}

/// Ink per byte value, and which byte values count as ink for the bounds.
struct ByteInk {
    /// Where the byte sits in a pixel (alpha: 3 of 4; gray: 0 of 1).
    offset: usize,
    stride: usize,
    ink: [f32; 256],
    /// The byte values whose ink is above [`INK_THRESHOLD`]: `b - lo <= span`
    /// in wrapping arithmetic. Ink is monotonic in the byte under every
    /// scheme, so they are one range; `None` when no byte value is ink.
    counted: Option<(u8, u8)>,
}

impl ByteInk {
    fn new(offset: usize, stride: usize, ink_of: impl Fn(u8) -> f32) -> Self {
        let ink: [f32; 256] = std::array::from_fn(|v| ink_of(v as u8));
        let counts = |v: usize| ink[v] > INK_THRESHOLD;
        let counted = (0..256).find(|&v| counts(v)).map(|lo| {
            let hi = (0..256).rev().find(|&v| counts(v)).unwrap_or(lo);
            debug_assert!((lo..=hi).all(counts), "ink is monotonic in the byte");
            (lo as u8, (hi - lo) as u8)
        });
        Self { offset, stride, ink, counted }
    }

    /// The bytes that decide the ink of the pixels from pixel `start` on.
    fn bytes<'p>(&self, px: &'p [u8], start: usize) -> impl Iterator<Item = u8> + 'p {
        px.get(start * self.stride + self.offset..).unwrap_or_default().iter().step_by(self.stride).copied()
    }

    /// How many of the `width` pixels of the row starting at pixel `start`
    /// are ink, and the first and last of them.
    fn extent(&self, px: &[u8], start: usize, width: usize) -> (usize, usize, usize) {
        let Some((lo, span)) = self.counted else { return (0, 0, 0) };
        let row = &px[start * self.stride..(start + width) * self.stride];
        match self.stride {
            // Whole pixels as 32-bit lanes; the only 4-byte case is alpha, the top byte.
            4 => {
                let (lo, span) = (u32::from(lo), u32::from(span));
                scan::<4>(row, |p| (u32::from_le_bytes(*p) >> 24).wrapping_sub(lo) <= span)
            }
            _ => scan::<1>(row, |p| p[0].wrapping_sub(lo) <= span),
        }
    }
}

/// Count, first and last of the pixels (`STRIDE` bytes each) of `row` that
/// are ink. The count and the search for the first and last block of 16
/// pixels with ink have no early exit, so they compile to vector compares;
/// only within those two blocks is the search pixel by pixel.
#[inline(always)]
fn scan<const STRIDE: usize>(row: &[u8], is_ink: impl Fn(&[u8; STRIDE]) -> bool + Copy) -> (usize, usize, usize) {
    const BLOCK: usize = 16;
    let (pixels, _) = row.as_chunks::<STRIDE>();
    let count = pixels.iter().filter(|p| is_ink(p)).count();
    if count == 0 {
        return (0, 0, 0);
    }
    let any = |block: &[[u8; STRIDE]]| block.iter().fold(false, |seen, p| seen | is_ink(p));
    let first_block = pixels.chunks(BLOCK).position(any).unwrap_or(0);
    let last_block = pixels.chunks(BLOCK).rposition(any).unwrap_or(first_block);
    let block = |b: usize| &pixels[b * BLOCK..((b + 1) * BLOCK).min(pixels.len())];
    let first = first_block * BLOCK + block(first_block).iter().position(is_ink).unwrap_or(0);
    let last = last_block * BLOCK + block(last_block).iter().rposition(is_ink).unwrap_or(0);
    (count, first, last)
}

/// Gray level in `[0, 1]` of an RGBA pixel composited over white.
pub(crate) fn rgba_gray(px: &[u8]) -> f32 {
    let luma = (299 * u32::from(px[0]) + 587 * u32::from(px[1]) + 114 * u32::from(px[2])) as f32 / 255_000.0;
    let alpha = f32::from(px[3]) / 255.0;
    alpha * luma + (1.0 - alpha)
}

/// Ink of a gray level against the background: full contrast is 1.
#[inline]
fn contrast(gray: f32, background: f32, dark_ink: bool) -> f32 {
    let ink = if dark_ink { (background - gray) / background } else { (gray - background) / (1.0 - background) };
    ink.clamp(0.0, 1.0)
}

/// Indices of the pixels on the image's border, each once.
pub(crate) fn border(width: usize, height: usize) -> impl Iterator<Item = usize> {
    let top = 0..width;
    let bottom = (height > 1).then(|| (height - 1) * width..height * width).into_iter().flatten();
    let sides = (1..height.saturating_sub(1)).flat_map(move |y| {
        let left = y * width;
        std::iter::once(left).chain((width > 1).then_some(left + width - 1))
    });
    top.chain(bottom).chain(sides)
}

/// How many of a row's pixels are ink, and the first and last of them.
fn extent(is_ink: impl Iterator<Item = bool>) -> (usize, usize, usize) {
    let (mut count, mut first, mut last) = (0, usize::MAX, 0);
    for (x, ink) in is_ink.enumerate() {
        if ink {
            count += 1;
            first = first.min(x);
            last = x;
        }
    }
    (count, first, last)
}

/// The median of byte values given as a histogram.
fn median(histogram: &[u32; 256], count: u32) -> u8 {
    let mut seen = 0;
    for (value, n) in histogram.iter().enumerate() {
        seen += n;
        if seen * 2 >= count {
            return value as u8;
        }
    }
    255
}

impl<'a> Ink<'a> {
    /// Looks at the border to decide how pixels map to ink.
    pub fn detect(image: &'a ImageView<'a>) -> Self {
        let (w, h) = (image.width() as usize, image.height() as usize);
        let px = image.pixels();
        let mut gray = [0u32; 256];
        let mut count = 0u32;
        let mut transparent = 0u32;
        for i in border(w, h) {
            let value = match image.format() {
                PixelFormat::Gray8 => px[i],
                PixelFormat::Rgba8 => {
                    let p = &px[i * 4..i * 4 + 4];
                    if p[3] < 128 {
                        transparent += 1;
                    }
                    (rgba_gray(p) * 255.0).round() as u8
                }
            };
            gray[value as usize] += 1;
            count += 1;
        }
        let scheme = if transparent * 2 > count {
            Scheme::Alpha
        } else {
            let background = f32::from(median(&gray, count)) / 255.0;
            Scheme::Gray { background, dark_ink: background > 0.5 }
        };
        let by_byte = match (scheme, image.format()) {
            // Alpha is the last of the four bytes (the extent relies on it).
            (Scheme::Alpha, PixelFormat::Rgba8) => Some(ByteInk::new(3, 4, |a| f32::from(a) / 255.0)),
            (Scheme::Alpha, PixelFormat::Gray8) => Some(ByteInk::new(0, 1, |p| f32::from(p) / 255.0)),
            (Scheme::Gray { background, dark_ink }, PixelFormat::Gray8) => {
                Some(ByteInk::new(0, 1, |p| contrast(f32::from(p) / 255.0, background, dark_ink)))
            }
            (Scheme::Gray { .. }, PixelFormat::Rgba8) => None,
        };
        Self { image, scheme, by_byte }
    }

    /// Writes the ink of row `y`, from column `x0` on, into `out` (one value per pixel).
    /// The scheme is matched once per row, so the per-pixel loops stay tight.
    pub fn row(&self, y: usize, x0: usize, out: &mut [f32]) {
        let start = y * self.width() + x0;
        let px = self.image.pixels();
        if let Some(by_byte) = &self.by_byte {
            for (o, b) in out.iter_mut().zip(by_byte.bytes(px, start)) {
                *o = by_byte.ink[usize::from(b)];
            }
            return;
        }
        match (self.scheme, self.image.format()) {
            (Scheme::Alpha, PixelFormat::Rgba8) => {
                for (o, p) in out.iter_mut().zip(px[start * 4..].chunks_exact(4)) {
                    *o = f32::from(p[3]) / 255.0;
                }
            }
            // Alpha is only chosen for RGBA images; a gray image is its own ink.
            (Scheme::Alpha, PixelFormat::Gray8) => {
                for (o, &p) in out.iter_mut().zip(&px[start..]) {
                    *o = f32::from(p) / 255.0;
                }
            }
            (Scheme::Gray { background, dark_ink }, PixelFormat::Gray8) => {
                for (o, &p) in out.iter_mut().zip(&px[start..]) {
                    *o = contrast(f32::from(p) / 255.0, background, dark_ink);
                }
            }
            (Scheme::Gray { background, dark_ink }, PixelFormat::Rgba8) => {
                // A drawing is mostly runs of one colour: the ink of a pixel
                // equal to the one before is the ink already computed.
                let mut last: Option<(&[u8], f32)> = None;
                for (o, p) in out.iter_mut().zip(px[start * 4..].chunks_exact(4)) {
                    *o = match last {
                        Some((q, ink)) if q == p => ink,
                        _ => {
                            let ink = contrast(rgba_gray(p), background, dark_ink);
                            last = Some((p, ink));
                            ink
                        }
                    };
                }
            }
        }
    }

    /// Image width in pixels.
    pub fn width(&self) -> usize {
        self.image.width() as usize
    }

    /// The bounding box of the pixels with ink above [`INK_THRESHOLD`].
    ///
    /// # Errors
    /// [`PreprocessError::Empty`] when fewer than `required` pixels have ink.
    pub fn bounds(&self, required: usize) -> Result<Bounds, PreprocessError> {
        let (w, h) = (self.width(), self.image.height() as usize);
        let mut ink_pixels = 0usize;
        let mut b = Bounds { x0: usize::MAX, y0: usize::MAX, x1: 0, y1: 0 };
        let mut row = vec![0f32; if self.by_byte.is_some() { 0 } else { w }];
        for y in 0..h {
            // Which pixels of the row count as ink: a table lookup per byte
            // when one byte decides, else the ink itself.
            let (count, first, last) = match &self.by_byte {
                Some(by_byte) => by_byte.extent(self.image.pixels(), y * w, w),
                None => {
                    self.row(y, 0, &mut row);
                    extent(row.iter().map(|&v| v > INK_THRESHOLD))
                }
            };
            if count == 0 {
                continue;
            }
            ink_pixels += count;
            b.y0 = b.y0.min(y);
            b.y1 = y;
            b.x0 = b.x0.min(first);
            b.x1 = b.x1.max(last);
        }
        if ink_pixels < required {
            return Err(PreprocessError::Empty { ink_pixels, required });
        }
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn the_fast_row_extent_equals_a_pixel_by_pixel_one(
            row in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            background in 0u8..=255,
            alpha in proptest::prelude::any::<bool>(),
        ) {
            let (stride, width) = if alpha { (4, row.len() / 4) } else { (1, row.len()) };
            let bytes = &row[..width * stride];
            let by_byte = if alpha {
                ByteInk::new(3, 4, |a| f32::from(a) / 255.0)
            } else {
                let background = f32::from(background) / 255.0;
                ByteInk::new(0, 1, |p| contrast(f32::from(p) / 255.0, background, background > 0.5))
            };
            let ink: Vec<bool> = by_byte.bytes(bytes, 0).take(width).map(|b| by_byte.ink[usize::from(b)] > INK_THRESHOLD).collect();
            let count = ink.iter().filter(|&&i| i).count();
            let expected = if count == 0 {
                (0, 0, 0)
            } else {
                (count, ink.iter().position(|&i| i).unwrap_or(0), ink.iter().rposition(|&i| i).unwrap_or(0))
            };
            proptest::prop_assert_eq!(by_byte.extent(bytes, 0, width), expected);
        }
    }

    #[test]
    fn border_visits_each_edge_pixel_once() {
        let mut seen: Vec<usize> = border(4, 3).collect();
        seen.sort_unstable();
        assert_eq!(seen, vec![0, 1, 2, 3, 4, 7, 8, 9, 10, 11]);
        assert_eq!(border(1, 1).collect::<Vec<_>>(), vec![0]);
        assert_eq!(border(1, 3).count(), 3);
        assert_eq!(border(3, 1).count(), 3);
    }

    #[test]
    fn light_background_makes_dark_pixels_ink() {
        let px = [255, 255, 255, 255, 0, 255, 255, 255, 255];
        let view = ImageView::new(3, 3, PixelFormat::Gray8, &px).expect("valid");
        let mut row = [0f32; 3];
        Ink::detect(&view).row(1, 0, &mut row);
        assert_eq!(row, [0.0, 1.0, 0.0]);
    }

    #[test]
    fn transparent_background_uses_alpha() {
        let mut px = vec![0u8; 9 * 4];
        px[4 * 4 + 3] = 200; // black stroke, partly opaque
        let view = ImageView::new(3, 3, PixelFormat::Rgba8, &px).expect("valid");
        let mut row = [0f32; 2];
        Ink::detect(&view).row(1, 0, &mut row);
        assert_eq!(row[0], 0.0);
        assert!((row[1] - 200.0 / 255.0).abs() < 1e-6);
    }
}
