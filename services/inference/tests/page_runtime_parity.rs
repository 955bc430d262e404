//! The web app reads drafts in the page with `digits-onnx-lite`, the server
//! with tract. Both run the same model file, and the page's answers must be
//! the server's: the logits of the golden fixture within 1e-4, and on more
//! than a thousand drawings (MNIST digits drawn on a canvas, numbers of two
//! to four digits, doodles) the same verdict, number and digits.

mod support;

use digits_inference::config::ModelSource;
use digits_inference::model::{EMBEDDED_GOLDEN, EMBEDDED_ONNX, Model};
use digits_inference::reading::Reading;
use digits_preprocess::{ImageView, Limits, PIXELS, Part, PixelFormat};
use digits_test_support::drawing::{doodles, draw_strokes};
use serde::Deserialize;
use support::{draw_number, draw_on_canvas};

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    pixels: Vec<u8>,
}

/// The largest difference allowed between a logit of the page and the server's.
const TOLERANCE: f32 = 1e-4;

struct Both {
    server: Model,
    page: digits_onnx_lite::Model,
}

impl Both {
    fn load() -> Self {
        Self {
            server: Model::load(&ModelSource::Embedded).expect("the embedded model"),
            page: digits_onnx_lite::Model::from_onnx(EMBEDDED_ONNX).expect("the page's runtime loads it"),
        }
    }

    /// Both readings of an RGBA drawing, and the largest logit difference.
    fn read(&self, width: usize, height: usize, rgba: &[u8]) -> Option<(Reading, Reading, f32)> {
        let view = ImageView::new(width as u32, height as u32, PixelFormat::Rgba8, rgba).expect("an image");
        let parts: Vec<Part> = digits_preprocess::to_parts(&view, &Limits::default()).ok()?;
        let normalisation = self.server.normalisation();
        let mut input = vec![0f32; parts.len() * PIXELS];
        for (part, out) in parts.iter().zip(input.chunks_mut(PIXELS)) {
            part.image.write_tensor(normalisation, out);
        }
        let server_logits = self.server.run(&input).expect("tract runs");
        let page_logits: Vec<f32> =
            input.chunks(PIXELS).flat_map(|image| self.page.run(image).expect("the page's runtime runs")).collect();
        let diff = max_diff(&server_logits, &page_logits);
        let classes = self.server.classes();
        let threshold = self.server.card.rejection_threshold();
        let server = Reading::from_logits(parts.clone(), server_logits.chunks(classes), threshold);
        let page = Reading::from_logits(parts, page_logits.chunks(classes), threshold);
        Some((server, page, diff))
    }
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn same(server: &Reading, page: &Reading) -> bool {
    let digits = |r: &Reading| r.parts.iter().map(|p| p.digit()).collect::<Vec<_>>();
    server.verdict == page.verdict && server.number() == page.number() && digits(server) == digits(page)
}

#[test]
fn the_page_runtime_gives_the_servers_logits_on_the_golden_fixture() {
    let both = Both::load();
    let fixture: Fixture = serde_json::from_str(EMBEDDED_GOLDEN).expect("the golden fixture");
    let normalisation = both.server.normalisation();
    let mut worst = 0f32;
    for case in &fixture.cases {
        let input: Vec<f32> =
            case.pixels.iter().map(|&p| f32::from(p) * normalisation.scale + normalisation.offset).collect();
        let server = both.server.run(&input).expect("tract");
        let page = both.page.run(&input).expect("page");
        worst = worst.max(max_diff(&server, &page));
    }
    println!("golden fixture: {} cases, largest logit difference {worst:e}", fixture.cases.len());
    assert!(worst <= TOLERANCE, "logits differ by {worst} (at most {TOLERANCE})");
}

#[test]
fn the_page_and_the_server_read_a_thousand_drawings_alike() {
    let test = digits_mnist_idx::test_set().expect("MNIST test set (set DIGITS_MNIST_DIR)");
    let both = Both::load();
    let (mut drawings, mut differ, mut worst) = (0, Vec::new(), 0f32);
    let mut check = |what: String, width: usize, height: usize, rgba: Vec<u8>| {
        if let Some((server, page, diff)) = both.read(width, height, &rgba) {
            drawings += 1;
            worst = worst.max(diff);
            if !same(&server, &page) {
                differ.push(format!(
                    "{what}: server {:?} {}, page {:?} {}",
                    server.verdict,
                    server.number(),
                    page.verdict,
                    page.number()
                ));
            }
        }
    };
    // Digits drawn at different sizes and places, as a canvas sends them.
    for (i, digit) in test.images.iter().take(1000).enumerate() {
        let scale = 6.0 + (i % 5) as f32;
        check(
            format!("digit {i}"),
            280,
            280,
            draw_on_canvas(digit, 280, 280, 10.0 + (i % 7) as f32 * 5.0, 20.0, scale),
        );
    }
    // Numbers of two to four digits.
    for (n, chunk) in test.images[1000..].chunks(4).take(150).enumerate() {
        let len = 2 + n % 3;
        let digits: Vec<&[u8; 784]> = chunk.iter().take(len).collect();
        let (canvas, width) = draw_number(&digits, 5.0, -20.0 + (n % 4) as f32 * 10.0, 170);
        check(format!("number {n}"), width, 170, canvas);
    }
    // Drawings that are not digits.
    for (name, strokes) in doodles() {
        for pen in [6.0, 10.0, 16.0] {
            check(format!("{name} (pen {pen})"), 280, 280, draw_strokes(280, 280, &strokes, pen));
        }
    }
    println!("{drawings} drawings: {} read differently; largest logit difference {worst:e}", differ.len());
    assert!(drawings >= 1000, "only {drawings} drawings");
    assert!(differ.is_empty(), "read differently: {differ:?}");
    assert!(worst <= TOLERANCE, "logits differ by {worst}");
}
