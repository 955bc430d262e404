-- The SQLite twin of migrations/postgres/2026-11-27-000003_verdicts. SQLite
-- cannot change a column's CHECK in place, so the table is rebuilt with the
-- new columns and the wider true_label, then its indexes and counting
-- triggers are made again.
--
-- true_label, by value: 0-9 the digit drawn; 10 not a digit; 11 a number,
-- read right; 12 another number (in true_number).
CREATE TABLE predictions_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    request_id      TEXT     NOT NULL UNIQUE CHECK (length(request_id) BETWEEN 1 AND 128),
    created_at      TIMESTAMP NOT NULL,
    predicted_digit SMALLINT NOT NULL CHECK (predicted_digit BETWEEN 0 AND 9),
    confidence      REAL     NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    probabilities   BLOB     NOT NULL CHECK (length(probabilities) = 40),
    true_label      SMALLINT          CHECK (true_label BETWEEN 0 AND 12),
    feedback_at     TIMESTAMP,
    model_version   TEXT     NOT NULL CHECK (length(model_version) BETWEEN 1 AND 64),
    input           BLOB     NOT NULL CHECK (length(input) = 784),
    source          TEXT     NOT NULL CHECK (source IN ('web', 'grpc')),
    latency_us      BIGINT   NOT NULL CHECK (latency_us >= 0),
    owner           TEXT     NOT NULL DEFAULT '' CHECK (length(owner) <= 128),
    verdict         TEXT     NOT NULL DEFAULT 'digit' CHECK (verdict IN ('digit', 'not_a_digit', 'several_digits')),
    number          TEXT     NOT NULL DEFAULT '' CHECK (length(number) <= 8 AND number NOT GLOB '*[^0-9]*'),
    parts           BLOB              CHECK (length(parts) <= 8192),
    true_number     TEXT              CHECK (length(true_number) BETWEEN 2 AND 8 AND true_number NOT GLOB '*[^0-9]*'),
    CHECK ((true_label IS NULL) = (feedback_at IS NULL)),
    CONSTRAINT predictions_number_fits_verdict CHECK (
        CASE verdict WHEN 'digit' THEN number = CAST(predicted_digit AS TEXT) WHEN 'not_a_digit' THEN number = '' ELSE length(number) >= 2 END),
    CONSTRAINT predictions_true_number_fits_label CHECK ((true_number IS NOT NULL) = (true_label IS 12))
);

INSERT INTO predictions_new (id, request_id, created_at, predicted_digit, confidence, probabilities, true_label,
                             feedback_at, model_version, input, source, latency_us, owner, verdict, number)
SELECT id, request_id, created_at, predicted_digit, confidence, probabilities, true_label,
       feedback_at, model_version, input, source, latency_us, owner, 'digit', CAST(predicted_digit AS TEXT)
  FROM predictions;

DROP TABLE predictions;
ALTER TABLE predictions_new RENAME TO predictions;

CREATE INDEX predictions_digit_id ON predictions (predicted_digit, id);
CREATE INDEX predictions_labelled_id ON predictions (id) WHERE true_label IS NOT NULL;
CREATE INDEX predictions_owner_id ON predictions (owner, id);
CREATE INDEX predictions_unlabelled_created ON predictions (created_at) WHERE true_label IS NULL;

-- The counts are per predicted class: the digit, 10 for not a digit, 11 for a number.
ALTER TABLE prediction_counts RENAME COLUMN predicted_digit TO predicted_class;

CREATE TRIGGER predictions_counted_insert AFTER INSERT ON predictions BEGIN
    INSERT INTO prediction_counts (everyone, owner, model_version, predicted_class, true_label, n)
    VALUES (0, NEW.owner, NEW.model_version,
            CASE NEW.verdict WHEN 'not_a_digit' THEN 10 WHEN 'several_digits' THEN 11 ELSE NEW.predicted_digit END,
            coalesce(NEW.true_label, -1), 1),
           (1, '', NEW.model_version,
            CASE NEW.verdict WHEN 'not_a_digit' THEN 10 WHEN 'several_digits' THEN 11 ELSE NEW.predicted_digit END,
            coalesce(NEW.true_label, -1), 1)
        ON CONFLICT (everyone, owner, model_version, predicted_class, true_label) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER predictions_counted_update
    AFTER UPDATE OF owner, model_version, predicted_digit, true_label, verdict ON predictions BEGIN
    INSERT INTO prediction_counts (everyone, owner, model_version, predicted_class, true_label, n)
    VALUES (0, OLD.owner, OLD.model_version,
            CASE OLD.verdict WHEN 'not_a_digit' THEN 10 WHEN 'several_digits' THEN 11 ELSE OLD.predicted_digit END,
            coalesce(OLD.true_label, -1), -1),
           (1, '', OLD.model_version,
            CASE OLD.verdict WHEN 'not_a_digit' THEN 10 WHEN 'several_digits' THEN 11 ELSE OLD.predicted_digit END,
            coalesce(OLD.true_label, -1), -1),
           (0, NEW.owner, NEW.model_version,
            CASE NEW.verdict WHEN 'not_a_digit' THEN 10 WHEN 'several_digits' THEN 11 ELSE NEW.predicted_digit END,
            coalesce(NEW.true_label, -1), 1),
           (1, '', NEW.model_version,
            CASE NEW.verdict WHEN 'not_a_digit' THEN 10 WHEN 'several_digits' THEN 11 ELSE NEW.predicted_digit END,
            coalesce(NEW.true_label, -1), 1)
        ON CONFLICT (everyone, owner, model_version, predicted_class, true_label) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER predictions_counted_delete AFTER DELETE ON predictions BEGIN
    INSERT INTO prediction_counts (everyone, owner, model_version, predicted_class, true_label, n)
    VALUES (0, OLD.owner, OLD.model_version,
            CASE OLD.verdict WHEN 'not_a_digit' THEN 10 WHEN 'several_digits' THEN 11 ELSE OLD.predicted_digit END,
            coalesce(OLD.true_label, -1), -1),
           (1, '', OLD.model_version,
            CASE OLD.verdict WHEN 'not_a_digit' THEN 10 WHEN 'several_digits' THEN 11 ELSE OLD.predicted_digit END,
            coalesce(OLD.true_label, -1), -1)
        ON CONFLICT (everyone, owner, model_version, predicted_class, true_label) DO UPDATE SET n = n + excluded.n;
END;
