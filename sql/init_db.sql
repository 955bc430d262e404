-- Digits: the PostgreSQL schema as plain SQL.
--
-- The logging service creates this schema itself at start-up (diesel
-- migrations in sql/migrations/postgres, embedded in the binary). Use this
-- file instead when the schema must be created by hand or by the official
-- postgres image (mount it into /docker-entrypoint-initdb.d/). It records the
-- migration as applied, so the service then finds the schema current.
--
-- A test (services/logging/tests/schema.rs) checks that this file and the
-- migrations produce identical tables, constraints and indexes.

BEGIN;

-- One row per prediction served.
CREATE TABLE predictions (
    -- Row number, assigned by the database; the id clients use for feedback.
    id              BIGSERIAL PRIMARY KEY,
    -- The caller's unique id for the request (the gateway sends a UUID).
    -- Logging the same request twice stores it once: this makes retries safe.
    request_id      TEXT        NOT NULL UNIQUE CHECK (length(request_id) BETWEEN 1 AND 128),
    -- When the prediction was made, in UTC.
    created_at      TIMESTAMP   NOT NULL,
    -- The digit the model predicted.
    predicted_digit SMALLINT    NOT NULL CHECK (predicted_digit BETWEEN 0 AND 9),
    -- The model's probability for predicted_digit.
    confidence      REAL        NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    -- All ten softmax probabilities, digits 0-9, as 10 little-endian float32 (40 bytes).
    probabilities   BYTEA       NOT NULL CHECK (octet_length(probabilities) = 40),
    -- The true digit according to the user; NULL until feedback is given.
    -- "Correct" stores the predicted digit here.
    true_label      SMALLINT             CHECK (true_label BETWEEN 0 AND 9),
    -- When the (latest) feedback was given, in UTC; NULL exactly when true_label is.
    feedback_at     TIMESTAMP,
    -- The version of the model that made the prediction (its model card's version).
    model_version   TEXT        NOT NULL CHECK (length(model_version) BETWEEN 1 AND 64),
    -- The 28x28 MNIST-form image the model saw: 784 bytes, row-major, ink high.
    input           BYTEA       NOT NULL CHECK (octet_length(input) = 784),
    -- Where the request came from: the web app or a direct gRPC client.
    source          TEXT        NOT NULL CHECK (source IN ('web', 'grpc')),
    -- Time the prediction took, in microseconds.
    latency_us      BIGINT      NOT NULL CHECK (latency_us >= 0),
    -- Whose prediction it is: an opaque identity the gateway derives (a hash
    -- of a visitor's cookie or token, or an API key's name); '' for nobody.
    -- Only its owner (and an operator) can read it or give feedback on it.
    owner           TEXT        NOT NULL DEFAULT '' CHECK (length(owner) <= 128),
    CHECK ((true_label IS NULL) = (feedback_at IS NULL))
);

-- Newest-first listing filtered by predicted digit.
CREATE INDEX predictions_digit_id ON predictions (predicted_digit, id);
-- Listing of labelled rows and the stats, which only read labelled rows.
CREATE INDEX predictions_labelled_id ON predictions (id) WHERE true_label IS NOT NULL;
-- Stats per model version.
CREATE INDEX predictions_model_version ON predictions (model_version);
-- A visitor's own history, newest first.
CREATE INDEX predictions_owner_id ON predictions (owner, id);
-- Retention (DIGITS_RETENTION_DAYS) removes old unlabelled rows.
CREATE INDEX predictions_unlabelled_created ON predictions (created_at) WHERE true_label IS NULL;

-- Mark the migrations as applied, as diesel_migrations would.
CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
    version VARCHAR(50) PRIMARY KEY NOT NULL,
    run_on  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO __diesel_schema_migrations (version) VALUES ('20261126000001'), ('20261127000001');

COMMIT;
