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
        let mut left = false;
        for (above, &v) in self.previous.iter_mut().zip(row) {
            let ink = v > STROKE_INK;
            self.area += u64::from(ink);
            self.edges += u64::from(ink != left) + u64::from(ink != *above);
            left = ink;
            *above = ink;
        }
        self.edges += u64::from(left);
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
    // Horizontal: each row padded by `2r` zeros per side, then its running max.
    let mut line = vec![0f32; width + 4 * radius];
    let (mut prefix, mut suffix) = (vec![0f32; line.len()], vec![0f32; line.len()]);
    let mut rows = vec![0f32; height * out_w];
    for (src, dst) in values.chunks(width).zip(rows.chunks_mut(out_w)) {
        line[2 * radius..][..width].copy_from_slice(src);
        running_max(&line, window, &mut prefix, &mut suffix, dst);
    }
    // Vertical: the same over whole rows at once, with `2r` zero rows above and below.
    let mut padded = vec![0f32; (height + 4 * radius) * out_w];
    padded[2 * radius * out_w..][..height * out_w].copy_from_slice(&rows);
    let mut out = vec![0f32; out_h * out_w];
    running_max_rows(&padded, out_w, window, &mut out);
    (out, out_w, out_h)
}

/// `out[i] = max(src[i..i + window])`, in constant time per value
/// (van Herk / Gil-Werman: prefix and suffix maxima within blocks of
/// `window`, kept in the caller's `prefix` and `suffix`, as long as `src`).
fn running_max(src: &[f32], window: usize, prefix: &mut [f32], suffix: &mut [f32], out: &mut [f32]) {
    let n = src.len();
    for start in (0..n).step_by(window) {
        let end = (start + window).min(n);
        let mut m = f32::MIN;
        for i in start..end {
            m = m.max(src[i]);
            prefix[i] = m;
        }
        let mut m = f32::MIN;
        for i in (start..end).rev() {
            m = m.max(src[i]);
            suffix[i] = m;
        }
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = suffix[i].max(prefix[i + window - 1]);
    }
}

/// [`running_max`] down the columns of `src` (rows of `width`), whole rows at a time.
fn running_max_rows(src: &[f32], width: usize, window: usize, out: &mut [f32]) {
    let n = src.len() / width;
    let mut prefix = vec![0f32; src.len()];
    let mut suffix = vec![0f32; src.len()];
    let row = |i: usize| i * width..(i + 1) * width;
    for start in (0..n).step_by(window) {
        let end = (start + window).min(n);
        prefix[row(start)].copy_from_slice(&src[row(start)]);
        for i in start + 1..end {
            let (before, this) = prefix.split_at_mut(i * width);
            for ((p, &q), &s) in this[..width].iter_mut().zip(&before[(i - 1) * width..]).zip(&src[row(i)]) {
                *p = q.max(s);
            }
        }
        suffix[row(end - 1)].copy_from_slice(&src[row(end - 1)]);
        for i in (start..end - 1).rev() {
            let (this, after) = suffix.split_at_mut((i + 1) * width);
            for ((p, &q), &s) in this[i * width..].iter_mut().zip(&after[..width]).zip(&src[row(i)]) {
                *p = q.max(s);
            }
        }
    }
    for (i, o) in out.chunks_mut(width).enumerate() {
        let (s, p) = (&suffix[row(i)], &prefix[row(i + window - 1)]);
        for ((o, &a), &b) in o.iter_mut().zip(s).zip(p) {
            *o = a.max(b);
        }
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
        for radius in 1..=5 {
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
