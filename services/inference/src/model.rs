//! The model card and the ONNX model, loaded into an optimised tract plan
//! and checked before it may serve: the ONNX file must have the checksum its
//! card gives, and the model must reproduce the golden fixture its card names.
//!
//! The release in `models/mnist/<version>/` is built into the binary, so a
//! server needs no files; a model repository adds others (see [`crate::repository`]).

use std::path::Path;
use std::sync::Arc;

use digits_preprocess::{Normalisation, PIXELS, Part};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

use crate::config::ModelSource;
use crate::error::ModelError;
use crate::golden;
use crate::reading::Reading;
pub use crate::reading::{Probabilities, softmax};

/// The release built into the binary.
pub const EMBEDDED_ONNX: &[u8] = include_bytes!("../models/mnist/2.0.0/model.onnx");
/// The model card of the embedded release.
pub const EMBEDDED_CARD: &str = include_str!("../models/mnist/2.0.0/model.json");
/// The golden fixture of the embedded release.
pub const EMBEDDED_GOLDEN: &str = include_str!("../models/mnist/2.0.0/golden.json");

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
    /// What each output is: the ten digits, then `not_a_digit` when the
    /// model can say so. Cards written before that class existed omit it.
    #[serde(default = "ten_digits")]
    pub classes: Vec<String>,
    /// When a drawing is called "not a digit"; required with that class.
    #[serde(default)]
    pub rejection: Option<CardRejection>,
    /// How training put drawings into MNIST form.
    #[serde(default)]
    pub preprocessing: CardPreprocessing,
    /// The fixture a server checks the model against before serving it.
    /// Required: a card without one is refused.
    #[serde(default)]
    pub golden: Option<CardGolden>,
}

/// `golden` in the model card: inputs with the trainer's logits for them.
#[derive(Debug, Clone, Deserialize)]
pub struct CardGolden {
    /// The fixture's file name, beside `model.json`.
    pub file: String,
    /// The largest difference allowed between a served logit and the trainer's.
    pub max_abs_logit_diff: f32,
}

/// `preprocessing` in the model card: what serving must do as training did.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct CardPreprocessing {
    /// Strokes thinner than this share of the drawing were thickened;
    /// cards from before that step have none.
    #[serde(default)]
    pub stroke_width: Option<f64>,
}

/// The name of the class that says "this is not a digit".
pub const NOT_A_DIGIT: &str = "not_a_digit";

fn ten_digits() -> Vec<String> {
    (0..10).map(|d| d.to_string()).collect()
}

/// `rejection` in the model card.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct CardRejection {
    /// A part is not a digit when P(not_a_digit) is at least this.
    pub threshold: f32,
}

impl ModelCard {
    /// Whether the model was trained on drawings put into MNIST form the way
    /// this build's `digits-preprocess` does it. A model that was not still
    /// runs, but its card's figures may not hold.
    pub fn matches_preprocessing(&self) -> bool {
        self.preprocessing.stroke_width == Some(digits_preprocess::STROKE_WIDTH)
    }

    /// Checks that `classes` is the ten digits, optionally followed by
    /// [`NOT_A_DIGIT`] with a rejection threshold in (0, 1].
    ///
    /// # Errors
    /// [`ModelError::Contract`] saying what is wrong.
    pub fn check_classes(&self) -> Result<(), ModelError> {
        let digits = ten_digits();
        let fits = match self.classes.split_at_checked(10) {
            Some((head, [])) => head == digits,
            Some((head, [last])) => head == digits && last == NOT_A_DIGIT,
            _ => false,
        };
        if !fits {
            return Err(ModelError::Contract(format!(
                "the card's classes must be \"0\"..\"9\", optionally then \"{NOT_A_DIGIT}\"; got {:?}",
                self.classes
            )));
        }
        match (self.classes.len(), self.rejection) {
            (11, None) => {
                Err(ModelError::Contract(format!("a model with \"{NOT_A_DIGIT}\" needs rejection.threshold")))
            }
            (11, Some(r)) if !(r.threshold > 0.0 && r.threshold <= 1.0) => {
                Err(ModelError::Contract(format!("rejection.threshold {} is not in (0, 1]", r.threshold)))
            }
            _ => Ok(()),
        }
    }

    /// The threshold on P(not a digit), when the model has that class.
    pub fn rejection_threshold(&self) -> Option<f32> {
        if self.classes.len() == 11 { self.rejection.map(|r| r.threshold) } else { None }
    }
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
    /// The ONNX file it was loaded from (its card's SHA-256), for clients
    /// that run the model themselves.
    pub onnx: Arc<[u8]>,
}

/// One thread's model state: tract runs a state on one thread, so every
/// worker holds its own [`Session`] over the shared plan.
pub struct Session {
    state: TypedSimpleState,
    classes: usize,
}

