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
        /// "digit", "not_a_digit" or "several_digits".
        verdict -> Text,
        /// The digits read, left to right; '' for not a digit.
        number -> Text,
        /// Every part: a protobuf `digits.logging.v1.Parts` (the deciding part's input left out).
        parts -> Nullable<Binary>,
        /// The right number, when the user corrected a number.
        true_number -> Nullable<Text>,
        /// Which reading of the drawing the row holds; 0 for the first.
        revision -> Integer,
    }
}

diesel::table! {
    /// How many predictions there are per owner, model version, predicted
    /// class and true label; kept by triggers on `predictions` (see the
    /// `prediction_counts` and `verdicts` migrations), read by the statistics.
    prediction_counts (everyone, owner, model_version, predicted_class, true_label) {
        /// True for the counts over every owner (then `owner` is '').
        everyone -> Bool,
        /// Whose predictions these are.
        owner -> Text,
        /// The model's version.
        model_version -> Text,
        /// The predicted digit 0-9, 10 for not a digit, 11 for a number.
        predicted_class -> SmallInt,
        /// The true label (as `predictions.true_label`), or -1 before feedback.
        true_label -> SmallInt,
        /// How many predictions.
        n -> BigInt,
    }
}
