-- Every prediction the product made, with the user's feedback.
-- sql/init_db.sql is the same schema as plain SQL; a test keeps them equal.
CREATE TABLE predictions (
    id              BIGSERIAL PRIMARY KEY,
    request_id      TEXT        NOT NULL UNIQUE CHECK (length(request_id) BETWEEN 1 AND 128),
    created_at      TIMESTAMP   NOT NULL,
    predicted_digit SMALLINT    NOT NULL CHECK (predicted_digit BETWEEN 0 AND 9),
    confidence      REAL        NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    probabilities   BYTEA       NOT NULL CHECK (octet_length(probabilities) = 40),
    true_label      SMALLINT             CHECK (true_label BETWEEN 0 AND 9),
    feedback_at     TIMESTAMP,
    model_version   TEXT        NOT NULL CHECK (length(model_version) BETWEEN 1 AND 64),
    input           BYTEA       NOT NULL CHECK (octet_length(input) = 784),
    source          TEXT        NOT NULL CHECK (source IN ('web', 'grpc')),
    latency_us      BIGINT      NOT NULL CHECK (latency_us >= 0),
    CHECK ((true_label IS NULL) = (feedback_at IS NULL))
);

-- Newest-first listing filtered by predicted digit.
CREATE INDEX predictions_digit_id ON predictions (predicted_digit, id);
-- Listing of labelled rows and the stats, which only read labelled rows.
CREATE INDEX predictions_labelled_id ON predictions (id) WHERE true_label IS NOT NULL;
-- Stats per model version.
CREATE INDEX predictions_model_version ON predictions (model_version);
