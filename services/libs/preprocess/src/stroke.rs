//! Stroke width: thin strokes are thickened before the crop is fitted.
//!
//! MNIST's strokes are about a tenth as wide as the digit is tall. A digit
//! drawn with a fine pen on a big canvas shrinks to faint hairlines in the
//! 20x20 box, which the model reads worse. So the crop's mean stroke width
//! is estimated (twice the inked area over the length of its outline, for
//! pixels with ink above [`STROKE_INK`]) and, when it is below
//! [`STROKE_WIDTH`] of the crop's longer side, the ink is dilated by a square
//! max filter of the missing half-width on each side. Strokes that are wide
//! enough are left alone.

/// The thinnest mean stroke kept as drawn, as a share of the crop's longer side.
pub const STROKE_WIDTH: f64 = 0.10;
/// Ink above this counts as stroke when the width is measured.
pub const STROKE_INK: f32 = 0.5;

/// Measures the mean stroke width of a crop fed to it row by row.
pub(crate) struct StrokeMeter {
    area: u64,
    edges: u64,
    previous: Vec<bool>,
}

impl StrokeMeter {
    /// A meter for rows of `width` pixels.
    pub fn new(width: usize) -> Self {
        Self { area: 0, edges: 0, previous: vec![false; width] }
    }

    /// Counts the stroke pixels of the next row and the outline edges they close.
    pub fn add_row(&mut self, row: &[f32]) {
        let ink = |v: f32| v > STROKE_INK;
        // Counted in independent sums, free of a running "left" value, so that they vectorise.
        let (mut area, mut edges) = (0u32, 0u32);
        for (above, &v) in self.previous.iter_mut().zip(row) {
            area += u32::from(ink(v));
            edges += u32::from(ink(v) != *above);
            *above = ink(v);
        }
        for pair in row.windows(2) {
            edges += u32::from(ink(pair[0]) != ink(pair[1]));
        }
        // The row's two ends close the strokes that touch them.
        if let (Some(&first), Some(&last)) = (row.first(), row.last()) {
            edges += u32::from(ink(first)) + u32::from(ink(last));
        }
        self.area += u64::from(area);
        self.edges += u64::from(edges);
    }

    /// How far to dilate a crop whose longer side is `longer` pixels: 0 when
    /// its strokes are wide enough (or there are none to measure).
    pub fn radius(&self, longer: usize) -> usize {
        // The bottom edge of the last row's stroke pixels closes the outline.
        let edges = self.edges + self.previous.iter().map(|&ink| u64::from(ink)).sum::<u64>();
        if self.area == 0 || edges == 0 {
            return 0;
        }
        let width = 2.0 * self.area as f64 / edges as f64;
        let missing = (STROKE_WIDTH * longer as f64 - width) / 2.0;
        (missing + 0.5).floor().max(0.0) as usize
    }
}

/// `values` (`width x height`, row-major) dilated by `radius`: a square max
/// filter of side `2 * radius + 1` over the crop padded by `radius` on every
/// side, so the result is `(width + 2r) x (height + 2r)`.
pub(crate) fn dilate(values: &[f32], width: usize, height: usize, radius: usize) -> (Vec<f32>, usize, usize) {
    let (out_w, out_h) = (width + 2 * radius, height + 2 * radius);
    let window = 2 * radius + 1;
    // The crop padded by `2r` zeros on every side: the window whose top left
    // corner is at (x, y) of the padded crop makes output pixel (x, y).
    let padded_w = width + 4 * radius;
    let mut padded = vec![0f32; padded_w * (height + 4 * radius)];
    let first = 2 * radius * padded_w + 2 * radius;
    for (src, dst) in values.chunks(width).zip(padded[first..].chunks_mut(padded_w)) {
        dst[..width].copy_from_slice(src);
    }
    let mut scratch = vec![0f32; padded.len()];
    // Along the rows, then down the columns. The rows are filtered as one
    // long line: a window that starts inside an output column ends before its
    // row's right padding does, so it never mixes two rows.
    window_max(&mut padded, &mut scratch, 1, window);
    window_max(&mut padded, &mut scratch, padded_w, window);
    let mut out = Vec::with_capacity(out_w * out_h);
    for row in padded.chunks(padded_w).take(out_h) {
        out.extend_from_slice(&row[..out_w]);
    }
    (out, out_w, out_h)
}

