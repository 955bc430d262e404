//! Pictures of paper: the light is evened out before the ink is read.
//!
//! A canvas drawing has one flat background colour. A phone photo of a digit
//! on paper does not: the light falls off across the page, a hand or the
//! phone casts a soft shadow, the paper has a tint and a grain, and JPEG adds
//! its own noise. Measured against one background level, as a drawing is, a
//! shadow is as dark as ink and the whole frame reads as one blot.
//!
//! So a picture whose background is not flat ([`is_photo`]) is flattened
//! first, in the way document scanners do ([`flatten`]):
//!
//! 1. **Working size.** A picture whose longer side exceeds [`WORK_SIDE`] is
//!    averaged down by a whole factor; a digit needs no more detail than that.
//! 2. **Polarity.** Dark ink on light paper, or chalk on a dark board: in
//!    each block, are the few outlying pixels darker or lighter than most?
//!    Light ink is inverted.
//! 3. **Background.** The frame is cut into blocks of about 1/[`BLOCKS`] of
//!    its longer side. Each block's paper level is its bright percentile
//!    ([`PAPER_PERCENTILE`]). A morphological closing of that grid, a max
//!    then a min filter over [`CLOSING_RADIUS`] blocks on each side, fills in
//!    blocks that a thick stroke covered, yet keeps light gradients and soft
//!    shadows where they are. Between block centres the level is interpolated
//!    bilinearly.
//! 4. **Ink** is each pixel's darkness against its own background,
//!    `1 - gray / background`: the same stroke has the same ink in the light
//!    and in the shadow, whatever the paper's tone or the pen's colour.
//! 5. **Threshold.** Otsu's threshold of that ink separates strokes from
//!    paper at any contrast, but never below the paper's own noise (its
//!    median plus [`NOISE_MADS`] median absolute deviations) nor below
//!    [`MIN_THRESHOLD`]. Pixels under it are paper (0); above it, ink ramps up
//!    to full at the strokes' typical contrast, keeping soft stroke edges.
//!
//! The result is a gray image, ink high on 0, that the rest of the pipeline
//! (segmentation, MNIST form) reads like any drawing.

use crate::ink::rgba_gray;
use crate::{ImageView, PixelFormat};

/// The longest side worked on; larger pictures are averaged down to it.
pub const WORK_SIDE: usize = 1024;
/// The background grid has about this many blocks along the longer side.
pub const BLOCKS: usize = 32;
/// A block's paper level: this percentile of its gray levels.
pub const PAPER_PERCENTILE: f32 = 0.9;
/// The closing that removes strokes from the background grid reaches this many blocks each way.
pub const CLOSING_RADIUS: usize = 3;
/// The ink threshold is at least this far above the paper's median ink, in median absolute deviations.
pub const NOISE_MADS: f32 = 6.0;
/// The ink threshold is never below this (on 0-1).
pub const MIN_THRESHOLD: f32 = 0.08;
/// In a photo, a digit is at least this share of the frame's shorter side tall.
pub const MIN_DIGIT_HEIGHT: f32 = 0.05;
/// A picture is a photo when fewer than this share of its pixels lie within
/// [`FLAT_LEVELS`] gray levels of its commonest level.
pub const FLAT_SHARE: f32 = 0.5;
/// How far from the commonest gray level a flat background may stray.
pub const FLAT_LEVELS: usize = 2;

/// The share of each block's pixels at either end compared to tell dark ink from light.
const TAIL: f32 = 0.02;
/// Sampled pixels looked at to decide whether a picture is a photo.
const SAMPLES: usize = 1 << 16;

/// A flattened photo: ink high on 0, at the working size.
pub(crate) struct Flattened {
    pub width: u32,
    pub height: u32,
    /// Source pixels per working pixel, along each side.
    pub factor: u32,
    /// Ink high on 0, one byte per pixel.
    pub ink: Vec<u8>,
}

impl Flattened {
    pub fn view(&self) -> ImageView<'_> {
        ImageView::sized(self.width, self.height, PixelFormat::Gray8, &self.ink)
    }
}

/// The gray level (0-255, composited over white) of pixel `i`.
fn gray_byte(image: &ImageView<'_>, i: usize) -> u8 {
    let px = image.pixels();
    match image.format() {
        PixelFormat::Gray8 => px[i],
        PixelFormat::Rgba8 => (rgba_gray(&px[i * 4..i * 4 + 4]) * 255.0).round() as u8,
    }
}

