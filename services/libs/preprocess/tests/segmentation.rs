//! Splitting drawings into digits: numbers made of real MNIST digits drawn
//! side by side, digits made of several strokes, stray marks, and the limits.

use digits_preprocess::{ImageView, Limits, MAX_PARTS, MnistImage, Part, PixelFormat, Rect, to_mnist, to_parts};
use proptest::prelude::*;

/// A gray canvas, ink high on 0.
struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Self {
        Self { width, height, pixels: vec![0; width * height] }
    }

    fn parts(&self) -> Vec<Part> {
        let view =
            ImageView::new(self.width as u32, self.height as u32, PixelFormat::Gray8, &self.pixels).expect("view");
        to_parts(&view, &Limits::default()).expect("ink")
    }

    fn mnist(&self) -> MnistImage {
        let view =
            ImageView::new(self.width as u32, self.height as u32, PixelFormat::Gray8, &self.pixels).expect("view");
        to_mnist(&view, &Limits::default()).expect("ink")
    }

    /// Paints `digit` (28x28, ink high) enlarged `scale` times with its top-left corner at `(x, y)`.
    /// Pixels that fall off the canvas are left out.
    fn paint(&mut self, digit: &[u8], x: isize, y: isize, scale: usize) {
        for (i, &v) in digit.iter().enumerate() {
            let (dx, dy) = ((i % 28 * scale) as isize, (i / 28 * scale) as isize);
            for sy in 0..scale as isize {
                for sx in 0..scale as isize {
                    let (px, py) = (x + dx + sx, y + dy + sy);
                    if (0..self.width as isize).contains(&px) && (0..self.height as isize).contains(&py) {
                        let p = &mut self.pixels[py as usize * self.width + px as usize];
                        *p = (*p).max(v);
                    }
                }
            }
        }
    }

    /// A filled rectangle of full ink.
    fn block(&mut self, x: usize, y: usize, w: usize, h: usize) {
        for row in y..y + h {
            self.pixels[row * self.width + x..row * self.width + x + w].fill(255);
        }
    }
}

/// The columns of a 28x28 digit that hold ink above the threshold (first, last).
fn columns(digit: &[u8]) -> (usize, usize) {
    let inked: Vec<usize> = (0..28).filter(|&x| (0..28).any(|y| digit[y * 28 + x] > 25)).collect();
    (inked[0], inked[inked.len() - 1])
}

/// Writes `digits` side by side, `gap` pixels of empty columns between their
/// inks, at `scale`, from `(x, y)`. Returns the canvas.
fn number(digits: &[&[u8]], scale: usize, gap: usize, x: usize, y: usize, width: usize, height: usize) -> Canvas {
    let mut canvas = Canvas::new(width, height);
    let mut left = x;
    for digit in digits {
        let (first, last) = columns(digit);
        canvas.paint(digit, left as isize - (first * scale) as isize, y as isize, scale);
        left += (last - first + 1) * scale + gap;
    }
    canvas
}

/// The MNIST form of one digit drawn alone at the same scale.
fn alone(digit: &[u8], scale: usize) -> MnistImage {
    let mut canvas = Canvas::new(28 * scale + 20, 28 * scale + 20);
    canvas.paint(digit, 10, 10, scale);
    canvas.mnist()
}

/// The MNIST test digits whose ink is one connected piece, so that how they
/// split depends on the segmentation alone.
fn whole_digits(count: usize) -> Vec<Vec<u8>> {
    static TEST: std::sync::OnceLock<digits_mnist_idx::Split> = std::sync::OnceLock::new();
    let test = TEST.get_or_init(|| digits_mnist_idx::test_set().expect("MNIST test set (set DIGITS_MNIST_DIR)"));
    test.images
        .iter()
        .filter(|d| {
            let mut c = Canvas::new(28, 28);
            c.pixels.copy_from_slice(&d[..]);
            c.parts().len() == 1
        })
        .take(count)
        .map(|d| d.to_vec())
        .collect()
}

#[test]
fn a_drawing_of_one_digit_is_one_part_equal_to_its_mnist_form() {
    let test = digits_mnist_idx::test_set().expect("MNIST test set (set DIGITS_MNIST_DIR)");
    let mut same = 0;
    for digit in test.images.iter().take(1000) {
        let mut canvas = Canvas::new(160, 160);
        canvas.paint(digit, 10, 10, 5);
        let parts = canvas.parts();
        if parts.len() == 1 && parts[0].image == canvas.mnist() {
            same += 1;
        }
    }
    // The rest are digits with a piece that MNIST's own scan broke off
    // and that does not overlap the body (a few in a thousand).
    assert!(same >= 990, "only {same} of 1000 digits were one part equal to to_mnist");
}

