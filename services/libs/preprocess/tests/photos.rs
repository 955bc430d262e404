//! Photos of paper: real MNIST digits written in a pen on unevenly lit,
//! grainy paper, half in a soft shadow, come out as they do from a clean drawing.

use digits_preprocess::{ImageView, Limits, MnistImage, PixelFormat, to_mnist, to_parts};
use digits_test_support::photo::Page;

const W: usize = 400;
const H: usize = 300;
const SCALE: usize = 6;

const PAGE: Page = Page { width: W, height: H };

/// The digit's ink on the page, enlarged `SCALE` times with its corner at `(x, y)`.
fn ink(digit: &[u8], x: usize, y: usize) -> Vec<f32> {
    PAGE.ink(digit, (x, y), SCALE, 0.0)
}

/// RGBA photo: tinted paper lit from one side, a soft shadow, grain, and a blue pen.
fn photo(ink: &[f32], seed: u64, shadow_at: f32) -> Vec<u8> {
    PAGE.photo(ink, seed, shadow_at)
}

fn clean(digit: &[u8]) -> MnistImage {
    let page: Vec<u8> = ink(digit, 100, 60).iter().map(|&a| (a * 255.0) as u8).collect();
    to_mnist(&ImageView::new(W as u32, H as u32, PixelFormat::Gray8, &page).expect("view"), &Limits::default())
        .expect("ink")
}

#[test]
fn digits_photographed_on_uneven_paper_read_like_clean_drawings() {
    let test = digits_mnist_idx::test_set().expect("MNIST test set (set DIGITS_MNIST_DIR)");
    let (mut close, mut total) = (0, 0);
    for (n, digit) in test.images.iter().take(200).enumerate() {
        let page = photo(&ink(digit, 100, 60), n as u64 + 1, 150.0 + (n % 5) as f32 * 40.0);
        let view = ImageView::new(W as u32, H as u32, PixelFormat::Rgba8, &page).expect("view");
        let parts = to_parts(&view, &Limits::default()).expect("ink");
        assert_eq!(
            parts.len(),
            1,
            "digit {n} split into {}: {:?}",
            parts.len(),
            parts.iter().map(|p| p.bounds).collect::<Vec<_>>()
        );
        let reference = clean(digit);
        let diff: u32 =
            parts[0].image.pixels().iter().zip(reference.pixels()).map(|(&a, &b)| u32::from(a.abs_diff(b))).sum();
        total += 1;
        if f64::from(diff) / 784.0 < 20.0 {
            close += 1;
        }
    }
    // The photo's grain and the threshold cost a little of the soft edges, no more.
    assert!(close * 100 >= total * 95, "{close}/{total} photos within 20 levels per pixel of the clean drawing");
}

#[test]
fn blank_paper_in_light_and_shadow_is_no_digit() {
    // The same page without a digit: paper, light and shadow only, is empty.
    let page = photo(&vec![0.0; W * H], 7, 200.0);
    let view = ImageView::new(W as u32, H as u32, PixelFormat::Rgba8, &page).expect("view");
    let found = to_parts(&view, &Limits::default());
    assert!(
        found.is_err(),
        "blank paper in a shadow is no digit: {:?}",
        found.map(|p| p.iter().map(|p| p.bounds).collect::<Vec<_>>())
    );
}
