//! The model in the page: drafts are read here, while the drawing is made,
//! with the very model file the server answers this visitor with (the
//! current version or the canary, see `/api/model/page`), run by
//! `digits-onnx-lite`. The file is checked against its SHA-256 before it is
//! used, and the browser keeps it in its cache (its URL never changes what
//! it holds). Parts, probabilities and the verdict come from the same code
//! as the server's (`digits-preprocess`, `digits-reading`), so a draft says
//! what the server would; the stored reading still comes from the server.

use std::cell::RefCell;

use digits_onnx_lite::Model;
use digits_preprocess::{Normalisation, PIXELS, Part};
use digits_reading::{Reading, Verdict as ReadVerdict};
use digits_web_api::{Bounds, Part as PartView, Prediction, Verdict};
use sha2::{Digest, Sha256};

use crate::api;

/// Readings kept for the timing figures.
const TIMINGS: usize = 512;

thread_local! {
    /// How long each recent local reading took, in milliseconds.
    static TIMES: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// The model this visitor's drafts are read with.
pub struct LocalModel {
    /// Its version.
    pub version: String,
    model: Model,
    normalisation: Normalisation,
    threshold: Option<f32>,
    classes: usize,
}

impl LocalModel {
    /// Fetches the model that answers this visitor, checks its checksum and
    /// that it runs here, or says why not (the page then reads drafts on
    /// the server, as before).
    ///
    /// # Errors
    /// A message: the fetch failed, the file is not the one announced, or
    /// the model has an operator this runtime lacks.
    pub async fn load() -> Result<Self, String> {
        let page = api::page_model().await.map_err(|e| e.message)?;
        let bytes = api::bytes(&page.url).await.map_err(|e| e.message)?;
        let actual = hex(&Sha256::digest(&bytes));
        if !actual.eq_ignore_ascii_case(&page.sha256) {
            return Err(format!("the model file's SHA-256 is {actual}, not {}", page.sha256));
        }
        let model = Model::from_onnx(&bytes).map_err(|e| e.to_string())?;
        let classes = page.classes.len();
        if model.input_len() != PIXELS || !(classes == 10 || classes == 11) {
            return Err(format!("a model of {} inputs and {classes} classes", model.input_len()));
        }
        let outputs = model.run(&[0.0; PIXELS]).map_err(|e| e.to_string())?.len();
        if outputs != classes {
            return Err(format!("the model gives {outputs} outputs for {classes} classes"));
        }
        let threshold = (classes == 11 && page.rejection_threshold > 0.0).then_some(page.rejection_threshold);
        Ok(Self {
            version: page.version,
            model,
            normalisation: Normalisation { scale: page.scale, offset: page.offset },
            threshold,
            classes,
        })
    }

    /// Reads a drawing's parts (at least one) as the server would; `None`
    /// if the model fails on them.
    pub fn read(&self, parts: Vec<Part>) -> Option<Prediction> {
        let started = now_ms();
        let mut input = vec![0f32; PIXELS];
        let mut logits = Vec::with_capacity(parts.len() * self.classes);
        for part in &parts {
            part.image.write_tensor(self.normalisation, &mut input);
            logits.extend(self.model.run(&input).ok()?);
        }
        let reading = Reading::from_logits(parts, logits.chunks(self.classes), self.threshold);
        let took = now_ms() - started;
        record(took);
        Some(prediction(&reading, &self.version, took))
    }
}

/// The answer a reading makes, shaped as the server's: the single-digit
/// fields are the deciding part's.
fn prediction(reading: &Reading, version: &str, latency_ms: f64) -> Prediction {
    let parts: Vec<PartView> = reading
        .parts
        .iter()
        .map(|p| PartView {
            bounds: Bounds { x: p.bounds.x, y: p.bounds.y, width: p.bounds.width, height: p.bounds.height },
            digit: p.digit() as u8,
            confidence: p.confidence(),
            probabilities: p.probabilities.digits.to_vec(),
            input: p.input.pixels().to_vec(),
            not_a_digit: p.probabilities.not_a_digit,
        })
        .collect();
    let deciding = parts[reading.deciding].clone();
    Prediction {
        id: None,
        verdict: match reading.verdict {
            ReadVerdict::Digit => Verdict::Digit,
            ReadVerdict::NotADigit => Verdict::NotADigit,
            ReadVerdict::SeveralDigits => Verdict::SeveralDigits,
        },
        number: reading.number(),
        digit: deciding.digit,
        confidence: deciding.confidence,
        probabilities: deciding.probabilities,
        input: deciding.input,
        not_a_digit: deciding.not_a_digit,
        parts,
        model_version: version.to_owned(),
        latency_ms,
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

fn record(ms: f64) {
    TIMES.with(|times| {
        let mut times = times.borrow_mut();
        if times.len() == TIMINGS {
            times.remove(0);
        }
        times.push(ms);
    });
}

/// The recent local readings: how many, and their median and 99th
/// percentile in milliseconds (shown on the page for the curious and the tests).
pub fn timings() -> (usize, f64, f64) {
    TIMES.with(|times| {
        let mut sorted = times.borrow().clone();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| sorted.get(((sorted.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0.0);
        (sorted.len(), at(0.5), at(0.99))
    })
}
