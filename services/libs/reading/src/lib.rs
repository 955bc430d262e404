//! What a drawing says: one digit, a number of several, or not a digit.
//! The one definition of it, shared by the inference service (which answers
//! and logs it) and the web app (which reads drafts in the page with the same
//! model): both must come to the same verdict for the same logits.
//!
//! Each part of the drawing (see `digits_preprocess::to_parts`) is scored on
//! its own; the verdict follows from the parts:
//!
//! - any part the model calls "not a digit" (P(not a digit) at or above the
//!   card's threshold) makes the whole drawing [`Verdict::NotADigit`]: one
//!   smudge in a number is enough to distrust it;
//! - else one part is [`Verdict::Digit`] and several are
//!   [`Verdict::SeveralDigits`], read left to right into [`Reading::number`].
//!
//! The single-digit fields of the answers describe the **deciding part**
//! ([`Reading::deciding`]): the only part of a digit, the least confident
//! part of a number, and the part most likely not a digit otherwise.

use digits_preprocess::{MnistImage, Part, Rect};

/// The probabilities of one image: each digit, and "not a digit".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probabilities {
    /// Digits 0-9. With a "not a digit" class they sum to `1 - not_a_digit`.
    pub digits: [f32; 10],
    /// The probability that the image is not a digit; 0 for a model without that class.
    pub not_a_digit: f32,
}

/// Softmax of one row of 10 or 11 logits (the eleventh: "not a digit").
pub fn softmax(logits: &[f32]) -> Probabilities {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|&l| (l - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    let mut digits = [0f32; 10];
    for (d, &e) in digits.iter_mut().zip(&exp) {
        *d = e / sum;
    }
    Probabilities { digits, not_a_digit: exp.get(10).map_or(0.0, |e| e / sum) }
}

/// One scored part of a drawing.
#[derive(Debug, Clone)]
pub struct ScoredPart {
    /// Where it is in the submitted image.
    pub bounds: Rect,
    /// What the model saw.
    pub input: MnistImage,
    /// What the model said.
    pub probabilities: Probabilities,
}

impl ScoredPart {
    /// The most probable digit.
    pub fn digit(&self) -> u32 {
        let p = &self.probabilities.digits;
        (0..10).fold(0, |best, d| if p[d] > p[best] { d } else { best }) as u32
    }

    /// The probability of [`ScoredPart::digit`].
    pub fn confidence(&self) -> f32 {
        self.probabilities.digits[self.digit() as usize]
    }
}

/// What the drawing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// One digit.
    Digit,
    /// Not a digit (a letter, a doodle, a scribble), or a number with such a part.
    NotADigit,
    /// A number of two or more digits.
    SeveralDigits,
}

impl Verdict {
    /// The name used in JSON and in the log: `digit`, `not_a_digit`, `several_digits`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Digit => "digit",
            Self::NotADigit => "not_a_digit",
            Self::SeveralDigits => "several_digits",
        }
    }
}

/// A drawing's parts, scored, and what they add up to.
#[derive(Debug, Clone)]
pub struct Reading {
    /// The parts, left to right; never empty.
    pub parts: Vec<ScoredPart>,
    /// What the drawing is.
    pub verdict: Verdict,
    /// The index in `parts` of the deciding part (see the module docs).
    pub deciding: usize,
}

impl Reading {
    /// Decides the verdict of `parts` (at least one) with the model's
    /// rejection threshold (`None`: the model cannot say "not a digit").
    ///
    /// # Panics
    /// If `parts` is empty.
    pub fn new(parts: Vec<ScoredPart>, threshold: Option<f32>) -> Self {
        assert!(!parts.is_empty(), "a reading has at least one part");
        let most_doubtful = index_of_max(&parts, |p| p.probabilities.not_a_digit);
        let rejected = threshold.is_some_and(|t| parts[most_doubtful].probabilities.not_a_digit >= t);
        let (verdict, deciding) = if rejected {
            (Verdict::NotADigit, most_doubtful)
        } else if parts.len() == 1 {
            (Verdict::Digit, 0)
        } else {
            (Verdict::SeveralDigits, index_of_max(&parts, |p| -p.confidence()))
        };
        Self { parts, verdict, deciding }
    }

    /// The reading of a drawing's `parts` (at least one) from the model's
    /// logits, one row of 10 or 11 per part in the same order: what the
    /// server answers and what the page shows as its draft, alike.
    ///
    /// # Panics
    /// If `parts` is empty.
    pub fn from_logits<'a>(
        parts: Vec<Part>,
        rows: impl IntoIterator<Item = &'a [f32]>,
        threshold: Option<f32>,
    ) -> Self {
        let scored = parts
            .into_iter()
            .zip(rows)
            .map(|(part, row)| ScoredPart { bounds: part.bounds, input: part.image, probabilities: softmax(row) })
            .collect();
        Self::new(scored, threshold)
    }

    /// The digits read left to right (`"7"`, `"42"`); empty when not a digit.
    pub fn number(&self) -> String {
        match self.verdict {
            Verdict::NotADigit => String::new(),
            _ => self.parts.iter().map(|p| char::from_digit(p.digit(), 10).unwrap_or('?')).collect(),
        }
    }

    /// The deciding part.
    pub fn decided_by(&self) -> &ScoredPart {
        &self.parts[self.deciding]
    }
}

/// The first index with the largest `key`.
fn index_of_max(parts: &[ScoredPart], key: impl Fn(&ScoredPart) -> f32) -> usize {
    (0..parts.len()).fold(0, |best, i| if key(&parts[i]) > key(&parts[best]) { i } else { best })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(digit: usize, p: f32, not_a_digit: f32) -> ScoredPart {
        let mut digits = [(1.0 - p - not_a_digit) / 9.0; 10];
        digits[digit] = p;
        ScoredPart {
            bounds: Rect { x: 0, y: 0, width: 1, height: 1 },
            input: MnistImage::from_pixels(&[0; 784]).expect("784 bytes"),
            probabilities: Probabilities { digits, not_a_digit },
        }
    }

    #[test]
    fn one_confident_part_is_a_digit() {
        let r = Reading::new(vec![part(7, 0.98, 0.01)], Some(0.5));
        assert_eq!((r.verdict, r.number(), r.deciding), (Verdict::Digit, "7".to_owned(), 0));
    }

    #[test]
    fn a_number_is_decided_by_its_least_confident_part() {
        let r = Reading::new(vec![part(4, 0.99, 0.0), part(2, 0.7, 0.1), part(1, 0.9, 0.0)], Some(0.5));
        assert_eq!((r.verdict, r.number(), r.deciding), (Verdict::SeveralDigits, "421".to_owned(), 1));
    }

    #[test]
    fn one_rejected_part_makes_the_whole_drawing_not_a_digit() {
        let r = Reading::new(vec![part(4, 0.9, 0.05), part(0, 0.1, 0.6), part(1, 0.3, 0.55)], Some(0.5));
        assert_eq!((r.verdict, r.number(), r.deciding), (Verdict::NotADigit, String::new(), 1));
        // At the threshold exactly, too.
        assert_eq!(Reading::new(vec![part(3, 0.5, 0.5)], Some(0.5)).verdict, Verdict::NotADigit);
    }

    #[test]
    fn without_a_threshold_nothing_is_rejected() {
        assert_eq!(Reading::new(vec![part(3, 0.1, 0.9)], None).verdict, Verdict::Digit);
    }
}
