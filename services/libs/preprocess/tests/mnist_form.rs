//! Behaviour of the MNIST-form preprocessing on real MNIST digits and on
//! synthetic drawings of the kind a browser canvas produces.

use digits_preprocess::{ImageView, Limits, MnistImage, PixelFormat, PreprocessError, SIZE, to_mnist};
use proptest::prelude::*;

/// A canvas with a digit-like figure drawn as anti-aliased strokes: a "7"
/// made of two segments, scaled by `scale` and placed at `(ox, oy)`.
fn draw_seven(width: usize, height: usize, ox: f32, oy: f32, scale: f32, stroke: f32) -> Vec<u8> {
    let segments = [((0.0, 0.0), (10.0, 0.0)), ((10.0, 0.0), (3.0, 16.0))];
    let mut ink = vec![0u8; width * height];
    for y in 0..height {
        for x in 0..width {
            let (px, py) = ((x as f32 + 0.5 - ox) / scale, (y as f32 + 0.5 - oy) / scale);
            let d = segments
                .iter()
                .map(|&((ax, ay), (bx, by))| {
                    let (vx, vy) = (bx - ax, by - ay);
                    let t = (((px - ax) * vx + (py - ay) * vy) / (vx * vx + vy * vy)).clamp(0.0, 1.0);
                    ((px - ax - t * vx).powi(2) + (py - ay - t * vy).powi(2)).sqrt()
                })
                .fold(f32::MAX, f32::min)
                * scale;
            // Coverage of a stroke `stroke` px wide with a one-pixel soft edge.
            let coverage = (stroke / 2.0 - d + 0.5).clamp(0.0, 1.0);
            ink[y * width + x] = (coverage * 255.0).round() as u8;
        }
    }
    ink
}

fn gray(width: usize, height: usize, pixels: &[u8]) -> MnistImage {
    let view = ImageView::new(width as u32, height as u32, PixelFormat::Gray8, pixels).expect("valid view");
    to_mnist(&view, &Limits::default()).expect("a digit")
}

/// Mean absolute difference per pixel, 0-255.
fn mean_diff(a: &MnistImage, b: &MnistImage) -> f64 {
    let total: u32 = a.pixels().iter().zip(b.pixels()).map(|(&x, &y)| u32::from(x.abs_diff(y))).sum();
    f64::from(total) / 784.0
}

fn ink_box(img: &MnistImage) -> (usize, usize) {
    let px = img.pixels();
    let rows: Vec<usize> = (0..SIZE).filter(|y| px[y * SIZE..(y + 1) * SIZE].iter().any(|&p| p > 25)).collect();
    let cols: Vec<usize> = (0..SIZE).filter(|x| (0..SIZE).any(|y| px[y * SIZE + x] > 25)).collect();
    (cols.len(), rows.len())
}

