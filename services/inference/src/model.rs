//! The model card and the ONNX model, loaded once into an optimised tract plan.
//!
//! The release in `models/mnist/<version>/` is built into the binary, so a
//! server needs no files; `DIGITS_MODEL_DIR` serves another release instead.

use std::path::Path;
use std::sync::Arc;

use digits_preprocess::{Normalisation, PIXELS};
use serde::Deserialize;
use tract_onnx::prelude::*;

use crate::config::ModelSource;
use crate::error::ModelError;

/// The release built into the binary.
pub const EMBEDDED_ONNX: &[u8] = include_bytes!("../models/mnist/1.1.0/model.onnx");
/// The model card of the embedded release.
pub const EMBEDDED_CARD: &str = include_str!("../models/mnist/1.1.0/model.json");

/// The parts of `model.json` the service uses (see `training/README.md` for all fields).
#[derive(Debug, Clone, Deserialize)]
pub struct ModelCard {
    /// Model name.
    pub name: String,
    /// Model version, logged with every prediction.
    pub version: String,
    /// Training date, RFC 3339.
    pub created: String,
    /// The ONNX file.
    pub file: CardFile,
    /// How bytes become input values.
    pub normalisation: CardNormalisation,
    /// Test-set figures.
    pub metrics: CardMetrics,
    /// Parameter and multiply-add counts.
    pub size: CardSize,
}

/// `file` in the model card.
#[derive(Debug, Clone, Deserialize)]
pub struct CardFile {
    /// SHA-256 of `model.onnx`, hex.
    pub sha256: String,
}

/// `normalisation` in the model card: input = pixel * scale + offset.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct CardNormalisation {
    /// Multiplier per byte.
    pub scale: f32,
    /// Added after scaling.
    pub offset: f32,
}

/// `metrics` in the model card.
#[derive(Debug, Clone, Deserialize)]
pub struct CardMetrics {
    /// Accuracy on the MNIST test set.
    pub test_accuracy: f64,
    /// Accuracy per digit.
    pub per_digit_accuracy: Vec<f64>,
}

/// `size` in the model card.
#[derive(Debug, Clone, Deserialize)]
pub struct CardSize {
    /// Trainable parameters.
    pub parameters: u64,
    /// Multiply-adds per image.
    pub multiply_adds_per_image: u64,
}

/// A loaded model: its card and the runnable plan shared by all workers.
///
/// The ONNX graph has a symbolic batch dimension `N`; the plan fixes it to 1.
/// Measured on this project's 2-core machine with tract 0.23, the plan
/// optimised for one image runs in 95 µs, while the symbolic plan takes 260 µs
/// for one image and 160 µs per image in batches of 8 to 128: with the size
/// known, tract picks its faster convolution and pooling kernels. So a batch
/// is run image by image on this plan, and the engine spreads a batch over
/// the workers to use every core.
#[derive(Clone)]
pub struct Model {
    /// The card.
    pub card: Arc<ModelCard>,
    /// The optimised plan for one `[1,1,28,28]` image.
    pub plan: Arc<TypedRunnableModel>,
}

/// One thread's model state: tract runs a state on one thread, so every
/// worker holds its own [`Session`] over the shared plan.
pub struct Session {
    state: TypedSimpleState,
}

impl Session {
    /// Runs the images in `input` (784 values each) and returns 10 logits per image.
    ///
    /// # Errors
    /// [`RunError`]: tract failed, or the output is not `[1, 10]`.
    pub fn run(&mut self, input: &[f32]) -> Result<Vec<f32>, RunError> {
        let mut logits = Vec::with_capacity(input.len() / PIXELS * 10);
        for image in input.chunks_exact(PIXELS) {
            let tensor = Tensor::from_shape(&[1, 1, 28, 28], image).map_err(RunError::tract)?;
            let outputs = self.state.run(tvec!(tensor.into())).map_err(RunError::tract)?;
            let row = outputs[0].to_plain_array_view::<f32>().map_err(RunError::tract)?;
            if row.shape() != [1, 10] {
                return Err(RunError::OutputShape(row.shape().to_vec()));
            }
            logits.extend(row.iter().copied());
        }
        Ok(logits)
    }
}

impl Model {
    /// The input normalisation from the card.
    pub fn normalisation(&self) -> Normalisation {
        Normalisation { scale: self.card.normalisation.scale, offset: self.card.normalisation.offset }
    }

    /// Loads the model from `source`, optimises it for one image and checks
    /// that it takes `[1,1,28,28]` and returns `[1,10]`.
    ///
    /// # Errors
    /// When a file is missing or malformed, or the graph breaks the contract.
    pub fn load(source: &ModelSource) -> Result<Self, ModelError> {
        let (onnx, card) = match source {
            ModelSource::Embedded => (EMBEDDED_ONNX.to_vec(), EMBEDDED_CARD.to_owned()),
            ModelSource::Dir(dir) => (read(&dir.join("model.onnx"))?, read_text(&dir.join("model.json"))?),
        };
        let card: ModelCard = serde_json::from_str(&card)?;
        let onnx_error = |e: TractError| ModelError::Onnx(format!("{e:#}"));
        let graph = tract_onnx::onnx().model_for_read(&mut onnx.as_slice()).map_err(onnx_error)?;
        let plan = graph
            .with_input_fact(0, f32::fact([1, 1, 28, 28]).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(onnx_error)?;
        let model = Self { card: Arc::new(card), plan };
        model.run(&[0.0; PIXELS]).map_err(|e| ModelError::Contract(e.to_string()))?;
        Ok(model)
    }

    /// A new per-thread state over the shared plan.
    ///
    /// # Errors
    /// [`RunError::Tract`] when tract cannot make the state.
    pub fn session(&self) -> Result<Session, RunError> {
        Ok(Session { state: self.plan.spawn().map_err(RunError::tract)? })
    }

    /// Runs images with a fresh session (tests and tools; workers keep their
    /// own [`Session`]).
    ///
    /// # Errors
    /// See [`Session::run`].
    pub fn run(&self, input: &[f32]) -> Result<Vec<f32>, RunError> {
        self.session()?.run(input)
    }
}

/// Running the model failed: a bug or a broken model, never the caller's input.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// tract reported an error (its whole chain, as text: tract's error type
    /// is `anyhow`'s).
    #[error("tract: {0}")]
    Tract(String),
    /// The model's output is not ten logits per image.
    #[error("output shape {0:?}, expected [1, 10]")]
    OutputShape(Vec<usize>),
}

impl RunError {
    fn tract(error: TractError) -> Self {
        Self::Tract(format!("{error:#}"))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ModelError> {
    std::fs::read(path).map_err(|source| ModelError::Io { path: path.to_owned(), source })
}

fn read_text(path: &Path) -> Result<String, ModelError> {
    std::fs::read_to_string(path).map_err(|source| ModelError::Io { path: path.to_owned(), source })
}

/// Softmax of one row of 10 logits.
pub fn softmax(logits: &[f32]) -> [f32; 10] {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut out = [0f32; 10];
    let mut sum = 0.0;
    for (o, &l) in out.iter_mut().zip(logits) {
        *o = (l - max).exp();
        sum += *o;
    }
    for o in &mut out {
        *o /= sum;
    }
    out
}
