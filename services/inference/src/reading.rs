//! What a drawing says: the shared definition in `digits-reading`.

pub use digits_reading::{Probabilities, Reading, ScoredPart, Verdict, softmax};
