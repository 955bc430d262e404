//! The `predictions` table, matching `sql/migrations/{postgres,sqlite}`.
//! Timestamps are UTC without a zone, the one timestamp type both backends share.

diesel::table! {
    /// One row per prediction served; see `sql/init_db.sql` for every column's meaning.
    predictions (id) {
        /// Row id, assigned by the database.
        id -> BigInt,
        /// The caller's unique request id (idempotency key).
        request_id -> Text,
        /// When the prediction was made (UTC).
        created_at -> Timestamp,
        /// The predicted digit, 0-9.
        predicted_digit -> SmallInt,
        /// The probability of the predicted digit.
        confidence -> Float,
        /// Ten little-endian f32 probabilities.
        probabilities -> Binary,
        /// The user's true label, once given.
        true_label -> Nullable<SmallInt>,
        /// When the latest feedback was given (UTC).
        feedback_at -> Nullable<Timestamp>,
        /// The model's version.
        model_version -> Text,
        /// The 28x28 input, 784 bytes.
        input -> Binary,
        /// "web" or "grpc".
        source -> Text,
        /// Prediction latency in microseconds.
        latency_us -> BigInt,
        /// Whose prediction it is; '' for nobody.
        owner -> Text,
    }
}
