//! Splits a drawing into the digits it holds, left to right.
//!
//! 1. **Strokes.** The pixels with ink above [`INK_THRESHOLD`] are grouped
//!    into connected pieces (8-neighbourhood), row run by row run with a
//!    union-find, so the cost follows the ink, not the image's area.
//! 2. **Specks.** Pieces no larger than [`SPECK_SIDE`] stroke widths, with
//!    little ink, away from every larger piece (dust, a dot, JPEG noise),
//!    are dropped.
//! 3. **Digits.** Pieces whose columns overlap by at least half of the
//!    narrower one's width are one digit: the two strokes of a 4 or a 7.
//!    Pieces separated by a gap of empty columns, or that overlap only a
//!    little (a slanted neighbour), are different digits.
//! 4. **Fragments.** A piece less than half as tall as the tallest digit
//!    (the lifted top bar of a 5, a bit of a broken stroke) joins the digit
//!    whose columns it overlaps most; one that overlaps none joins the digit
//!    just left of it, when the gap is under a quarter of the tallest digit's
//!    height (a 5's bar drawn off to the right of its stem).
//! 5. **Stray marks.** A digit with under [`STRAY_SHARE`] of the ink of the
//!    largest one is a speck of dust or a slip of the pen, and is dropped.
//! 6. Each digit goes through the MNIST procedure on its own ink alone: the
//!    ink of the other digits inside its box is left out.
//!
//! Digits that touch each other form one piece and are read as one (most
//! often as not a digit). More than [`MAX_PARTS`] digits are read as a
//! single piece too.

use crate::ink::{Bounds, Ink};
use crate::{
    INK_THRESHOLD, ImageView, Limits, MnistImage, PreprocessError, min_ink_pixels, mnist, photo, resample, tap,
};

/// The most digits one drawing is split into.
pub const MAX_PARTS: usize = 8;
/// A digit with less than this share of the largest digit's ink pixels is a stray mark.
pub const STRAY_SHARE: f32 = 0.03;
/// A piece no larger than this many stroke widths either way is a speck...
pub const SPECK_SIDE: f32 = 2.0;
/// ...when it also has less than this share of the largest piece's ink, and
/// lies outside every larger piece's box widened by [`SPECK_REACH`] stroke
/// widths (at most half that piece's larger side). Specks are dropped before
/// pieces become digits.
pub const SPECK_SHARE: f32 = 0.1;
/// How many stroke widths beyond a piece's box a small piece still belongs
/// to it (a bit of a broken stroke).
pub const SPECK_REACH: usize = 3;
/// Pieces whose column ranges overlap by at least this share of the narrower
/// one's width belong to one digit.
pub const OVERLAP_SHARE: f32 = 0.5;
/// A piece less tall than this share of the tallest digit is a fragment of
/// the digit it overlaps.
pub const FRAGMENT_HEIGHT: f32 = 0.5;
/// A fragment that overlaps no digit joins the one to its left when the gap
/// is under this share of the tallest digit's height.
pub const FRAGMENT_GAP: f32 = 0.25;

/// A rectangle of pixels in the submitted image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Rect {
    /// This rectangle in an image `factor` times larger, kept inside its `width x height`.
    fn scaled(self, factor: u32, width: u32, height: u32) -> Self {
        let (x, y) = ((self.x * factor).min(width - 1), (self.y * factor).min(height - 1));
        Self { x, y, width: (self.width * factor).min(width - x), height: (self.height * factor).min(height - y) }
    }
}

impl From<Bounds> for Rect {
    fn from(b: Bounds) -> Self {
        Self { x: b.x0 as u32, y: b.y0 as u32, width: b.width() as u32, height: b.height() as u32 }
    }
}

/// One digit of a drawing: where it is and what the model should see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Its bounding box in the image (ink above the threshold).
    pub bounds: Rect,
    /// Its MNIST form.
    pub image: MnistImage,
}

/// A horizontal run of ink pixels in one row.
#[derive(Debug, Clone, Copy)]
struct Run {
    y: usize,
    x0: usize,
    x1: usize,
}

/// A group of runs: a piece of ink, then a digit.
#[derive(Debug, Clone)]
struct Group {
    bounds: Bounds,
    pixels: usize,
    runs: Vec<usize>,
}

impl Group {
    fn merge(&mut self, other: Self) {
        self.bounds = Bounds {
            x0: self.bounds.x0.min(other.bounds.x0),
            y0: self.bounds.y0.min(other.bounds.y0),
            x1: self.bounds.x1.max(other.bounds.x1),
            y1: self.bounds.y1.max(other.bounds.y1),
        };
        self.pixels += other.pixels;
        self.runs.extend(other.runs);
    }