/// Whether `image` is a picture of paper rather than a drawing on a flat
/// background. A drawing's background is one colour, so most of its pixels
/// sit at one gray level; a photo's paper spreads over many. Pictures with a
/// transparent border are canvas drawings and never photos.
pub(crate) fn is_photo(image: &ImageView<'_>) -> bool {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let border: Vec<usize> = crate::ink::border(w, h).collect();
    if image.format() == PixelFormat::Rgba8 {
        let px = image.pixels();
        let transparent = border.iter().filter(|&&i| px[i * 4 + 3] < 128).count();
        if transparent * 2 > border.len() {
            return false;
        }
    }
    // A border of one flat level is a drawing's: no photo needs a full look.
    let mut levels = [0u32; 256];
    for &i in &border {
        levels[usize::from(gray_byte(image, i))] += 1;
    }
    if flat_share(&levels) >= 0.98 {
        return false;
    }
    let step = ((w * h) as f64 / SAMPLES as f64).sqrt().ceil().max(1.0) as usize;
    let mut levels = [0u32; 256];
    for y in (0..h).step_by(step) {
        for x in (0..w).step_by(step) {
            levels[usize::from(gray_byte(image, y * w + x))] += 1;
        }
    }
    flat_share(&levels) < FLAT_SHARE
}

/// The share of a histogram within [`FLAT_LEVELS`] of its commonest level.
fn flat_share(levels: &[u32; 256]) -> f32 {
    let total: u32 = levels.iter().sum();
    let mode = (0..256).max_by_key(|&v| levels[v]).unwrap_or(0);
    let near: u32 = levels[mode.saturating_sub(FLAT_LEVELS)..=(mode + FLAT_LEVELS).min(255)].iter().sum();
    near as f32 / total.max(1) as f32
}

/// Flattens a photo: its ink against a background estimated everywhere.
pub(crate) fn flatten(image: &ImageView<'_>) -> Flattened {
    let (width, height, factor, mut gray) = shrink(image);
    let (w, h) = (width as usize, height as usize);
    // Dark ink on light paper from here on.
    if light_ink(&gray, w, h) {
        gray.iter_mut().for_each(|g| *g = 255 - *g);
    }
    let background = Background::estimate(&gray, w, h);
    let mut ink = vec![0u8; w * h];
    let mut levels = [0u32; 256];
    let mut row_bg = vec![0f32; w];
    for y in 0..h {
        background.row(y, &mut row_bg);
        for ((o, &g), &bg) in ink[y * w..(y + 1) * w].iter_mut().zip(&gray[y * w..(y + 1) * w]).zip(&row_bg) {
            let v = (1.0 - f32::from(g) / bg.max(1.0)).clamp(0.0, 1.0);
            *o = (v * 255.0).round() as u8;
            levels[usize::from(*o)] += 1;
        }
    }
    let threshold = threshold(&levels);
    // Full ink at the strokes' typical contrast: the 90th percentile above the threshold.
    let full = percentile(&levels[usize::from(threshold)..], 0.9) + usize::from(threshold);
    let (lo, full) = (f32::from(threshold) / 2.0, (full as f32).max(f32::from(threshold) + 1.0));
    let ramp: [u8; 256] = std::array::from_fn(|v| {
        if v < usize::from(threshold) {
            0
        } else {
            ((v as f32 - lo) / (full - lo) * 255.0).clamp(0.0, 255.0).round() as u8
        }
    });
    ink.iter_mut().for_each(|v| *v = ramp[usize::from(*v)]);
    Flattened { width, height, factor, ink }
}

/// Whether the ink is lighter than the paper (chalk on a board, a negative).
/// Strokes are few pixels far from their block's median level, on one side:
/// below it for dark ink. Shadows and light cover large areas and move a
/// block's median with them, so they do not tip the balance, whatever their size.
/// On blank paper both sides are noise, and the ink is taken to be dark.
fn light_ink(gray: &[u8], w: usize, h: usize) -> bool {
    let block = w.max(h).div_ceil(BLOCKS).max(2);
    let columns = w.div_ceil(block);
    let mut histograms = vec![[0u32; 256]; columns];
    let (mut below, mut above) = (0u64, 0u64);
    for by in 0..h.div_ceil(block) {
        histograms.iter_mut().for_each(|hist| hist.fill(0));
        for y in by * block..((by + 1) * block).min(h) {
            for (x, &g) in gray[y * w..(y + 1) * w].iter().enumerate() {
                histograms[x / block][usize::from(g)] += 1;
            }
        }
        for hist in &histograms {
            let (dark, middle, light) = (percentile(hist, TAIL), percentile(hist, 0.5), percentile(hist, 1.0 - TAIL));
            below += (middle - dark) as u64;
            above += (light - middle) as u64;
        }
    }
    // Dark ink is by far the commoner: light ink must outweigh it clearly.
    above > 2 * below
}

