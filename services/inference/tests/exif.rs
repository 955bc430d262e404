//! A phone stores a photo as its sensor saw it and says in EXIF how to turn
//! it upright: the inference service reads the digit upright.

use digits_inference::decode::to_parts;
use digits_preprocess::{Limits, MnistImage};
use digits_proto::inference::v1 as pb;
use image::codecs::jpeg::JpegEncoder;
use image::{GrayImage, ImageEncoder, Luma};

/// A TIFF block with one entry: orientation (0x0112), a SHORT, `value`.
fn exif_orientation(value: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1]);
    tiff.extend_from_slice(&value.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    tiff
}

fn jpeg(image: &GrayImage, orientation: Option<u16>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, 90);
    if let Some(value) = orientation {
        encoder.set_exif_metadata(exif_orientation(value)).expect("JPEG takes EXIF");
    }
    encoder.write_image(image.as_raw(), image.width(), image.height(), image::ExtendedColorType::L8).expect("encode");
    out
}

fn read(bytes: Vec<u8>) -> MnistImage {
    let image = pb::Image { source: Some(pb::image::Source::Encoded(bytes)) };
    let parts = to_parts(&image, &Limits::default()).expect("a digit");
    assert_eq!(parts.len(), 1);
    parts[0].image.clone()
}

fn distance(a: &MnistImage, b: &MnistImage) -> f64 {
    let sum: u32 = a.pixels().iter().zip(b.pixels()).map(|(&x, &y)| u32::from(x.abs_diff(y))).sum();
    f64::from(sum) / 784.0
}

#[test]
fn photos_stored_sideways_are_read_upright() {
    let test = digits_mnist_idx::test_set().expect("MNIST test set (set DIGITS_MNIST_DIR)");
    // A 7, dark on white paper, 8 times MNIST's size.
    let digit = &test.images[0];
    let upright = GrayImage::from_fn(224, 224, |x, y| Luma([255 - digit[(y / 8 * 28 + x / 8) as usize]]));
    let reference = read(jpeg(&upright, None));
    // 6: the stored image must be turned clockwise; 8: anticlockwise; 3: half a turn.
    for (orientation, stored) in [
        (6, image::imageops::rotate270(&upright)),
        (8, image::imageops::rotate90(&upright)),
        (3, image::imageops::rotate180(&upright)),
    ] {
        let read_upright = read(jpeg(&stored, Some(orientation)));
        assert!(
            distance(&read_upright, &reference) < 8.0,
            "orientation {orientation}:\n{read_upright:?}\n{reference:?}"
        );
        // Without the tag the same pixels are a different picture.
        let read_as_stored = read(jpeg(&stored, None));
        assert!(distance(&read_as_stored, &reference) > 20.0, "orientation {orientation} ignored still matches");
    }
}