fn centre_of_mass(img: &MnistImage) -> (f64, f64) {
    let (mut m, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for (i, &p) in img.pixels().iter().enumerate() {
        let p = f64::from(p);
        m += p;
        sx += p * (i % SIZE) as f64;
        sy += p * (i / SIZE) as f64;
    }
    (sx / m, sy / m)
}

#[test]
fn mnist_test_digits_pass_through_almost_unchanged() {
    let test = digits_mnist_idx::test_set().expect("MNIST test set (set DIGITS_MNIST_DIR)");
    let mut identical = 0;
    let mut worst: f64 = 0.0;
    for image in test.images.iter().take(2000) {
        let out = gray(28, 28, image);
        let original = MnistImage::from_pixels(image).expect("784 bytes");
        if out == original {
            identical += 1;
        }
        worst = worst.max(mean_diff(&out, &original));
    }
    // Most are bit-identical; the rest differ by a one-pixel shift from rounding.
    assert!(identical >= 1500, "only {identical} of 2000 unchanged");
    assert!(worst < 40.0, "worst mean difference {worst}");
}

#[test]
fn a_digit_fills_the_twenty_pixel_box_and_is_centred_by_mass() {
    let canvas = draw_seven(280, 280, 60.0, 40.0, 10.0, 18.0);
    let out = gray(280, 280, &canvas);
    let (w, h) = ink_box(&out);
    assert_eq!(h, 20, "the longer side fits the box");
    assert!(w < 20);
    let (cx, cy) = centre_of_mass(&out);
    assert!((cx - 14.0).abs() <= 0.75 && (cy - 14.0).abs() <= 0.75, "centre of mass at ({cx}, {cy})");
}

#[test]
fn thin_and_thick_strokes_both_fill_the_box() {
    for stroke in [3.0, 8.0, 30.0] {
        let canvas = draw_seven(300, 300, 70.0, 50.0, 11.0, stroke);
        let out = gray(300, 300, &canvas);
        assert_eq!(ink_box(&out).1, 20, "stroke {stroke}");
        let darkest = out.pixels().iter().copied().max().unwrap_or(0);
        assert!(darkest > 200, "stroke {stroke}: brightest pixel {darkest}");
    }
}

#[test]
fn a_fine_pen_is_thickened_to_mnist_width_and_a_broad_one_is_kept() {
    let mass = |m: &MnistImage| m.pixels().iter().map(|&p| u32::from(p)).sum::<u32>();
    let [hairline, fine, broad] =
        [3.0, 8.0, 30.0].map(|stroke| gray(300, 300, &draw_seven(300, 300, 70.0, 50.0, 11.0, stroke)));
    // Both fine strokes become about a tenth of the 176-px drawing wide, so
    // they look alike; without thickening a 3-px stroke would shrink to a
    // faint hairline with a third of the ink.
    let (h, f) = (mass(&hairline), mass(&fine));
    assert!(h.abs_diff(f) * 10 < f, "hairline {h}, fine {f}");
    // A broad stroke is wider than the target and left as drawn.
    assert!(mass(&broad) > f + f / 5, "broad {}, fine {f}", mass(&broad));
}

#[test]
fn white_on_black_black_on_white_and_transparent_give_the_same_image() {
    let (w, h) = (200, 160);
    let ink = draw_seven(w, h, 50.0, 20.0, 7.0, 12.0);
    let white_on_black = gray(w, h, &ink);
    let inverted: Vec<u8> = ink.iter().map(|&v| 255 - v).collect();
    let black_on_white = gray(w, h, &inverted);
    // A canvas: black strokes whose alpha is the coverage, on transparent black.
    let rgba: Vec<u8> = ink.iter().flat_map(|&v| [0, 0, 0, v]).collect();
    let view = ImageView::new(w as u32, h as u32, PixelFormat::Rgba8, &rgba).expect("valid");
    let transparent = to_mnist(&view, &Limits::default()).expect("a digit");
    // Opaque blue ink on a white RGBA background.
    let blue: Vec<u8> = ink.iter().flat_map(|&v| [255 - v, 255 - v, 255, 255]).collect();
    let view = ImageView::new(w as u32, h as u32, PixelFormat::Rgba8, &blue).expect("valid");
    let blue_on_white = to_mnist(&view, &Limits::default()).expect("a digit");

    assert_eq!(white_on_black, black_on_white);
    assert_eq!(white_on_black, transparent);
    // Blue is lighter than black, so the ink is fainter, but in the same place.
    assert_eq!(ink_box(&blue_on_white), ink_box(&white_on_black));
}

#[test]
fn an_off_white_background_is_not_ink() {
    let ink = draw_seven(120, 120, 30.0, 20.0, 4.0, 6.0);
    let paper: Vec<u8> = ink.iter().map(|&v| 235 - (u16::from(v) * 235 / 255) as u8).collect();
    // Equal up to the rounding of the paper's 8-bit levels.
    let diff = mean_diff(&gray(120, 120, &paper), &gray(120, 120, &ink));
    assert!(diff < 1.0, "mean difference {diff}");
}

#[test]
fn an_empty_canvas_is_an_error() {
    for fill in [0u8, 255] {
        let px = vec![fill; 280 * 280];
        let view = ImageView::new(280, 280, PixelFormat::Gray8, &px).expect("valid");
        assert!(matches!(to_mnist(&view, &Limits::default()), Err(PreprocessError::Empty { ink_pixels: 0, .. })));
    }
    let rgba = vec![0u8; 100 * 100 * 4];
    let view = ImageView::new(100, 100, PixelFormat::Rgba8, &rgba).expect("valid");
    assert!(matches!(to_mnist(&view, &Limits::default()), Err(PreprocessError::Empty { .. })));
}

#[test]
fn a_speck_is_an_empty_drawing() {
    let mut px = vec![0u8; 280 * 280];
    px[140 * 280 + 140] = 255;
    px[140 * 280 + 141] = 255;
    let view = ImageView::new(280, 280, PixelFormat::Gray8, &px).expect("valid");
    assert!(matches!(to_mnist(&view, &Limits::default()), Err(PreprocessError::Empty { ink_pixels: 2, required: 7 })));
}

#[test]
fn sizes_and_buffers_are_checked() {
    assert!(matches!(ImageView::new(0, 10, PixelFormat::Gray8, &[]), Err(PreprocessError::ZeroSize { .. })));
    assert!(matches!(
        ImageView::new(10, 10, PixelFormat::Rgba8, &[0; 100]),
        Err(PreprocessError::BufferLength { expected: 400, actual: 100, .. })
    ));
    let limits = Limits { max_side: 100, max_pixels: 5000 };
    assert!(matches!(limits.check(101, 10), Err(PreprocessError::TooLarge { .. })));
    assert!(matches!(limits.check(80, 80), Err(PreprocessError::TooLarge { .. })));
    assert!(limits.check(50, 100).is_ok());
    let px = vec![0u8; 101 * 10];
    let view = ImageView::new(101, 10, PixelFormat::Gray8, &px).expect("valid");
    assert!(matches!(to_mnist(&view, &limits), Err(PreprocessError::TooLarge { .. })));
    // The default limits: 4096 px per side and 4 Mpx in all (2048x2048,
    // or 4096x1024), and not one pixel more.
    assert!(Limits::default().check(2048, 2048).is_ok());
    assert!(Limits::default().check(4096, 1024).is_ok());
    assert!(Limits::default().check(4096, 1025).is_err());
    assert!(Limits::default().check(4097, 1).is_err());
    assert!(Limits::default().check(4096, 4096).is_err());
    assert!(matches!(MnistImage::from_pixels(&[0; 783]), Err(PreprocessError::MnistLength(783))));
}

#[test]
fn a_one_pixel_wide_line_and_a_tiny_drawing_still_work() {
    // A vertical line 30 px tall: thickened by one pixel per side to 3 of
    // 32, the box is 20 tall and 2 wide.
    let mut px = vec![0u8; 50 * 50];
    for y in 10..40 {
        px[y * 50 + 25] = 255;
    }
    let out = gray(50, 50, &px);
    assert_eq!(ink_box(&out), (2, 20));
    // A 5x5 drawing is enlarged to fill the box.
    let tiny = draw_seven(12, 12, 3.0, 2.0, 0.4, 1.5);
    assert_eq!(ink_box(&gray(12, 12, &tiny)).1, 20);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Moving the drawing around the canvas changes nothing.
    #[test]
    fn shifting_a_drawing_gives_the_same_image(dx in 0usize..150, dy in 0usize..100) {
        let base = draw_seven(400, 300, 40.0, 30.0, 8.0, 14.0);
        let mut shifted = vec![0u8; 400 * 300];
        for y in 0..300 - dy {
            for x in 0..400 - dx {
                shifted[(y + dy) * 400 + x + dx] = base[y * 400 + x];
            }
        }
        prop_assert_eq!(gray(400, 300, &base), gray(400, 300, &shifted));
    }

    /// Drawing the same figure larger or smaller gives nearly the same image.
    #[test]
    fn scaling_a_drawing_gives_nearly_the_same_image(scale in 3.0f32..16.0) {
        let reference = gray(400, 400, &draw_seven(400, 400, 20.0, 20.0, 10.0, 15.0));
        let stroke = 15.0 * scale / 10.0;
        let scaled = gray(400, 400, &draw_seven(400, 400, 100.0, 50.0, scale, stroke));
        let diff = mean_diff(&reference, &scaled);
        prop_assert!(diff < 12.0, "mean difference {diff} at scale {scale}");
    }
}