/// The picture's gray levels, averaged down by a whole factor so that the
/// longer side is at most [`WORK_SIDE`]: `(width, height, factor, gray)`.
fn shrink(image: &ImageView<'_>) -> (u32, u32, u32, Vec<u8>) {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let factor = w.max(h).div_ceil(WORK_SIDE).max(1);
    let (sw, sh) = (w.div_ceil(factor), h.div_ceil(factor));
    let mut gray = vec![0u8; sw * sh];
    let mut sums = vec![0u32; sw];
    for sy in 0..sh {
        sums.fill(0);
        let rows = sy * factor..((sy + 1) * factor).min(h);
        let count_y = rows.len();
        for y in rows {
            for x in 0..w {
                sums[x / factor] += u32::from(gray_byte(image, y * w + x));
            }
        }
        for (sx, (g, &sum)) in gray[sy * sw..(sy + 1) * sw].iter_mut().zip(&sums).enumerate() {
            let count_x = ((sx + 1) * factor).min(w) - sx * factor;
            *g = (sum as f32 / (count_x * count_y) as f32).round() as u8;
        }
    }
    (sw as u32, sh as u32, factor as u32, gray)
}

/// The paper's level on a coarse grid of blocks, read between block centres.
struct Background {
    block: usize,
    columns: usize,
    rows: usize,
    levels: Vec<f32>,
}

impl Background {
    fn estimate(gray: &[u8], w: usize, h: usize) -> Self {
        let block = w.max(h).div_ceil(BLOCKS).max(2);
        let (columns, rows) = (w.div_ceil(block), h.div_ceil(block));
        let mut levels = vec![0f32; columns * rows];
        let mut histograms = vec![[0u32; 256]; columns];
        for by in 0..rows {
            histograms.iter_mut().for_each(|hist| hist.fill(0));
            for y in by * block..((by + 1) * block).min(h) {
                for (x, &g) in gray[y * w..(y + 1) * w].iter().enumerate() {
                    histograms[x / block][usize::from(g)] += 1;
                }
            }
            for (bx, hist) in histograms.iter().enumerate() {
                levels[by * columns + bx] = percentile(hist, PAPER_PERCENTILE) as f32;
            }
        }
        // Closing: strokes are darker than paper, so a max filter removes
        // them and the min filter after it puts gradients back in place.
        let dilated = filter(&levels, columns, rows, f32::max);
        let levels = filter(&dilated, columns, rows, f32::min);
        Self { block, columns, rows, levels }
    }

    /// The background of row `y`, one value per pixel.
    fn row(&self, y: usize, out: &mut [f32]) {
        // Block centres sit at (i + 0.5) * block; clamp beyond the outer ones.
        let at = |p: usize, n: usize| {
            let c = ((p as f32 + 0.5) / self.block as f32 - 0.5).clamp(0.0, (n - 1) as f32);
            let i = (c.floor() as usize).min(n.saturating_sub(2));
            (i, (i + 1).min(n - 1), c - i as f32)
        };
        let (r0, r1, fy) = at(y, self.rows);
        let line: Vec<f32> = (0..self.columns)
            .map(|c| self.levels[r0 * self.columns + c] * (1.0 - fy) + self.levels[r1 * self.columns + c] * fy)
            .collect();
        for (x, o) in out.iter_mut().enumerate() {
            let (c0, c1, fx) = at(x, self.columns);
            *o = line[c0] * (1.0 - fx) + line[c1] * fx;
        }
    }
}

/// A square filter of radius [`CLOSING_RADIUS`] over a grid, `pick` choosing between two values.
fn filter(grid: &[f32], columns: usize, rows: usize, pick: fn(f32, f32) -> f32) -> Vec<f32> {
    let r = CLOSING_RADIUS;
    let mut across = vec![0f32; grid.len()];
    for y in 0..rows {
        for x in 0..columns {
            let row = &grid[y * columns..(y + 1) * columns];
            across[y * columns + x] =
                row[x.saturating_sub(r)..=(x + r).min(columns - 1)].iter().copied().reduce(pick).unwrap_or(0.0);
        }
    }
    let mut out = vec![0f32; grid.len()];
    for y in 0..rows {
        for x in 0..columns {
            out[y * columns + x] = (y.saturating_sub(r)..=(y + r).min(rows - 1))
                .map(|yy| across[yy * columns + x])
                .reduce(pick)
                .unwrap_or(0.0);
        }
    }
    out
}