#[test]
fn numbers_split_into_their_digits_left_to_right() {
    let digits = whole_digits(120);
    for (n, chunk) in digits.chunks(4).enumerate() {
        let len = 2 + n % 3;
        let picked: Vec<&[u8]> = chunk.iter().take(len).map(Vec::as_slice).collect();
        let canvas = number(&picked, 4, 12, 20, 20, 600, 160);
        let parts = canvas.parts();
        assert_eq!(parts.len(), len, "number {n} split into {} parts", parts.len());
        for (i, (part, digit)) in parts.iter().zip(&picked).enumerate() {
            assert_eq!(part.image, alone(digit, 4), "number {n}, digit {i} differs from the same digit alone");
        }
        assert!(parts.windows(2).all(|w| w[0].bounds.x + w[0].bounds.width <= w[1].bounds.x), "left to right");
    }
}

#[test]
fn the_strokes_of_one_digit_stay_together() {
    // A "5" in two strokes: the top bar lifted off the body, over it.
    let mut five = Canvas::new(200, 200);
    five.block(60, 40, 70, 10); // bar
    five.block(60, 56, 10, 40); // down stroke, not touching the bar
    five.block(60, 96, 60, 10); // belly
    five.block(110, 96, 10, 60);
    five.block(50, 150, 70, 10);
    assert_eq!(five.parts().len(), 1);
    // A "4" whose upright does not touch the rest.
    let mut four = Canvas::new(200, 200);
    four.block(50, 30, 10, 70);
    four.block(50, 100, 90, 10);
    four.block(115, 30, 10, 140);
    let parts = four.parts();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].bounds, Rect { x: 50, y: 30, width: 90, height: 140 });
}

#[test]
fn a_stray_mark_is_dropped_and_the_digit_read_without_it() {
    let digit = &whole_digits(1)[0];
    let mut clean = Canvas::new(300, 200);
    clean.paint(digit, 20, 20, 5);
    let mut marked = Canvas::new(300, 200);
    marked.paint(digit, 20, 20, 5);
    marked.block(260, 180, 3, 3);
    let parts = marked.parts();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].image, clean.mnist());
}

#[test]
fn the_ink_of_a_neighbour_inside_a_digits_box_is_left_out() {
    // Two bars side by side, the second with a foot reaching under the first.
    let mut canvas = Canvas::new(300, 200);
    canvas.block(40, 20, 12, 120);
    canvas.block(70, 20, 12, 140);
    canvas.block(47, 150, 35, 10); // reaches from x=47 to x=81, under the first bar
    let parts = canvas.parts();
    assert_eq!(parts.len(), 2, "the foot overlaps the first bar by less than half of it");
    let mut alone = Canvas::new(300, 200);
    alone.block(40, 20, 12, 120);
    assert_eq!(parts[0].image, alone.mnist());
}

#[test]
fn too_many_pieces_are_read_as_one() {
    let mut canvas = Canvas::new(600, 100);
    for i in 0..=MAX_PARTS {
        canvas.block(10 + i * 40, 20, 10, 50);
    }
    let parts = canvas.parts();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].image, canvas.mnist());
    let mut canvas = Canvas::new(600, 100);
    for i in 0..MAX_PARTS {
        canvas.block(10 + i * 40, 20, 10, 50);
    }
    assert_eq!(canvas.parts().len(), MAX_PARTS);
}

#[test]
fn touching_digits_are_one_part() {
    let digits = whole_digits(2);
    let picked: Vec<&[u8]> = digits.iter().map(Vec::as_slice).collect();
    let mut canvas = number(&picked, 4, 8, 20, 20, 400, 160);
    canvas.block(20, 70, 200, 6); // a line through both
    assert_eq!(canvas.parts().len(), 1);
}

