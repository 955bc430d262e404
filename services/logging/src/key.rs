//! How a caller names one prediction: by its row id or by the request id it
//! was logged with. Its own module, so errors can name a key without
//! depending on the queries.

/// How a caller names one prediction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PredictionKey {
    /// The database id.
    Id(i64),
    /// The request id it was logged with.
    RequestId(String),
}

impl From<i64> for PredictionKey {
    fn from(id: i64) -> Self {
        Self::Id(id)
    }
}

impl std::fmt::Display for PredictionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => write!(f, "{id}"),
            Self::RequestId(request_id) => write!(f, "with request id {request_id:?}"),
        }
    }
}
