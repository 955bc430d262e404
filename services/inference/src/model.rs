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
pub const EMBEDDED_ONNX: &[u8] = include_bytes!("../models/mnist/1.0.0/model.onnx");
/// The model card of the embedded release.
pub const EMBEDDED_CARD: &str = include_str!("../models/mnist/1.0.0/model.json");

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
#[derive(Clone)]
pub struct Model {
    /// The card.
    pub card: Arc<ModelCard>,
    /// The optimised plan, with a symbolic batch dimension.
    pub plan: Arc<TypedRunnableModel>,
}

impl Model {
    /// The input normalisation from the card.
    pub fn normalisation(&self) -> Normalisation {
        Normalisation { scale: self.card.normalisation.scale, offset: self.card.normalisation.offset }
    }

    /// Loads the model from `source`, optimises it and checks that it takes
    /// `[N,1,28,28]` and returns `[N,10]` for several batch sizes.
    ///
    /// # Errors
    /// When a file is missing or malformed, or the graph breaks the contract.
    pub fn load(source: &ModelSource) -> Result<Self, ModelError> {
        let (onnx, card) = match source {
            ModelSource::Embedded => (EMBEDDED_ONNX.to_vec(), EMBEDDED_CARD.to_owned()),
            ModelSource::Dir(dir) => (read(&dir.join("model.onnx"))?, read_text(&dir.join("model.json"))?),
        };
        let card: ModelCard = serde_json::from_str(&card)?;
        let plan = tract_onnx::onnx()
            .model_for_read(&mut onnx.as_slice())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| ModelError::Onnx(format!("{e:#}")))?;
        let model = Self { card: Arc::new(card), plan };
        for batch in [1, 3] {
            let out = model.run(&vec![0.0; batch * PIXELS], batch).map_err(ModelError::Contract)?;
            if out.len() != batch * 10 {
                return Err(ModelError::Contract(format!("batch {batch} gave {} outputs", out.len())));
            }
        }
        Ok(model)
    }

    /// Runs `batch` images (`input` holds `batch * 784` values) with a fresh
    /// state and returns the `batch * 10` logits. Workers use
    /// [`Model::run_with`] to reuse their own state.
    ///
    /// # Errors
    /// The tract error, as text.
    pub fn run(&self, input: &[f32], batch: usize) -> Result<Vec<f32>, String> {
        let mut state = self.plan.spawn().map_err(|e| format!("{e:#}"))?;
        Self::run_with(&mut state, input, batch)
    }

    /// Runs `batch` images on `state`.
    ///
    /// # Errors
    /// The tract error, as text.
    pub fn run_with(state: &mut TypedSimpleState, input: &[f32], batch: usize) -> Result<Vec<f32>, String> {
        let tensor = Tensor::from_shape(&[batch, 1, 28, 28], input).map_err(|e| format!("{e:#}"))?;
        let outputs = state.run(tvec!(tensor.into())).map_err(|e| format!("{e:#}"))?;
        let logits = outputs[0].to_plain_array_view::<f32>().map_err(|e| format!("{e:#}"))?;
        if logits.shape() != [batch, 10] {
            return Err(format!("output shape {:?}, expected [{batch}, 10]", logits.shape()));
        }
        Ok(logits.iter().copied().collect())
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
