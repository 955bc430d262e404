//! Photo-like pictures of a digit on paper, as a phone takes them: tinted
//! paper lit from one side, a soft shadow across it, grain, a blue pen, and
//! the digit tilted a little. Deterministic, so a test reads the same picture
//! every run. (The varied photo set comes from `training/`'s generator.)

/// A page of `width` x `height` pixels.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Pixels across.
    pub width: usize,
    /// Pixels down.
    pub height: usize,
}

impl Page {
    /// The ink (0-1) of `digit` (28x28, ink high) on this page, enlarged
    /// `scale` times, its corner at `(x, y)`, turned `tilt_degrees` about its
    /// centre (nearest neighbour, as an enlarged drawing is).
    #[must_use]
    pub fn ink(self, digit: &[u8], (x, y): (usize, usize), scale: usize, tilt_degrees: f32) -> Vec<f32> {
        let side = (28 * scale) as f32;
        let (cx, cy) = (x as f32 + side / 2.0, y as f32 + side / 2.0);
        let (sin, cos) = tilt_degrees.to_radians().sin_cos();
        let mut out = vec![0f32; self.width * self.height];
        for (i, a) in out.iter_mut().enumerate() {
            let (dx, dy) = ((i % self.width) as f32 + 0.5 - cx, (i / self.width) as f32 + 0.5 - cy);
            // Where this page pixel was before the turn, in the digit's own pixels.
            let (u, v) =
                ((cos * dx + sin * dy + side / 2.0) / scale as f32, (-sin * dx + cos * dy + side / 2.0) / scale as f32);
            if (0.0..28.0).contains(&u) && (0.0..28.0).contains(&v) {
                *a = f32::from(digit[v as usize * 28 + u as usize]) / 255.0;
            }
        }
        out
    }

    /// The photo (RGBA) of `ink` on this page: the shadow's soft edge runs
    /// diagonally through `x + y / 2 = shadow_at`; `seed` sets the grain.
    #[must_use]
    pub fn photo(self, ink: &[f32], seed: u64, shadow_at: f32) -> Vec<u8> {
        let mut grain = Grain(seed.max(1));
        let (paper, pen) = ([236.0f32, 228.0, 205.0], [30.0f32, 50.0, 140.0]);
        let (w, h) = (self.width as f32, self.height as f32);
        let mut out = Vec::with_capacity(ink.len() * 4);
        for (i, &a) in ink.iter().enumerate() {
            let (x, y) = ((i % self.width) as f32, (i / self.width) as f32);
            let light = (1.0 - 0.35 * x / w - 0.1 * y / h)
                * (1.0 - 0.4 / (1.0 + (-(x + 0.5 * y - shadow_at) / (0.0375 * w)).exp()));
            let noise = 6.0 * grain.next();
            for c in 0..3 {
                let surface = paper[c] * (1.0 - a) + pen[c] * a;
                out.push((surface * light + noise).clamp(0.0, 255.0) as u8);
            }
            out.push(255);
        }
        out
    }
}

/// RGBA pixels as a JPEG file of `quality` (1-100), as a phone's camera
/// stores them (without the alpha).
///
/// # Panics
/// When the pixel count does not match the page.
#[must_use]
pub fn jpeg(page: Page, rgba: &[u8], quality: u8) -> Vec<u8> {
    let rgb: Vec<u8> = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    let image = image::RgbImage::from_raw(page.width as u32, page.height as u32, rgb).expect("pixels match the page");
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality).encode_image(&image).expect("a JPEG encodes");
    out
}

/// A small deterministic generator (xorshift): the grain, -0.5 to 0.5.
struct Grain(u64);

impl Grain {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}
