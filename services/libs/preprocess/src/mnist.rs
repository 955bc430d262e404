//! The 28x28 field: centring by centre of mass, and the model's input tensor.

use crate::resample::{Fitted, round_half_up};
use crate::{COM_TARGET, PIXELS, PreprocessError, SIZE};

/// A 28x28 MNIST-form image: row-major bytes, ink high (255) on 0.
#[derive(Clone, PartialEq, Eq)]
pub struct MnistImage {
    pixels: [u8; PIXELS],
}

impl std::fmt::Debug for MnistImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // 28 rows of shades, readable in a failed test's output.
        writeln!(f, "MnistImage")?;
        for row in self.pixels.chunks(SIZE) {
            let line: String = row.iter().map(|&p| [' ', '.', ':', '+', '#'][usize::from(p) * 5 / 256]).collect();
            writeln!(f, "|{line}|")?;
        }
        Ok(())
    }
}

impl MnistImage {
    /// Takes a ready MNIST-form image (784 bytes, e.g. from the MNIST files).
    ///
    /// # Errors
    /// [`PreprocessError::MnistLength`] unless `pixels` has exactly 784 bytes.
    pub fn from_pixels(pixels: &[u8]) -> Result<Self, PreprocessError> {
        let pixels = pixels.try_into().map_err(|_| PreprocessError::MnistLength(pixels.len()))?;
        Ok(Self { pixels })
    }

    /// The 784 bytes, row-major.
    pub fn pixels(&self) -> &[u8; PIXELS] {
        &self.pixels
    }

    /// Writes the model input (`pixel * scale + offset`) into `out` (784 values).
    ///
    /// # Panics
    /// If `out` does not have exactly 784 values.
    pub fn write_tensor(&self, normalisation: Normalisation, out: &mut [f32]) {
        assert_eq!(out.len(), PIXELS, "an MNIST tensor has 784 values");
        for (o, &p) in out.iter_mut().zip(&self.pixels) {
            *o = f32::from(p) * normalisation.scale + normalisation.offset;
        }
    }
}

/// How bytes become the model's input values: `pixel * scale + offset`.
/// The values come from the model card (`normalisation` in `model.json`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalisation {
    /// Multiplier per byte; 1/255 for the released model.
    pub scale: f32,
    /// Added after scaling; 0 for the released model.
    pub offset: f32,
}

/// Places the fitted box in the middle of the field and shifts it by whole
/// pixels so that its centre of mass lands on [`COM_TARGET`], never pushing
/// ink off the field.
pub(crate) fn centre(fitted: &Fitted) -> MnistImage {
    let (w, h) = (fitted.width, fitted.height);
    let (top, left) = ((SIZE - h) / 2, (SIZE - w) / 2);
    let (mut mass, mut sum_x, mut sum_y) = (0f64, 0f64, 0f64);
    for (i, &v) in fitted.values.iter().enumerate() {
        let v = f64::from(v);
        mass += v;
        sum_x += v * (i % w) as f64;
        sum_y += v * (i / w) as f64;
    }
    let (com_x, com_y) = if mass > 0.0 {
        (left as f64 + sum_x / mass, top as f64 + sum_y / mass)
    } else {
        (f64::from(COM_TARGET.0), f64::from(COM_TARGET.1))
    };
    let dx = round_half_up(f64::from(COM_TARGET.0) - com_x).clamp(-(left as i64), (SIZE - w - left) as i64);
    let dy = round_half_up(f64::from(COM_TARGET.1) - com_y).clamp(-(top as i64), (SIZE - h - top) as i64);
    let (x0, y0) = ((left as i64 + dx) as usize, (top as i64 + dy) as usize);

    let mut pixels = [0u8; PIXELS];
    for (y, row) in fitted.values.chunks(w).enumerate() {
        let out = &mut pixels[(y0 + y) * SIZE + x0..][..w];
        for (o, &v) in out.iter_mut().zip(row) {
            *o = round_half_up(f64::from(v) * 255.0).clamp(0, 255) as u8;
        }
    }
    MnistImage { pixels }
}
