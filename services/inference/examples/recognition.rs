//! Measures recognition beyond one clean digit through the serving pipeline:
//! splitting, MNIST form, the model and the verdict, exactly as a request.
//!
//! ```text
//! cargo xtask recognition    # writes the drawings once, then runs this
//! ```
//!
//! Prints, per kind of drawing, how many were read exactly (digits and
//! numbers), rejected (non-digits) or never shown as a digit at
//! [`FIRST_TOUCH_SURE`] or more (taps and first strokes, where "too small to
//! read" is right), what the single digits read wrongly were taken for, how
//! well the confidence of the canvas digits is calibrated, then the same at
//! other thresholds.
//! `DIGITS_MODEL_DIR` measures another model than the embedded one.

use std::collections::BTreeMap;

use anyhow::Context;
use digits_inference::config::ModelSource;
use digits_inference::model::Model;
use digits_inference::reading::{Reading, ScoredPart, Verdict};
use digits_preprocess::{ImageView, Limits, PixelFormat, PreprocessError};
use serde::Deserialize;

/// A tap or a first stroke must never be shown as a digit this sure.
const FIRST_TOUCH_SURE: f32 = 0.8;
/// Bins of the expected calibration error.
const BINS: usize = 15;

#[derive(Deserialize)]
struct Index {
    drawings: Vec<Drawing>,
}

#[derive(Deserialize)]
struct Drawing {
    kind: String,
    expected: String,
    width: u32,
    height: u32,
    offset: usize,
}

/// A drawing scored once; its verdict is decided again at every threshold.
struct Scored {
    kind: String,
    expected: String,
    parts: Vec<ScoredPart>,
    /// Refused before the model: too small to read.
    too_small: bool,
}

impl Scored {
    fn first_touch(&self) -> bool {
        self.kind.starts_with("first-touch")
    }

    /// Whether the pipeline got it right at `threshold`.
    fn right(&self, threshold: Option<f32>) -> bool {
        if self.first_touch() {
            return !self.shown_as_digit(threshold);
        }
        if self.too_small {
            return false;
        }
        let reading = Reading::new(self.parts.clone(), threshold);
        match (self.expected.is_empty(), reading.verdict) {
            (true, verdict) => verdict == Verdict::NotADigit,
            (false, Verdict::NotADigit) => false,
            (false, _) => reading.number() == self.expected,
        }
    }

    fn rejected(&self, threshold: Option<f32>) -> bool {
        self.too_small || Reading::new(self.parts.clone(), threshold).verdict == Verdict::NotADigit
    }

    /// Whether the page would show a digit (or a number) this sure of every digit.
    fn shown_as_digit(&self, threshold: Option<f32>) -> bool {
        !self.rejected(threshold)
            && self.parts.iter().map(ScoredPart::confidence).fold(1.0f32, f32::min) >= FIRST_TOUCH_SURE
    }
}

