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
    -- The digit the model predicted; for a number or a drawing that is not a
    -- digit, the digit of the part that decided the verdict (see verdict).
    predicted_digit SMALLINT    NOT NULL CHECK (predicted_digit BETWEEN 0 AND 9),
    -- The model's probability for predicted_digit.
    confidence      REAL        NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    -- All ten softmax probabilities, digits 0-9, as 10 little-endian float32 (40 bytes).
    probabilities   BYTEA       NOT NULL CHECK (octet_length(probabilities) = 40),
    -- What the user says was drawn; NULL until feedback is given. 0-9: that
    -- digit ("Correct" stores the predicted digit); 10: not a digit; 11: a
    -- number, read right; 12: another number (true_number holds it).
    true_label      SMALLINT             CHECK (true_label BETWEEN 0 AND 12),
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
    -- What the drawing is: one digit, not a digit, or a number of several.
    verdict         TEXT        NOT NULL DEFAULT 'digit' CHECK (verdict IN ('digit', 'not_a_digit', 'several_digits')),
    -- The digits read, left to right; '' for not a digit.
    number          TEXT        NOT NULL DEFAULT '' CHECK (number ~ '^[0-9]{0,8}$'),
    -- Every part found: a protobuf digits.logging.v1.Parts message (box,
    -- digit, confidence, probabilities, P(not a digit) and 28x28 input of
    -- each); the deciding part's input is not repeated (it is `input`).
    parts           BYTEA                CHECK (octet_length(parts) <= 8192),
    -- The right number, when the user corrected a number (true_label 12).
    true_number     TEXT                 CHECK (true_number ~ '^[0-9]{2,8}$'),
    -- Which reading of the drawing the row holds: 0 for the first; each
    -- later stroke or undo before feedback stores a higher one in its place.
    revision        INTEGER     NOT NULL DEFAULT 0 CHECK (revision >= 0),
    CHECK ((true_label IS NULL) = (feedback_at IS NULL)),
    CONSTRAINT predictions_number_fits_verdict CHECK (
        CASE verdict WHEN 'digit' THEN number = predicted_digit::text WHEN 'not_a_digit' THEN number = '' ELSE length(number) >= 2 END),
    CONSTRAINT predictions_true_number_fits_label CHECK ((true_number IS NOT NULL) = (true_label IS NOT DISTINCT FROM 12))
);

-- Newest-first listing filtered by predicted digit.
CREATE INDEX predictions_digit_id ON predictions (predicted_digit, id);
-- Listing of labelled rows, and the export for retraining.
CREATE INDEX predictions_labelled_id ON predictions (id) WHERE true_label IS NOT NULL;
-- A visitor's own history, newest first.
CREATE INDEX predictions_owner_id ON predictions (owner, id);
-- Retention (DIGITS_RETENTION_DAYS) removes old unlabelled rows.
CREATE INDEX predictions_unlabelled_created ON predictions (created_at) WHERE true_label IS NULL;
-- The examples of one confusion-matrix cell, newest first: a digit read as
-- another, and "not a digit" said of something else.
CREATE INDEX predictions_cell_id ON predictions (predicted_digit, true_label, id);
CREATE INDEX predictions_verdict_label_id ON predictions (verdict, true_label, id);

-- The statistics (GET /api/stats) without scanning predictions: how many
-- predictions there are per owner, model version, predicted class (the
-- digit, 10 for not a digit, 11 for a number) and true label. The triggers below keep the counts in the same transaction as every
-- insert, feedback and delete. Each row is counted twice: under its owner,
-- and under everyone (everyone = true, owner = '').
CREATE TABLE prediction_counts (
    everyone        BOOLEAN  NOT NULL,
    owner           TEXT     NOT NULL,
    model_version   TEXT     NOT NULL,
    predicted_class SMALLINT NOT NULL,
    -- As predictions.true_label; -1: no feedback yet.
    true_label      SMALLINT NOT NULL,
    -- How many predictions have this key.
    n               BIGINT   NOT NULL,
    PRIMARY KEY (everyone, owner, model_version, predicted_class, true_label)
);

-- Adds each changed row's count (+1 as inserted, -1 as deleted; an update is
-- both) under its owner and under everyone. Ordered, so concurrent writers
-- take the counters' row locks in the same order.
CREATE FUNCTION count_predictions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO prediction_counts AS c
        SELECT s.everyone, s.owner, r.model_version,
               CASE r.verdict WHEN 'not_a_digit' THEN 10 WHEN 'several_digits' THEN 11 ELSE r.predicted_digit END,
               coalesce(r.true_label, -1), count(*)
          FROM new_rows r CROSS JOIN LATERAL (VALUES (false, r.owner), (true, '')) AS s (everyone, owner)
         GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
            ON CONFLICT (everyone, owner, model_version, predicted_class, true_label)
            DO UPDATE SET n = c.n + excluded.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO prediction_counts AS c
        SELECT s.everyone, s.owner, r.model_version,
               CASE r.verdict WHEN 'not_a_digit' THEN 10 WHEN 'several_digits' THEN 11 ELSE r.predicted_digit END,
               coalesce(r.true_label, -1), -count(*)
          FROM old_rows r CROSS JOIN LATERAL (VALUES (false, r.owner), (true, '')) AS s (everyone, owner)
         GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
            ON CONFLICT (everyone, owner, model_version, predicted_class, true_label)
            DO UPDATE SET n = c.n + excluded.n;
    ELSE
        INSERT INTO prediction_counts AS c
        SELECT s.everyone, s.owner, r.model_version, r.predicted_class, r.true_label, sum(r.delta)
          FROM (SELECT owner, model_version,
                       CASE verdict WHEN 'not_a_digit' THEN 10 WHEN 'several_digits' THEN 11 ELSE predicted_digit END
                           AS predicted_class,
                       coalesce(true_label, -1) AS true_label, -1 AS delta
                  FROM old_rows
                UNION ALL
                SELECT owner, model_version,
                       CASE verdict WHEN 'not_a_digit' THEN 10 WHEN 'several_digits' THEN 11 ELSE predicted_digit END,
                       coalesce(true_label, -1), 1
                  FROM new_rows) AS r
               CROSS JOIN LATERAL (VALUES (false, r.owner), (true, '')) AS s (everyone, owner)
         GROUP BY 1, 2, 3, 4, 5 HAVING sum(r.delta) <> 0 ORDER BY 1, 2, 3, 4, 5
            ON CONFLICT (everyone, owner, model_version, predicted_class, true_label)
            DO UPDATE SET n = c.n + excluded.n;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER predictions_counted_insert AFTER INSERT ON predictions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_predictions();
CREATE TRIGGER predictions_counted_update AFTER UPDATE ON predictions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_predictions();
CREATE TRIGGER predictions_counted_delete AFTER DELETE ON predictions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_predictions();

-- Mark the migrations as applied, as diesel_migrations would.
CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
    version VARCHAR(50) PRIMARY KEY NOT NULL,
    run_on  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO __diesel_schema_migrations (version) VALUES ('20261126000001'), ('20261127000001'), ('20261127000002'), ('20261127000003'), ('20261128000001'), ('20261128000002');

COMMIT;