    /// How many columns the two groups share.
    fn shared_columns(&self, other: &Self) -> usize {
        let (a, b) = (self.bounds, other.bounds);
        (a.x1.min(b.x1) + 1).saturating_sub(a.x0.max(b.x0))
    }

    /// Whether `other`'s columns overlap this group's enough to be the same digit.
    fn overlaps(&self, other: &Self) -> bool {
        let shared = self.shared_columns(other);
        shared > 0 && shared as f32 >= OVERLAP_SHARE * self.bounds.width().min(other.bounds.width()) as f32
    }
}

/// The digits of `image`, left to right, each in MNIST form.
///
/// A drawing of one digit gives one part whose image is exactly what
/// [`crate::to_mnist`] gives, unless stray marks were dropped.
///
/// # Errors
/// [`PreprocessError::TooLarge`] when `image` exceeds `limits`,
/// [`PreprocessError::Empty`] when it holds too little ink to be a digit, and
/// [`PreprocessError::TooSmall`] when its ink is a tap or a dot.
pub fn to_parts(image: &ImageView<'_>, limits: &Limits) -> Result<Vec<Part>, PreprocessError> {
    limits.check(image.width(), image.height())?;
    if photo::is_photo(image) {
        let flat = photo::flatten(image);
        let mut parts = parts_of(&flat.view())?;
        // A photo's digit fills a fair share of the frame; the few pixels
        // left where a shadow's edge meets the border do not.
        let least = (photo::MIN_DIGIT_HEIGHT * flat.width.min(flat.height) as f32).ceil() as u32;
        let tallest = parts.iter().map(|p| p.bounds.height).max().unwrap_or(0);
        parts.retain(|p| p.bounds.height >= least);
        if parts.is_empty() {
            return Err(PreprocessError::NoDigit { tallest, required: least });
        }
        for part in &mut parts {
            part.bounds = part.bounds.scaled(flat.factor, image.width(), image.height());
        }
        return Ok(parts);
    }
    parts_of(image)
}

/// The parts of a drawing (ink on a flat background).
fn parts_of(image: &ImageView<'_>) -> Result<Vec<Part>, PreprocessError> {
    let ink = Ink::detect(image);
    // The same emptiness rule as one digit, over the whole drawing.
    let all = ink.bounds(min_ink_pixels(image))?;
    // The ink inside the drawing's box, read once for splitting and fitting.
    let mut crop = vec![0f32; all.width() * all.height()];
    for (y, row) in (all.y0..).zip(crop.chunks_mut(all.width())) {
        ink.row(y, all.x0, row);
    }
    tap::refuse_taps(&crop, all.width(), all.height())?;
    let runs = runs(&crop, all);
    let mut groups = digits(without_specks(pieces(&runs), stroke_width(&runs)));
    if groups.len() > MAX_PARTS {
        let mut one = groups.remove(0);
        for g in groups.drain(..) {
            one.merge(g);
        }
        groups.push(one);
    }
    let owner = owners(&groups, runs.len());
    Ok(groups
        .iter()
        .enumerate()
        .map(|(index, group)| {
            // Leave out the runs of every other digit inside this one's box.
            let fitted = resample::fit_box_with(group.bounds, |y, x0, row| {
                row.copy_from_slice(&crop[(y - all.y0) * all.width() + x0 - all.x0..][..row.len()]);
                for r in runs_in_row(&runs, y) {
                    if owner[r] != index {
                        let run = runs[r];
                        let (from, to) = (run.x0.max(x0), (run.x1 + 1).min(x0 + row.len()));
                        if from < to {
                            row[from - x0..to - x0].fill(0.0);
                        }
                    }
                }
            });
            Part { bounds: group.bounds.into(), image: mnist::centre(&fitted) }
        })
        .collect())
}

/// The runs of ink of every row of `crop`, the ink inside `within`, top to bottom.
fn runs(crop: &[f32], within: Bounds) -> Vec<Run> {
    let mut out = Vec::new();
    for (y, row) in (within.y0..).zip(crop.chunks(within.width())) {
        let mut start = None;
        for (i, &v) in row.iter().chain(std::iter::once(&0.0)).enumerate() {
            match (v > INK_THRESHOLD, start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    out.push(Run { y, x0: within.x0 + s, x1: within.x0 + i - 1 });
                    start = None;
                }
                _ => {}
            }
        }
    }
    out
}