#[test]
fn an_empty_drawing_is_still_an_error() {
    let canvas = Canvas::new(100, 100);
    let view = ImageView::new(100, 100, PixelFormat::Gray8, &canvas.pixels).expect("view");
    assert!(to_parts(&view, &Limits::default()).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The same number anywhere on the canvas splits into the same parts, moved.
    #[test]
    fn shifting_a_number_gives_the_same_parts(dx in 0usize..200, dy in 0usize..80, pick in 0usize..30) {
        let digits = whole_digits(90);
        let picked: Vec<&[u8]> = digits[pick * 3..pick * 3 + 3].iter().map(Vec::as_slice).collect();
        let base = number(&picked, 3, 10, 10, 10, 600, 200).parts();
        let moved = number(&picked, 3, 10, 10 + dx, 10 + dy, 600, 200).parts();
        prop_assert_eq!(base.len(), 3);
        prop_assert_eq!(moved.len(), 3);
        for (a, b) in base.iter().zip(&moved) {
            prop_assert_eq!(&a.image, &b.image);
            prop_assert_eq!((a.bounds.x + dx as u32, a.bounds.y + dy as u32), (b.bounds.x, b.bounds.y));
        }
    }

    /// The same number drawn larger or smaller splits into the same digits, each nearly the same image.
    #[test]
    fn scaling_a_number_gives_the_same_parts(scale in 2usize..9, pick in 0usize..30) {
        let digits = whole_digits(90);
        let picked: Vec<&[u8]> = digits[pick * 3..pick * 3 + 3].iter().map(Vec::as_slice).collect();
        let parts = number(&picked, scale, 3 * scale, 10, 10, 900, 300).parts();
        prop_assert_eq!(parts.len(), 3);
        for (part, digit) in parts.iter().zip(&picked) {
            // Against the digit alone at the smallest scale drawn: at MNIST's own
            // size a stroke can only be thickened by whole pixels, so it is no reference.
            let reference = alone(digit, 2);
            let diff: u32 = part.image.pixels().iter().zip(reference.pixels()).map(|(&a, &b)| u32::from(a.abs_diff(b))).sum();
            prop_assert!(f64::from(diff) / 784.0 < 20.0, "mean difference {} at scale {}", f64::from(diff) / 784.0, scale);
        }
    }
}

impl Canvas {
    /// A filled disc of full ink, `diameter` pixels across, its box's corner at `(x, y)`.
    fn dot(&mut self, x: usize, y: usize, diameter: usize) {
        let r = diameter as f64 / 2.0;
        for dy in 0..diameter {
            for dx in 0..diameter {
                let (fx, fy) = (dx as f64 + 0.5 - r, dy as f64 + 0.5 - r);
                if fx * fx + fy * fy <= r * r && x + dx < self.width && y + dy < self.height {
                    self.pixels[(y + dy) * self.width + x + dx] = 255;
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Dust, a dot or a fleck of noise away from a number changes nothing:
    /// no extra digit ("8" read as "82"), and the same images.
    #[test]
    fn a_speck_away_from_a_number_changes_nothing(
        pick in 0usize..40, diameter in 1usize..=10, right in any::<bool>(), along in 0.0f64..1.0, away in 0.0f64..1.0,
    ) {
        let digits = whole_digits(80);
        let picked: Vec<&[u8]> = digits[pick * 2..pick * 2 + 2].iter().map(Vec::as_slice).collect();
        // Scale 4: MNIST's strokes are about 10 pixels wide here.
        let clean = number(&picked, 4, 16, 20, 20, 600, 300);
        let base = clean.parts();
        prop_assume!(base.len() == 2);
        let x0 = base[0].bounds.x as usize;
        let x1 = (base[1].bounds.x + base[1].bounds.width) as usize;
        let y1 = base.iter().map(|p| (p.bounds.y + p.bounds.height) as usize).max().unwrap_or(0);
        let mut specked = Canvas { width: clean.width, height: clean.height, pixels: clean.pixels.clone() };
        // Beyond a speck's reach from the number's box, to its right or below it:
        // the digits here are at most 112 pixels tall, so it reaches at most 56.
        let (x, y) = if right {
            (x1 + 64 + (away * (526 - x1) as f64) as usize, (along * 280.0) as usize)
        } else {
            (x0 + (along * (x1 - x0) as f64) as usize, y1 + 64 + (away * (280 - y1).saturating_sub(64) as f64) as usize)
        };
        specked.dot(x, y.min(290), diameter);
        let parts = specked.parts();
        prop_assert_eq!(parts.len(), 2, "speck of {} px at ({}, {})", diameter, x, y);
        for (a, b) in base.iter().zip(&parts) {
            prop_assert_eq!(&a.image, &b.image);
        }
    }

    /// The strokes of a 7 or a 4 drawn apart, and a short stub left by a
    /// broken stroke, stay one digit, at any size.
    #[test]
    fn separate_strokes_and_stubs_of_one_digit_stay_joined(t in 3usize..14, gap in 1usize..6, stub in 1usize..=2) {
        let gap = gap.min(t);
        let h = 10 * t;
        // A 7: its bar, and the stem drawn apart from it.
        let mut seven = Canvas::new(12 * t, 14 * t);
        seven.block(t, t, 6 * t, t);
        seven.block(6 * t, 2 * t + gap, t, h - t);
        prop_assert_eq!(seven.parts().len(), 1);
        // A 4: the left stroke and bar, and the long stroke lifted where it crosses the bar.
        let mut four = Canvas::new(12 * t, 14 * t);
        four.block(t, t, t, 5 * t);
        four.block(t, 6 * t, 6 * t, t);
        four.block(5 * t, t, t, 5 * t - gap);
        four.block(5 * t, 7 * t + gap, t, 4 * t - gap);
        prop_assert_eq!(four.parts().len(), 1);
        // A 1 with a stub of its broken foot just beside it.
        let mut one = Canvas::new(12 * t, 14 * t);
        one.block(5 * t, t, t, h);
        one.block(6 * t + gap, h, stub * t, t);
        prop_assert_eq!(one.parts().len(), 1);
    }
}
