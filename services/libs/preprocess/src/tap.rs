//! Taps: a mark no larger than the brush that made it has nothing to read.
//!
//! A single tap on the pad, a dot, or the first touch of a pen leaves a blot
//! about as wide as the pen in both directions. Put into MNIST form, the blot
//! is blown up to a filled 20-pixel disc, which a model trained on digits
//! reads as a confident 0. So a drawing whose ink box is no larger than
//! [`TAP_SIDE`] brush widths either way is refused as too small to read
//! ([`PreprocessError::TooSmall`]), before any model sees it. The page and
//! the server run this same rule on the same pixels, so they agree.
//!
//! The brush width is measured, not told: the smaller of the median lengths
//! of the ink's horizontal and of its vertical runs. Most runs cross a
//! stroke; a long bar has long runs along it but short ones across it, so
//! the smaller median is the stroke's width. A short vertical line, which is
//! a 1, is taller than [`TAP_SIDE`] widths and stays a drawing.

use crate::INK_THRESHOLD;
use crate::error::PreprocessError;

/// A drawing no larger than this many brush widths either way is a tap.
pub const TAP_SIDE: f32 = 1.5;

/// Refuses a `width x height` crop (row-major ink, `[0, 1]`) that is a tap.
///
/// # Errors
/// [`PreprocessError::TooSmall`] when neither side exceeds [`TAP_SIDE`]
/// brush widths.
pub(crate) fn refuse_taps(crop: &[f32], width: usize, height: usize) -> Result<(), PreprocessError> {
    let side = width.max(height) as f32;
    // A run never outgrows the crop, so only a near-square crop can be a tap:
    // most drawings are settled here without a look at their pixels.
    if side > TAP_SIDE * width.min(height) as f32 {
        return Ok(());
    }
    let brush = brush_width(crop, width);
    if side <= TAP_SIDE * brush as f32 {
        return Err(PreprocessError::TooSmall { width: width as u32, height: height as u32, brush: brush as u32 });
    }
    Ok(())
}

/// The width of the brush that drew the crop: the smaller of the median
/// lengths of its horizontal and vertical runs of ink (0 without ink).
pub(crate) fn brush_width(crop: &[f32], width: usize) -> usize {
    if width == 0 {
        return 0;
    }
    let ink = |v: f32| v > INK_THRESHOLD;
    let mut across = Vec::new();
    let mut down = Vec::new();
    // The vertical runs still open, one per column.
    let mut open = vec![0usize; width];
    for row in crop.chunks(width) {
        let mut run = 0;
        for (&v, column) in row.iter().zip(open.iter_mut()) {
            if ink(v) {
                run += 1;
                *column += 1;
            } else {
                if run > 0 {
                    across.push(run);
                }
                if *column > 0 {
                    down.push(*column);
                }
                run = 0;
                *column = 0;
            }
        }
        if run > 0 {
            across.push(run);
        }
    }
    down.extend(open.into_iter().filter(|&n| n > 0));
    median(&mut across).min(median(&mut down))
}

/// The upper median (0 for none), as the numpy reference takes it.
fn median(lengths: &mut [usize]) -> usize {
    if lengths.is_empty() {
        return 0;
    }
    let middle = lengths.len() / 2;
    *lengths.select_nth_unstable(middle).1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `side x side` crop with a filled disc of `diameter` in its middle.
    fn disc(side: usize, diameter: f32) -> Vec<f32> {
        let c = side as f32 / 2.0;
        (0..side * side)
            .map(|i| {
                let (x, y) = ((i % side) as f32 + 0.5 - c, (i / side) as f32 + 0.5 - c);
                if x.hypot(y) <= diameter / 2.0 { 1.0 } else { 0.0 }
            })
            .collect()
    }

    /// A `w x h` crop filled with ink.
    fn bar(w: usize, h: usize) -> Vec<f32> {
        vec![1.0; w * h]
    }

    #[test]
    fn a_dot_is_a_tap() {
        let dot = disc(16, 16.0);
        assert!(matches!(refuse_taps(&dot, 16, 16), Err(PreprocessError::TooSmall { width: 16, height: 16, .. })));
    }

    #[test]
    fn the_brush_of_a_dot_is_most_of_its_diameter() {
        let width = brush_width(&disc(40, 40.0), 40);
        assert!((32..=40).contains(&width), "{width}");
    }

    #[test]
    fn a_short_vertical_line_is_a_drawing() {
        // Two brush widths tall: a 1.
        assert_eq!(refuse_taps(&bar(12, 24), 12, 24), Ok(()));
    }

    #[test]
    fn a_bar_is_measured_across_its_width_not_along_it() {
        assert_eq!(brush_width(&bar(30, 6), 30), 6);
        assert_eq!(brush_width(&bar(6, 30), 6), 6);
        assert_eq!(refuse_taps(&bar(30, 6), 30, 6), Ok(()));
    }

    #[test]
    fn a_dash_just_longer_than_the_brush_is_a_tap() {
        assert!(refuse_taps(&bar(14, 10), 14, 10).is_err());
        assert_eq!(refuse_taps(&bar(16, 10), 16, 10), Ok(()));
    }

    #[test]
    fn a_ring_is_measured_by_its_stroke() {
        // A 0 drawn with a stroke a sixth of its size is no tap.
        let (outer, inner) = (disc(36, 36.0), disc(36, 24.0));
        let ring: Vec<f32> = outer.iter().zip(&inner).map(|(o, i)| o - i).collect();
        assert!(brush_width(&ring, 36) < 12);
        assert_eq!(refuse_taps(&ring, 36, 36), Ok(()));
    }
}