/// The value below which `share` of a histogram's counts lie.
fn percentile(levels: &[u32], share: f32) -> usize {
    let total: u64 = levels.iter().map(|&n| u64::from(n)).sum();
    let target = (total as f64 * f64::from(share)).ceil() as u64;
    let mut seen = 0u64;
    for (v, &n) in levels.iter().enumerate() {
        seen += u64::from(n);
        if seen >= target.max(1) {
            return v;
        }
    }
    levels.len().saturating_sub(1)
}

/// The ink level that separates strokes from paper (see the module's step 5).
fn threshold(levels: &[u32; 256]) -> u8 {
    let median = percentile(levels, 0.5);
    let mut deviations = [0u32; 256];
    for (v, &n) in levels.iter().enumerate() {
        deviations[v.abs_diff(median)] += n;
    }
    let mad = percentile(&deviations, 0.5).max(1) as f32 * 1.4826;
    let floor = (median as f32 + NOISE_MADS * mad).max(MIN_THRESHOLD * 255.0);
    otsu(levels).max(floor.round().min(254.0) as usize) as u8
}

/// Otsu's threshold: the level that maximises the variance between the two classes it makes.
fn otsu(levels: &[u32; 256]) -> usize {
    let total: f64 = levels.iter().map(|&n| f64::from(n)).sum();
    let sum: f64 = levels.iter().enumerate().map(|(v, &n)| v as f64 * f64::from(n)).sum();
    let (mut below, mut below_sum, mut best, mut best_at) = (0.0, 0.0, -1.0, 0);
    for (v, &n) in levels.iter().enumerate() {
        below += f64::from(n);
        below_sum += v as f64 * f64::from(n);
        let above = total - below;
        if below == 0.0 || above == 0.0 {
            continue;
        }
        let between = below * above * (below_sum / below - (sum - below_sum) / above).powi(2);
        if between > best {
            best = between;
            best_at = v + 1;
        }
    }
    best_at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otsu_splits_two_peaks() {
        let mut levels = [0u32; 256];
        levels[10] = 1000;
        levels[200] = 50;
        let t = otsu(&levels);
        assert!((11..=200).contains(&t), "{t}");
    }

    #[test]
    fn a_flat_drawing_is_not_a_photo_and_a_lit_page_is() {
        let (w, h) = (120usize, 90usize);
        let mut drawing = vec![255u8; w * h];
        drawing[40 * w + 10..40 * w + 100].fill(0);
        let view = ImageView::new(w as u32, h as u32, PixelFormat::Gray8, &drawing).expect("view");
        assert!(!is_photo(&view));
        let page: Vec<u8> = (0..w * h).map(|i| 150 + (i % w * 90 / w) as u8 + (i % 7) as u8).collect();
        let view = ImageView::new(w as u32, h as u32, PixelFormat::Gray8, &page).expect("view");
        assert!(is_photo(&view));
    }

    #[test]
    fn a_shadow_is_paper_and_a_stroke_in_it_is_ink() {
        // Paper lit from the left, a soft shadow over the right half, and a
        // vertical stroke that crosses into the shadow.
        let (w, h) = (300usize, 200usize);
        let mut page = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                let light = 230.0 - 60.0 * x as f32 / w as f32;
                let shadow = 1.0 - 0.45 / (1.0 + (-(x as f32 - 180.0) / 12.0).exp());
                let stroke = if (140..150).contains(&x) && (40..160).contains(&y) { 0.35 } else { 1.0 };
                page[y * w + x] = (light * shadow * stroke + (x * 7 + y * 13) as f32 % 5.0) as u8;
            }
        }
        let view = ImageView::new(w as u32, h as u32, PixelFormat::Gray8, &page).expect("view");
        assert!(is_photo(&view));
        let flat = flatten(&view);
        let inked: Vec<(usize, usize)> = (0..w * h).filter(|&i| flat.ink[i] > 25).map(|i| (i % w, i / w)).collect();
        assert!(inked.iter().all(|&(x, y)| (138..152).contains(&x) && (38..162).contains(&y)), "{:?}", &inked[..5]);
        assert!(inked.len() >= 10 * 120 * 9 / 10);
    }
}