impl Session {
    /// Runs the images in `input` (784 values each) and returns one logit
    /// per class (10 or 11) per image.
    ///
    /// # Errors
    /// [`RunError`]: tract failed, or the output is not `[1, classes]`.
    pub fn run(&mut self, input: &[f32]) -> Result<Vec<f32>, RunError> {
        let mut logits = Vec::with_capacity(input.len() / PIXELS * self.classes);
        for image in input.chunks_exact(PIXELS) {
            let tensor = Tensor::from_shape(&[1, 1, 28, 28], image).map_err(RunError::tract)?;
            let outputs = self.state.run(tvec!(tensor.into()));
            crate::vector_registers::clear_upper_halves();
            let outputs = outputs.map_err(RunError::tract)?;
            let row = outputs[0].to_plain_array_view::<f32>().map_err(RunError::tract)?;
            if row.shape() != [1, self.classes] {
                return Err(RunError::OutputShape { shape: row.shape().to_vec(), classes: self.classes });
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

    /// Outputs per image: 10 digits, or 11 with "not a digit".
    pub fn classes(&self) -> usize {
        self.card.classes.len()
    }

    /// Loads the model from `source`, optimises it for one image and checks
    /// it: the ONNX file has its card's checksum, the graph takes
    /// `[1,1,28,28]` and returns one logit per class of its card, and it
    /// reproduces the card's golden fixture (which also warms it up).
    ///
    /// # Errors
    /// When a file is missing or malformed, or a check fails.
    pub fn load(source: &ModelSource) -> Result<Self, ModelError> {
        let (onnx, card) = match source {
            ModelSource::Embedded => (EMBEDDED_ONNX.to_vec(), EMBEDDED_CARD.to_owned()),
            ModelSource::Dir(dir) => (read(&dir.join("model.onnx"))?, read_text(&dir.join("model.json"))?),
        };
        let card: ModelCard = serde_json::from_str(&card)?;
        card.check_classes()?;
        let golden = card.golden.clone().ok_or_else(|| {
            ModelError::Contract(
                "the card names no golden fixture (\"golden\": {\"file\", \"max_abs_logit_diff\"})".into(),
            )
        })?;
        let fixture = match source {
            ModelSource::Embedded => EMBEDDED_GOLDEN.to_owned(),
            ModelSource::Dir(dir) => read_text(&dir.join(golden::file_name(&golden.file)?))?,
        };
        let actual = format!("{:x}", Sha256::digest(&onnx));
        if !actual.eq_ignore_ascii_case(&card.file.sha256) {
            return Err(ModelError::Checksum { expected: card.file.sha256.clone(), actual });
        }
        if !card.matches_preprocessing() {
            tracing::warn!(
                version = %card.version,
                trained_with_stroke_width = ?card.preprocessing.stroke_width,
                serving_stroke_width = digits_preprocess::STROKE_WIDTH,
                "the model was trained with other preprocessing than this service applies; \
                 its accuracy may be lower than its card says"
            );
        }
        let onnx_error = |e: TractError| ModelError::Onnx(format!("{e:#}"));
        let graph = tract_onnx::onnx().model_for_read(&mut onnx.as_slice()).map_err(onnx_error)?;
        let plan = graph
            .with_input_fact(0, f32::fact([1, 1, 28, 28]).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(onnx_error)?;
        let model = Self { card: Arc::new(card), plan, onnx: onnx.into() };
        model.run(&[0.0; PIXELS]).map_err(|e| ModelError::Contract(e.to_string()))?;
        golden::check(&model, &fixture, golden.max_abs_logit_diff)?;
        Ok(model)
    }

    /// Reads the parts of each image in one run of the model on `session`:
    /// every part scored, then each image's verdict from its parts. `input`
    /// is scratch space, kept by the caller so it is not allocated per call.
    ///
    /// # Errors
    /// See [`Session::run`].
    pub fn read(
        &self,
        session: &mut Session,
        images: Vec<Vec<Part>>,
        input: &mut Vec<f32>,
    ) -> Result<Vec<Reading>, RunError> {
        let normalisation = self.normalisation();
        input.resize(images.iter().map(Vec::len).sum::<usize>() * PIXELS, 0.0);
        for (part, out) in images.iter().flatten().zip(input.chunks_mut(PIXELS)) {
            part.image.write_tensor(normalisation, out);
        }
        let logits = session.run(input)?;
        let mut rows = logits.chunks(self.classes());
        let threshold = self.card.rejection_threshold();
        Ok(images
            .into_iter()
            .map(|parts| {
                let n = parts.len();
                Reading::from_logits(parts, rows.by_ref().take(n), threshold)
            })
            .collect())
    }

    /// A new per-thread state over the shared plan.
    ///
    /// # Errors
    /// [`RunError::Tract`] when tract cannot make the state.
    pub fn session(&self) -> Result<Session, RunError> {
        Ok(Session { state: self.plan.spawn().map_err(RunError::tract)?, classes: self.classes() })
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
    /// The model's output is not one logit per class of its card.
    #[error("output shape {shape:?}, expected [1, {classes}]")]
    OutputShape {
        /// What the model returned.
        shape: Vec<usize>,
        /// Classes in the card.
        classes: usize,
    },
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
