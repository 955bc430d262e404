//! The Rust crate against the numpy reference (`training/digits_training/preprocess.py`),
//! on canvas-style drawings from `tests/fixtures/reference.bin.gz`
//! (written by `python -m digits_training.parity`). The model's robustness
//! figures were measured with the reference, so the two must agree.

use std::io::Read;

use digits_preprocess::{ImageView, Limits, PixelFormat, to_mnist};

struct Case {
    width: u32,
    height: u32,
    gray: Vec<u8>,
    expected: Vec<u8>,
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn load() -> Vec<Case> {
    let packed = include_bytes!("fixtures/reference.bin.gz");
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(&packed[..]).read_to_end(&mut bytes).expect("gzip");
    assert_eq!(&bytes[..4], b"DPF1");
    let count = u32_at(&bytes, 4) as usize;
    let mut at = 8;
    let mut cases = Vec::with_capacity(count);
    for _ in 0..count {
        let (width, height) = (u32_at(&bytes, at), u32_at(&bytes, at + 4));
        at += 8;
        let n = (width * height) as usize;
        cases.push(Case {
            width,
            height,
            gray: bytes[at..at + n].to_vec(),
            expected: bytes[at + n..at + n + 784].to_vec(),
        });
        at += n + 784;
    }
    assert_eq!(at, bytes.len());
    cases
}

#[test]
fn rust_preprocessing_matches_the_numpy_reference() {
    let cases = load();
    assert!(cases.len() >= 40);
    let mut identical = 0;
    for (i, case) in cases.iter().enumerate() {
        let view = ImageView::new(case.width, case.height, PixelFormat::Gray8, &case.gray).expect("view");
        let got = to_mnist(&view, &Limits::default()).expect("a digit");
        // f32 here, f64 there: a pixel may round the other way, never more.
        let worst = got.pixels().iter().zip(&case.expected).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
        assert!(worst <= 1, "case {i} ({}x{}): a pixel differs by {worst}", case.width, case.height);
        identical += usize::from(got.pixels()[..] == case.expected[..]);
    }
    println!("{identical}/{} identical to the byte", cases.len());
}