/// Replaces each `values[i]` by the maximum of the `window` values
/// `values[i]`, `values[i + step]`, ..., `values[i + (window - 1) * step]`,
/// for every `i` whose window fits; the last `(window - 1) * step` values are
/// left meaningless. Windows double in length each pass (the maximum over
/// `2n` values is that of two runs of `n`), and one last pass joins two
/// overlapping runs into the exact length, so the work is `log2(window)`
/// passes of element-wise maxima over whole slices, which vectorise.
fn window_max(values: &mut Vec<f32>, scratch: &mut Vec<f32>, step: usize, window: usize) {
    let mut run = 1;
    while run < window {
        // The last pass only needs to reach the end of the window.
        let shift = run.min(window - run) * step;
        let n = values.len().saturating_sub(shift);
        for ((s, &a), &b) in scratch[..n].iter_mut().zip(&values[..n]).zip(&values[shift..]) {
            *s = a.max(b);
        }
        std::mem::swap(values, scratch);
        run += shift / step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain definition of the filter, to check the fast one against.
    fn naive(values: &[f32], width: usize, height: usize, radius: usize) -> Vec<f32> {
        let (out_w, out_h) = (width + 2 * radius, height + 2 * radius);
        // The crop padded by 2r zeros on every side.
        let pw = width + 4 * radius;
        let mut padded = vec![0f32; pw * (height + 4 * radius)];
        for y in 0..height {
            padded[(y + 2 * radius) * pw + 2 * radius..][..width].copy_from_slice(&values[y * width..][..width]);
        }
        let mut out = vec![0f32; out_w * out_h];
        for y in 0..out_h {
            for x in 0..out_w {
                let mut m = 0f32;
                for sy in y..=y + 2 * radius {
                    for sx in x..=x + 2 * radius {
                        m = m.max(padded[sy * pw + sx]);
                    }
                }
                out[y * out_w + x] = m;
            }
        }
        out
    }

    #[test]
    fn dilation_is_a_square_max_filter() {
        let (w, h) = (13, 9);
        let values: Vec<f32> = (0..w * h).map(|i| ((i * 37 + 11) % 17) as f32 / 16.0).collect();
        for radius in 1..=12 {
            let (got, out_w, out_h) = dilate(&values, w, h, radius);
            assert_eq!((out_w, out_h), (w + 2 * radius, h + 2 * radius));
            assert_eq!(got, naive(&values, w, h, radius), "radius {radius}");
        }
    }

    #[test]
    fn one_pixel_grows_into_a_square() {
        let mut values = vec![0f32; 5 * 5];
        values[2 * 5 + 2] = 1.0;
        let (got, out_w, _) = dilate(&values, 5, 5, 1);
        let inked: Vec<(usize, usize)> =
            got.iter().enumerate().filter(|(_, v)| **v > 0.0).map(|(i, _)| (i % out_w, i / out_w)).collect();
        assert_eq!(inked, [(2, 2), (3, 2), (4, 2), (2, 3), (3, 3), (4, 3), (2, 4), (3, 4), (4, 4)]);
    }

    fn meter(rows: &[&[f32]]) -> StrokeMeter {
        let mut m = StrokeMeter::new(rows[0].len());
        for r in rows {
            m.add_row(r);
        }
        m
    }

    #[test]
    fn a_bar_measures_its_own_width() {
        // A bar 4 pixels wide and 40 tall: 2 * 160 / (2 * 40 + 2 * 4) = 3.6.
        let row = [0.0, 1.0, 1.0, 1.0, 1.0, 0.0];
        let rows: Vec<&[f32]> = (0..40).map(|_| &row[..]).collect();
        let m = meter(&rows);
        // 10% of 40 is 4: missing 0.4, half of it rounds to 0.
        assert_eq!(m.radius(40), 0);
        // 10% of 200 is 20: missing 16.4, half of it rounds to 8.
        assert_eq!(m.radius(200), 8);
    }

    #[test]
    fn faint_ink_is_not_measured() {
        let row = [0.0, 0.4, 0.4, 0.0];
        assert_eq!(meter(&[&row, &row]).radius(1000), 0);
    }
}
