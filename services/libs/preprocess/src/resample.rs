//! Crops the ink, thickens thin strokes, and fits it into the 20x20 box.
//!
//! Resampling is separable: one weight list per output column, one per
//! output row. Shrinking uses exact area averaging, each output pixel the
//! mean of the source area it covers, which is the anti-aliasing MNIST's
//! makers used; enlarging (a tiny drawing) interpolates bilinearly.

use crate::ink::{Bounds, Ink};
use crate::stroke::{self, StrokeMeter};
use crate::{BOX, PreprocessError, tap};

/// The digit scaled into the box: `width x height` values, row-major, both at most [`BOX`].
pub(crate) struct Fitted {
    pub width: usize,
    pub height: usize,
    pub values: Vec<f32>,
}

/// How one output value is made: the sources from `first` on, one weight each.
#[derive(Debug, PartialEq)]
pub(crate) struct Taps {
    pub first: usize,
    pub weights: Vec<f32>,
}

impl Taps {
    /// The weighted sum of the sources, in source order.
    #[inline]
    fn apply(&self, source: &[f32]) -> f32 {
        source[self.first..][..self.weights.len()].iter().zip(&self.weights).map(|(v, w)| v * w).sum()
    }
}

/// For each of `dst` outputs, the consecutive sources that make it.
pub(crate) fn axis_weights(src: usize, dst: usize) -> Vec<Taps> {
    let ratio = src as f64 / dst as f64;
    (0..dst)
        .map(|i| {
            if dst <= src {
                let (start, end) = (i as f64 * ratio, (i + 1) as f64 * ratio);
                let first = start.floor() as usize;
                let last = (end.ceil() as usize).min(src);
                let overlap = |j: usize| end.min(j as f64 + 1.0) - start.max(j as f64);
                // Only sources the output covers: trim any edge it merely touches.
                let first = (first..last).find(|&j| overlap(j) > 0.0).unwrap_or(first);
                let last = (first..last).rev().find(|&j| overlap(j) > 0.0).map_or(first, |j| j + 1);
                Taps { first, weights: (first..last).map(|j| (overlap(j) / ratio) as f32).collect() }
            } else {
                let centre = ((i as f64 + 0.5) * ratio - 0.5).clamp(0.0, (src - 1) as f64);
                let j0 = centre.floor() as usize;
                let j1 = (j0 + 1).min(src - 1);
                let frac = (centre - j0 as f64) as f32;
                if j0 == j1 {
                    Taps { first: j0, weights: vec![1.0] }
                } else {
                    Taps { first: j0, weights: vec![1.0 - frac, frac] }
                }
            }
        })
        .collect()
}

/// Rounds half up, as the numpy reference does.
pub(crate) fn round_half_up(x: f64) -> i64 {
    (x + 0.5).floor() as i64
}

/// Crops `ink` to `bounds` and scales the longer side to [`BOX`], keeping the aspect ratio.
///
/// # Errors
/// [`PreprocessError::TooSmall`] when the crop is a tap ([`crate::tap`]).
pub(crate) fn fit_box(ink: &Ink<'_>, bounds: Bounds) -> Result<Fitted, PreprocessError> {
    let (w, h) = (bounds.width(), bounds.height());
    let (crop, meter) = read_crop(bounds, |y, x0, row| ink.row(y, x0, row));
    tap::refuse_taps(&crop, w, h)?;
    Ok(fit_crop(w, h, &crop, &meter))
}

/// [`fit_box`] over ink read by `read_row(y, x0, out)`, which fills `out`
/// with the ink of row `y` from column `x0` on, for a part of a drawing
/// (whose whole was checked for taps). The crop is read once; thin strokes
/// are thickened before it is fitted (see [`crate::stroke`]).
pub(crate) fn fit_box_with(bounds: Bounds, read_row: impl FnMut(usize, usize, &mut [f32])) -> Fitted {
    let (crop, meter) = read_crop(bounds, read_row);
    fit_crop(bounds.width(), bounds.height(), &crop, &meter)
}

/// The ink inside `bounds`, row-major, with its stroke width measured.
fn read_crop(bounds: Bounds, mut read_row: impl FnMut(usize, usize, &mut [f32])) -> (Vec<f32>, StrokeMeter) {
    let (w, h) = (bounds.width(), bounds.height());
    let mut crop = vec![0f32; w * h];
    let mut meter = StrokeMeter::new(w);
    for (y, row) in crop.chunks_mut(w).enumerate() {
        read_row(bounds.y0 + y, bounds.x0, row);
        meter.add_row(row);
    }
    (crop, meter)
}

/// Thickens a `w x h` crop's thin strokes and fits it into the box.
fn fit_crop(w: usize, h: usize, crop: &[f32], meter: &StrokeMeter) -> Fitted {
    match meter.radius(w.max(h)) {
        0 => fit(w, h, crop),
        radius => {
            let (thick, tw, th) = stroke::dilate(crop, w, h, radius);
            fit(tw, th, &thick)
        }
    }
}

/// Scales a `w x h` crop (row-major) so that its longer side is [`BOX`],
/// keeping the aspect ratio.
fn fit(w: usize, h: usize, crop: &[f32]) -> Fitted {
    let scale = BOX as f64 / w.max(h) as f64;
    let out_w = round_half_up(w as f64 * scale).clamp(1, BOX as i64) as usize;
    let out_h = round_half_up(h as f64 * scale).clamp(1, BOX as i64) as usize;
    let wx = axis_weights(w, out_w);
    let wy = axis_weights(h, out_h);

    // Horizontal pass over the crop: h rows of out_w values.
    let mut horizontal = vec![0f32; h * out_w];
    for (row, out) in crop.chunks(w).zip(horizontal.chunks_mut(out_w)) {
        for (o, taps) in out.iter_mut().zip(&wx) {
            *o = taps.apply(row);
        }
    }
    // Vertical pass.
    let mut values = vec![0f32; out_h * out_w];
    for (k, taps) in wy.iter().enumerate() {
        for (j, &wgt) in (taps.first..).zip(&taps.weights) {
            let src = &horizontal[j * out_w..(j + 1) * out_w];
            for (out, v) in values[k * out_w..(k + 1) * out_w].iter_mut().zip(src) {
                *out += v * wgt;
            }
        }
    }
    Fitted { width: out_w, height: out_h, values }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_of_every_output_sum_to_one() {
        for (src, dst) in [(100, 20), (21, 20), (20, 20), (7, 20), (1, 20), (3, 1), (1000, 13)] {
            for (i, taps) in axis_weights(src, dst).iter().enumerate() {
                let sum: f32 = taps.weights.iter().sum();
                assert!((sum - 1.0).abs() < 1e-5, "{src}->{dst} output {i} sums to {sum}");
            }
        }
    }

    #[test]
    fn same_size_is_the_identity() {
        for (i, taps) in axis_weights(20, 20).iter().enumerate() {
            assert_eq!(taps, &Taps { first: i, weights: vec![1.0] });
        }
    }

    #[test]
    fn halving_averages_pairs() {
        let w = axis_weights(4, 2);
        assert_eq!(w[0], Taps { first: 0, weights: vec![0.5, 0.5] });
        assert_eq!(w[1], Taps { first: 2, weights: vec![0.5, 0.5] });
    }
}