/// Indices of the runs of row `y` (runs are sorted by row).
fn runs_in_row(runs: &[Run], y: usize) -> std::ops::Range<usize> {
    let start = runs.partition_point(|r| r.y < y);
    let end = runs.partition_point(|r| r.y <= y);
    start..end
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Connected pieces of ink (8-neighbourhood), in no particular order.
fn pieces(runs: &[Run]) -> Vec<Group> {
    let mut parent: Vec<usize> = (0..runs.len()).collect();
    let mut previous = 0..0;
    let mut y_prev = usize::MAX;
    let mut i = 0;
    while i < runs.len() {
        let y = runs[i].y;
        let current = runs_in_row(runs, y);
        if y_prev != usize::MAX && y_prev + 1 == y {
            // Two-pointer sweep: runs touch when their columns, widened by one, overlap.
            let (mut a, mut b) = (previous.start, current.start);
            while a < previous.end && b < current.end {
                let (p, c) = (runs[a], runs[b]);
                if p.x0 <= c.x1 + 1 && c.x0 <= p.x1 + 1 {
                    let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
                    parent[ra.max(rb)] = ra.min(rb);
                }
                if p.x1 < c.x1 {
                    a += 1;
                } else {
                    b += 1;
                }
            }
        }
        y_prev = y;
        i = current.end;
        previous = current;
    }
    let mut by_root: std::collections::BTreeMap<usize, Group> = std::collections::BTreeMap::new();
    for (r, run) in runs.iter().enumerate() {
        let root = find(&mut parent, r);
        let bounds = Bounds { x0: run.x0, y0: run.y, x1: run.x1, y1: run.y };
        let one = Group { bounds, pixels: run.x1 - run.x0 + 1, runs: vec![r] };
        match by_root.get_mut(&root) {
            Some(g) => g.merge(one),
            None => {
                by_root.insert(root, one);
            }
        }
    }
    by_root.into_values().collect()
}

/// The drawing's stroke width: the median length of its runs of ink. Most
/// runs cross a stroke; the long ones along a horizontal bar are fewer.
fn stroke_width(runs: &[Run]) -> usize {
    let mut lengths: Vec<usize> = runs.iter().map(|r| r.x1 - r.x0 + 1).collect();
    if lengths.is_empty() {
        return 1;
    }
    let middle = lengths.len() / 2;
    *lengths.select_nth_unstable(middle).1
}

/// Drops specks: dust, a dot, JPEG noise (see [`SPECK_SIDE`] and
/// [`SPECK_SHARE`]). A small piece inside or near a larger piece's box
/// (the dot-like end of a broken stroke) stays, to join its digit.
fn without_specks(pieces: Vec<Group>, stroke: usize) -> Vec<Group> {
    let largest = pieces.iter().map(|g| g.pixels).max().unwrap_or(0);
    let side = (SPECK_SIDE * stroke as f32).max(1.0) as usize;
    let is_speck =
        |g: &Group| g.bounds.width().max(g.bounds.height()) <= side && (g.pixels as f32) < SPECK_SHARE * largest as f32;
    let (specks, mut kept): (Vec<Group>, Vec<Group>) = pieces.into_iter().partition(is_speck);
    let near = |speck: &Group, g: &Group| {
        let (s, b) = (speck.bounds, g.bounds);
        // Thick strokes on a small digit would reach far past it: at most half its size.
        let reach = (SPECK_REACH * stroke).min(b.width().max(b.height()) / 2);
        s.x1 + reach >= b.x0 && s.x0 <= b.x1 + reach && s.y1 + reach >= b.y0 && s.y0 <= b.y1 + reach
    };
    let joined: Vec<Group> = specks.into_iter().filter(|s| kept.iter().any(|g| near(s, g))).collect();
    kept.extend(joined);
    kept
}

/// Merges pieces into digits, drops stray marks, and orders them left to right.
fn digits(groups: Vec<Group>) -> Vec<Group> {
    let groups = merge_overlapping(groups);
    // Fragments join the digit they overlap most; the tallest digit sets the scale.
    let tallest = groups.iter().map(|g| g.bounds.height()).max().unwrap_or(0);
    let (fragments, mut whole): (Vec<Group>, Vec<Group>) =
        groups.into_iter().partition(|g| (g.bounds.height() as f32) < FRAGMENT_HEIGHT * tallest as f32);
    for fragment in fragments {
        let overlapped = whole
            .iter()
            .enumerate()
            .map(|(i, g)| (g.shared_columns(&fragment), i))
            .filter(|(shared, _)| *shared > 0)
            .max_by_key(|(shared, _)| *shared)
            .map(|(_, i)| i);
        let max_gap = FRAGMENT_GAP * tallest as f32;
        let left = || {
            whole
                .iter()
                .enumerate()
                .filter(|(_, g)| g.bounds.x1 < fragment.bounds.x0)
                .min_by_key(|(_, g)| fragment.bounds.x0 - g.bounds.x1)
                .filter(|(_, g)| ((fragment.bounds.x0 - g.bounds.x1) as f32) < max_gap)
                .map(|(i, _)| i)
        };
        match overlapped.or_else(left) {
            Some(i) => whole[i].merge(fragment),
            None => whole.push(fragment),
        }
    }
    let mut groups = merge_overlapping(whole);
    let largest = groups.iter().map(|g| g.pixels).max().unwrap_or(0);
    groups.retain(|g| g.pixels as f32 >= STRAY_SHARE * largest as f32);
    groups.sort_by_key(|g| (g.bounds.x0, g.bounds.y0));
    groups
}

/// Merges groups until no two overlap enough; each merge widens a group, so repeat.
fn merge_overlapping(mut groups: Vec<Group>) -> Vec<Group> {
    loop {
        groups.sort_by_key(|g| (g.bounds.x0, g.bounds.y0));
        let mut merged = false;
        let mut out: Vec<Group> = Vec::with_capacity(groups.len());
        for g in groups {
            match out.iter_mut().find(|o| o.overlaps(&g)) {
                Some(o) => {
                    o.merge(g);
                    merged = true;
                }
                None => out.push(g),
            }
        }
        groups = out;
        if !merged {
            return groups;
        }
    }
}

/// For each run, the index of the digit it belongs to (`usize::MAX` for a stray mark).
fn owners(groups: &[Group], runs: usize) -> Vec<usize> {
    let mut owner = vec![usize::MAX; runs];
    for (i, g) in groups.iter().enumerate() {
        for &r in &g.runs {
            owner[r] = i;
        }
    }
    owner
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(x0: usize, x1: usize) -> Group {
        Group { bounds: Bounds { x0, y0: 0, x1, y1: 10 }, pixels: 50, runs: vec![] }
    }

    #[test]
    fn a_short_piece_joins_the_digit_it_overlaps_most() {
        // The lifted top bar of a 5, wider than the body and overlapping a third of it.
        let body = Group { bounds: Bounds { x0: 40, y0: 20, x1: 130, y1: 180 }, pixels: 900, runs: vec![] };
        let bar = Group { bounds: Bounds { x0: 100, y0: 0, x1: 190, y1: 18 }, pixels: 200, runs: vec![] };
        let next = Group { bounds: Bounds { x0: 200, y0: 20, x1: 260, y1: 180 }, pixels: 900, runs: vec![] };
        let found = digits(vec![body, bar, next]);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].bounds, Bounds { x0: 40, y0: 0, x1: 190, y1: 180 });
        // A bar drawn off to the right of its stem joins the digit on its left.
        let stem = Group { bounds: Bounds { x0: 40, y0: 20, x1: 130, y1: 180 }, pixels: 900, runs: vec![] };
        let bar = Group { bounds: Bounds { x0: 150, y0: 0, x1: 200, y1: 18 }, pixels: 200, runs: vec![] };
        assert_eq!(digits(vec![stem, bar]).len(), 1);
        // A short piece far from any digit stays a part of its own (here: a minus sign).
        let minus = Group { bounds: Bounds { x0: 300, y0: 90, x1: 340, y1: 100 }, pixels: 300, runs: vec![] };
        let one = Group { bounds: Bounds { x0: 40, y0: 20, x1: 60, y1: 180 }, pixels: 900, runs: vec![] };
        assert_eq!(digits(vec![one, minus]).len(), 2);
    }

    #[test]
    fn pieces_overlapping_by_half_the_narrower_are_one_digit() {
        assert!(group(0, 9).overlaps(&group(5, 30)));
        assert!(!group(0, 9).overlaps(&group(6, 30)));
        assert!(!group(0, 9).overlaps(&group(12, 30)));
        assert_eq!(digits(vec![group(0, 9), group(5, 30), group(40, 50)]).len(), 2);
    }

    #[test]
    fn diagonal_neighbours_are_connected() {
        let runs = [Run { y: 0, x0: 0, x1: 0 }, Run { y: 1, x0: 1, x1: 1 }, Run { y: 1, x0: 3, x1: 4 }];
        let mut found = pieces(&runs);
        found.sort_by_key(|g| g.bounds.x0);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].pixels, 2);
    }
}
