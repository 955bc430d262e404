//! The golden fixture a model card names: MNIST-form inputs with the logits
//! the trainer's framework gave for them. A model is served only if tract
//! reproduces them, so an export that went wrong, a file swapped under a
//! card, or an operator that tract runs differently is refused before any
//! caller sees it. Running the fixture also warms the plan up.

use serde::Deserialize;

use crate::error::ModelError;
use crate::model::Model;
use digits_preprocess::PIXELS;

/// `golden.json`.
#[derive(Debug, Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

/// One input and the trainer's logits for it.
#[derive(Debug, Deserialize)]
struct Case {
    pixels: Vec<u8>,
    logits: Vec<f32>,
}

/// The fixture's file name from the card, if it is a plain name in the
/// model's folder (no path).
///
/// # Errors
/// [`ModelError::Golden`] for a name with a path in it.
pub fn file_name(name: &str) -> Result<&str, ModelError> {
    let plain = !name.is_empty() && !name.contains(['/', '\\']) && name != "." && name != "..";
    if plain { Ok(name) } else { Err(ModelError::Golden(format!("{name:?} is not a file name beside model.json"))) }
}

/// Runs every case of the fixture `json` and checks that each logit is
/// within `tolerance` of the trainer's, and that each case's most likely
/// class is the trainer's.
///
/// # Errors
/// [`ModelError::Golden`] saying which case failed and how.
pub fn check(model: &Model, json: &str, tolerance: f32) -> Result<(), ModelError> {
    let fixture: Fixture = serde_json::from_str(json).map_err(|e| ModelError::Golden(e.to_string()))?;
    if fixture.cases.is_empty() {
        return Err(ModelError::Golden("it has no cases".into()));
    }
    if !(tolerance.is_finite() && tolerance > 0.0) {
        return Err(ModelError::Golden(format!("max_abs_logit_diff {tolerance} is not a positive number")));
    }
    let classes = model.classes();
    let norm = model.normalisation();
    let mut input = Vec::with_capacity(fixture.cases.len() * PIXELS);
    for (i, case) in fixture.cases.iter().enumerate() {
        if case.pixels.len() != PIXELS || case.logits.len() != classes || !case.logits.iter().all(|v| v.is_finite()) {
            return Err(ModelError::Golden(format!(
                "case {i} has {} pixels and {} logits; expected {PIXELS} and {classes} finite ones",
                case.pixels.len(),
                case.logits.len()
            )));
        }
        input.extend(case.pixels.iter().map(|&p| f32::from(p) * norm.scale + norm.offset));
    }
    let logits = model.run(&input).map_err(|e| ModelError::Golden(e.to_string()))?;
    for (i, (case, row)) in fixture.cases.iter().zip(logits.chunks(classes)).enumerate() {
        if !row.iter().all(|v| v.is_finite()) {
            return Err(ModelError::Golden(format!("case {i}: the served logits are not all finite: {row:?}")));
        }
        let worst = row.iter().zip(&case.logits).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        if worst > tolerance || argmax(row) != argmax(&case.logits) {
            return Err(ModelError::Golden(format!(
                "case {i}: served logits differ from the trainer's by {worst:.2e} (allowed {tolerance:.2e})"
            )));
        }
    }
    Ok(())
}

fn argmax(row: &[f32]) -> usize {
    row.iter().enumerate().fold(0, |best, (i, &v)| if v > row[best] { i } else { best })
}
