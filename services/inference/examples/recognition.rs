//! Measures recognition beyond one clean digit through the serving pipeline:
//! splitting, MNIST form, the model and the verdict, exactly as a request.
//!
//! ```text
//! cargo xtask recognition    # writes the drawings once, then runs this
//! ```
//!
//! Prints, per kind of drawing, how many were read exactly (digits and
//! numbers) or rejected (non-digits), what the single digits read wrongly
//! were taken for, then the same at other thresholds.
//! `DIGITS_MODEL_DIR` measures another model than the embedded one.

use std::collections::BTreeMap;

use anyhow::Context;
use digits_inference::config::ModelSource;
use digits_inference::model::Model;
use digits_inference::reading::{Reading, ScoredPart, Verdict};
use digits_preprocess::{ImageView, Limits, PixelFormat};
use serde::Deserialize;

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
}

impl Scored {
    /// Whether the pipeline got it right at `threshold`.
    fn right(&self, threshold: Option<f32>) -> bool {
        let reading = Reading::new(self.parts.clone(), threshold);
        match (self.expected.is_empty(), reading.verdict) {
            (true, verdict) => verdict == Verdict::NotADigit,
            (false, Verdict::NotADigit) => false,
            (false, _) => reading.number() == self.expected,
        }
    }

    fn rejected(&self, threshold: Option<f32>) -> bool {
        Reading::new(self.parts.clone(), threshold).verdict == Verdict::NotADigit
    }
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
    let mut empty = 0;
    for d in &index.drawings {
        let bytes = &pixels[d.offset..d.offset + (d.width * d.height) as usize];
        let view = ImageView::new(d.width, d.height, PixelFormat::Gray8, bytes)?;
        let Ok(parts) = digits_preprocess::to_parts(&view, &Limits::default()) else {
            empty += 1;
            continue;
        };
        let reading = model.read(&mut session, vec![parts], &mut input)?.pop().context("one reading per image")?;
        scored.push(Scored { kind: d.kind.clone(), expected: d.expected.clone(), parts: reading.parts });
    }
    println!("{} drawings ({empty} rejected as empty, counted as wrong)\n", index.drawings.len());

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

    let share = |pick: &dyn Fn(&Scored) -> bool, test: &dyn Fn(&Scored) -> bool| {
        let chosen: Vec<&Scored> = scored.iter().filter(|s| pick(s)).collect();
        100.0 * chosen.iter().filter(|s| test(s)).count() as f64 / chosen.len().max(1) as f64
    };
    let is_digit = |s: &Scored| s.kind.starts_with("digit");
    let is_other = |s: &Scored| s.expected.is_empty();
    println!("\nthreshold  digits rejected  non-digits rejected  numbers read exactly (2 / 3 / 4 digits)");
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
            "{t:<10} {:>14.2}%  {:>18.2}%  {}{mark}",
            share(&is_digit, &|s: &Scored| s.rejected(at)),
            share(&is_other, &|s: &Scored| s.rejected(at)),
            numbers.join(" / ")
        );
    }
    Ok(())
}
