//! What can be wrong with a protocol request.

use crate::MODEL;

/// A request the protocol layer refuses before (or after) the model runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OipError {
    /// The request names a model this server does not serve.
    #[error("unknown model '{0}': this server serves '{MODEL}'")]
    UnknownModel(String),
    /// The tensors (or the JSON around them) are malformed: wrong name,
    /// datatype, shape or byte count.
    #[error("{0}")]
    Invalid(String),
}

impl OipError {
    /// Whether the request names something that does not exist (REST 404),
    /// rather than being malformed (REST 400).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::UnknownModel(_))
    }
}

impl From<OipError> for tonic::Status {
    fn from(error: OipError) -> Self {
        if error.is_not_found() {
            Self::not_found(error.to_string())
        } else {
            Self::invalid_argument(error.to_string())
        }
    }
}
