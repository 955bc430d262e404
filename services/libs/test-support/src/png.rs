//! Images encoded as PNG files, as clients send them.

fn encode(image: image::DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).expect("a PNG encodes");
    out
}

/// 8-bit grayscale pixels (`width * height` bytes) as a PNG file.
///
/// # Panics
/// When the pixel count does not match the size.
pub fn gray(width: u32, height: u32, pixels: &[u8]) -> Vec<u8> {
    encode(image::GrayImage::from_raw(width, height, pixels.to_vec()).expect("pixels match the size").into())
}

/// RGBA pixels (`width * height * 4` bytes) as a PNG file.
///
/// # Panics
/// When the pixel count does not match the size.
pub fn rgba(width: u32, height: u32, pixels: &[u8]) -> Vec<u8> {
    encode(image::RgbaImage::from_raw(width, height, pixels.to_vec()).expect("pixels match the size").into())
}
