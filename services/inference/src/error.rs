//! Errors of the inference service and how they map to gRPC status codes.

use digits_preprocess::PreprocessError;
use digits_proto::inference::metadata::ErrorKind;

/// A request failed.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// The request itself is wrong (bad image, missing field, too many images).
    #[error("{0}")]
    Invalid(String),
    /// The encoded image declares a size beyond the decoder's limits.
    #[error("{0}")]
    TooLarge(String),
    /// The image could not be turned into MNIST form.
    #[error(transparent)]
    Preprocess(#[from] PreprocessError),
    /// One image of a batch is invalid: which one, and why.
    #[error("images[{index}]: {error}")]
    InvalidImage {
        /// Its position in the request.
        index: usize,
        /// What is wrong with it.
        error: Box<InferError>,
    },
    /// Every worker is busy and the queue is full.
    #[error("the server is busy ({queued} jobs queued); retry shortly")]
    Busy {
        /// Jobs waiting.
        queued: usize,
    },
    /// The caller's deadline passed before a worker reached the job, which
    /// was dropped without running.
    #[error("the deadline passed before the job ran")]
    Expired,
    /// The model failed; a bug, not the caller's fault.
    #[error("inference failed: {0}")]
    Model(#[from] crate::model::RunError),
    /// A worker stopped; a bug, not the caller's fault.
    #[error("inference failed: {0}")]
    Internal(String),
}

impl InferError {
    /// Records which image of a request an input error is about.
    pub fn at_index(self, index: usize) -> Self {
        match self {
            Self::Invalid(_) | Self::TooLarge(_) | Self::Preprocess(_) => {
                Self::InvalidImage { index, error: Box::new(self) }
            }
            other => other,
        }
    }

    /// The error without the image index, for a request of one image.
    pub fn without_index(self) -> Self {
        match self {
            Self::InvalidImage { error, .. } => *error,
            other => other,
        }
    }
}

impl InferError {
    /// The kind of error, as clients see it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Preprocess(PreprocessError::Empty { .. } | PreprocessError::NoDigit { .. }) => {
                ErrorKind::EmptyDrawing
            }
            Self::Preprocess(PreprocessError::TooSmall { .. }) => ErrorKind::TooSmall,
            Self::Preprocess(PreprocessError::ZeroSize { .. }) => ErrorKind::EmptyImage,
            Self::TooLarge(_) | Self::Preprocess(PreprocessError::TooLarge { .. }) => ErrorKind::ImageTooLarge,
            Self::InvalidImage { error, .. } => error.kind(),
            Self::Invalid(_) | Self::Preprocess(_) => ErrorKind::InvalidImage,
            Self::Busy { .. } => ErrorKind::Busy,
            Self::Expired => ErrorKind::Expired,
            Self::Model(_) | Self::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl From<InferError> for tonic::Status {
    fn from(e: InferError) -> Self {
        let kind = e.kind();
        let mut status = match e {
            InferError::Invalid(_)
            | InferError::TooLarge(_)
            | InferError::Preprocess(_)
            | InferError::InvalidImage { .. } => Self::invalid_argument(e.to_string()),
            InferError::Busy { .. } => Self::resource_exhausted(e.to_string()),
            InferError::Expired => Self::deadline_exceeded(e.to_string()),
            InferError::Model(_) | InferError::Internal(_) => {
                tracing::error!(error = %e, "inference failed");
                Self::internal(e.to_string())
            }
        };
        // The kind travels as metadata, so a client (the gateway) can tell an empty
        // drawing from a corrupt file without parsing the message.
        kind.attach(&mut status);
        status
    }
}

/// Loading the model failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The model card is not valid JSON of the expected shape.
    #[error("model card: {0}")]
    Card(#[from] serde_json::Error),
    /// tract could not load or optimise the ONNX graph.
    #[error("loading the ONNX model: {0}")]
    Onnx(String),
    /// The graph does not take `[N,1,28,28]` and give `[N,10]`.
    #[error("the model does not fit the Digits contract: {0}")]
    Contract(String),
    /// `model.onnx` is not the file its card describes (a partial copy, or
    /// a card from another model).
    #[error("model.onnx has SHA-256 {actual}, but its card says {expected}")]
    Checksum {
        /// From the card.
        expected: String,
        /// Of the file.
        actual: String,
    },
    /// The model does not reproduce its golden fixture.
    #[error("golden fixture: {0}")]
    Golden(String),
}

impl From<crate::repository::UnknownVersion> for tonic::Status {
    fn from(e: crate::repository::UnknownVersion) -> Self {
        let mut status = Self::not_found(e.to_string());
        ErrorKind::UnknownVersion.attach(&mut status);
        status
    }
}
