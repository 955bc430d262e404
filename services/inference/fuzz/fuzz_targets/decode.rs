//! Any bytes, as an encoded image (PNG, JPEG or garbage) and as raw pixels,
//! through the inference service's decoding and the MNIST preprocessing:
//! every input must end in a result or an error, never a panic, an abort
//! or unbounded memory.

#![no_main]

use digits_inference::decode::to_mnist;
use digits_preprocess::Limits;
use digits_proto::inference::v1 as pb;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let encoded = pb::Image { source: Some(pb::image::Source::Encoded(data.to_vec())) };
    let _ = to_mnist(&encoded, &limits);
    // Raw pixels: the first three bytes choose the width, height and format.
    if let [width, height, format, pixels @ ..] = data {
        let raw = pb::RawImage {
            width: u32::from(*width),
            height: u32::from(*height),
            format: i32::from(*format % 4),
            pixels: pixels.to_vec(),
        };
        let _ = to_mnist(&pb::Image { source: Some(pb::image::Source::Raw(raw)) }, &limits);
    }
});
