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
}

/// Gray level in `[0, 1]` of an RGBA pixel composited over white.
fn rgba_gray(px: &[u8]) -> f32 {
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
fn border(width: usize, height: usize) -> impl Iterator<Item = usize> {
    let top = 0..width;
    let bottom = (height > 1).then(|| (height - 1) * width..height * width).into_iter().flatten();
    let sides = (1..height.saturating_sub(1)).flat_map(move |y| {
        let left = y * width;
        std::iter::once(left).chain((width > 1).then_some(left + width - 1))
    });
    top.chain(bottom).chain(sides)
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
        Self { image, scheme }
    }

    /// Writes the ink of row `y`, from column `x0` on, into `out` (one value per pixel).
    /// The scheme is matched once per row, so the per-pixel loops stay tight.
    pub fn row(&self, y: usize, x0: usize, out: &mut [f32]) {
        let start = y * self.width() + x0;
        let px = self.image.pixels();
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
                for (o, p) in out.iter_mut().zip(px[start * 4..].chunks_exact(4)) {
                    *o = contrast(rgba_gray(p), background, dark_ink);
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
        let mut row = vec![0f32; w];
        for y in 0..h {
            self.row(y, 0, &mut row);
            let count = row.iter().filter(|&&v| v > INK_THRESHOLD).count();
            if count == 0 {
                continue;
            }
            ink_pixels += count;
            b.y0 = b.y0.min(y);
            b.y1 = y;
            if let Some(first) = row.iter().position(|&v| v > INK_THRESHOLD) {
                b.x0 = b.x0.min(first);
            }
            if let Some(last) = row.iter().rposition(|&v| v > INK_THRESHOLD) {
                b.x1 = b.x1.max(last);
            }
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
