//! Errors of the logging store.

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No prediction has that id or request id.
    #[error("prediction {0} not found")]
    NotFound(crate::key::PredictionKey),
    /// The input breaks a rule of the schema (digit range, sizes, ...).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The offending field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The database cannot be reached or refused the connection.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    /// Applying the migrations failed.
    #[error("migrations failed: {0}")]
    Migration(String),
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<StoreError> for tonic::Status {
    fn from(e: StoreError) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as DieselError};
        match &e {
            StoreError::NotFound(_) => Self::not_found(e.to_string()),
            StoreError::Invalid { .. } => Self::invalid_argument(e.to_string()),
            // A server that went read-only under the call is a primary that
            // was just demoted: the write is for the next primary, so the
            // caller tries again, as for a lost connection.
            StoreError::Unavailable(_)
            | StoreError::Database(DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection
                | DatabaseErrorKind::UnableToSendCommand
                | DatabaseErrorKind::ReadOnlyTransaction,
                _,
            )) => Self::unavailable(e.to_string()),
            // libpq reports a server that went away mid-query as an unknown error.
            StoreError::Database(DieselError::DatabaseError(DatabaseErrorKind::Unknown, info))
                if info.message().contains("connection") || info.message().contains("terminating") =>
            {
                Self::unavailable(e.to_string())
            }
            StoreError::Database(_) | StoreError::Migration(_) => {
                tracing::error!(error = %e, "database error");
                Self::internal(e.to_string())
            }
        }
    }
}