/// Expected calibration error of `(confidence, right)` pairs over [`BINS`] bins.
fn calibration_error(answers: &[(f32, bool)]) -> f64 {
    let mut bins = [(0usize, 0f64, 0usize); BINS];
    for &(confidence, right) in answers {
        let bin = &mut bins[((confidence * BINS as f32) as usize).min(BINS - 1)];
        *bin = (bin.0 + 1, bin.1 + f64::from(confidence), bin.2 + usize::from(right));
    }
    let total = answers.len().max(1) as f64;
    bins.iter()
        .filter(|b| b.0 > 0)
        .map(|&(n, confidence, right)| n as f64 / total * (confidence / n as f64 - right as f64 / n as f64).abs())
        .sum()
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::args().nth(1).context("usage: recognition DIR (from digits_training.recognition_set)")?;
    let dir = std::path::Path::new(&dir);
    let index: Index = serde_json::from_slice(&std::fs::read(dir.join("index.json"))?)?;
    let pixels = std::fs::read(dir.join("drawings.bin"))?;
    let source = std::env::var_os("DIGITS_MODEL_DIR").map_or(ModelSource::Embedded, |d| ModelSource::Dir(d.into()));
    let model = Model::load(&source)?;
    let threshold = model.card.rejection_threshold();
    println!("model {} {}, rejection threshold {threshold:?}", model.card.name, model.card.version);

    let mut session = model.session()?;
    let mut input = Vec::new();
    let mut scored = Vec::with_capacity(index.drawings.len());
    let (mut empty, mut too_small) = (0, 0);
    for d in &index.drawings {
        let bytes = &pixels[d.offset..d.offset + (d.width * d.height) as usize];
        let view = ImageView::new(d.width, d.height, PixelFormat::Gray8, bytes)?;
        let parts = match digits_preprocess::to_parts(&view, &Limits::default()) {
            Ok(parts) => parts,
            Err(PreprocessError::TooSmall { .. }) => {
                too_small += 1;
                let (kind, expected) = (d.kind.clone(), d.expected.clone());
                scored.push(Scored { kind, expected, parts: Vec::new(), too_small: true });
                continue;
            }
            Err(_) => {
                empty += 1;
                continue;
            }
        };
        let reading = model.read(&mut session, vec![parts], &mut input)?.pop().context("one reading per image")?;
        let (kind, expected) = (d.kind.clone(), d.expected.clone());
        scored.push(Scored { kind, expected, parts: reading.parts, too_small: false });
    }
    println!(
        "{} drawings ({empty} rejected as empty, {too_small} as too small to read; both wrong but for first touches)\n",
        index.drawings.len()
    );

    // Right, total, and split into the wrong number of parts.
    let mut kinds: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for s in &scored {
        let entry = kinds.entry(s.kind.as_str()).or_default();
        entry.0 += usize::from(s.right(threshold));
        entry.1 += 1;
        entry.2 += usize::from(!s.expected.is_empty() && s.parts.len() != s.expected.len());
    }
    println!("{:<44} {:>9} {:>7}  split wrongly", "kind", "right", "share");
    for (kind, (right, total, split)) in &kinds {
        println!("{kind:<44} {right:>4}/{total:<4} {:>6.2}%  {split}", 100.0 * *right as f64 / *total as f64);
    }

    // What the single digits read wrongly were taken for, by the digit drawn.
    let mut confused: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
    for s in scored.iter().filter(|s| s.kind.starts_with("digit") && !s.right(threshold)) {
        let reading = Reading::new(s.parts.clone(), threshold);
        let read = if reading.verdict == Verdict::NotADigit { "not a digit".to_owned() } else { reading.number() };
        *confused.entry(s.expected.as_str()).or_default().entry(read).or_default() += 1;
    }
    println!("\nsingle digits read wrongly, by the digit drawn:");
    for (digit, reads) in &confused {
        let reads: Vec<String> = reads.iter().map(|(read, n)| format!("\"{read}\" x{n}")).collect();
        println!("  {digit}: {}", reads.join(", "));
    }

    // Calibration: the canvas digits read as one digit, by their confidence.
    let mut answers: Vec<(f32, bool)> = scored
        .iter()
        .filter(|s| s.kind.starts_with("digit") && !s.rejected(threshold) && s.parts.len() == 1)
        .map(|s| (s.parts[0].confidence(), s.right(threshold)))
        .collect();
    let mut right_confidence: Vec<f32> = answers.iter().filter(|a| a.1).map(|a| a.0).collect();
    right_confidence.sort_by(f32::total_cmp);
    println!(
        "\ncalibration of {} canvas digits read as one digit: expected calibration error {:.2}%, \
         median confidence of the right answers {:.2}%",
        answers.len(),
        100.0 * calibration_error(&answers),
        100.0 * right_confidence.get(right_confidence.len() / 2).copied().unwrap_or(0.0)
    );
    answers.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (from, to) in [(0.0, 0.8), (0.8, 0.9), (0.9, 0.96), (0.96, 0.99), (0.99, 1.01)] {
        let inside: Vec<&(f32, bool)> = answers.iter().filter(|a| a.0 >= from && a.0 < to).collect();
        if !inside.is_empty() {
            let right = inside.iter().filter(|a| a.1).count();
            println!(
                "  confidence {:>3.0}-{:>3.0}%: {:>5} answers, {:6.2}% right",
                100.0 * from,
                (100.0 * to).min(100.0),
                inside.len(),
                100.0 * right as f64 / inside.len() as f64
            );
        }
    }

    let share = |pick: &dyn Fn(&Scored) -> bool, test: &dyn Fn(&Scored) -> bool| {
        let chosen: Vec<&Scored> = scored.iter().filter(|s| pick(s)).collect();
        100.0 * chosen.iter().filter(|s| test(s)).count() as f64 / chosen.len().max(1) as f64
    };
    let is_digit = |s: &Scored| s.kind.starts_with("digit");
    let is_other = |s: &Scored| s.expected.is_empty() && !s.first_touch();
    println!(
        "\nthreshold  digits rejected  non-digits rejected  first touches shown as a digit  numbers read exactly (2 / 3 / 4 digits)"
    );
    let mut thresholds = vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
    if let Some(t) = threshold {
        thresholds.push(t);
        thresholds.sort_by(f32::total_cmp);
    }
    for t in thresholds {
        let at = Some(t);
        let numbers: Vec<String> = (2..=4)
            .map(|n| {
                let kind = format!("number-{n}");
                format!("{:.1}%", share(&|s: &Scored| s.kind == kind, &|s: &Scored| s.right(at)))
            })
            .collect();
        let mark = if Some(t) == threshold { "  <- the model's" } else { "" };
        println!(
            "{t:<10} {:>14.2}%  {:>18.2}%  {:>29.2}%  {}{mark}",
            share(&is_digit, &|s: &Scored| s.rejected(at)),
            share(&is_other, &|s: &Scored| s.rejected(at)),
            share(&Scored::first_touch, &|s: &Scored| s.shown_as_digit(at)),
            numbers.join(" / ")
        );
    }
    Ok(())
}
