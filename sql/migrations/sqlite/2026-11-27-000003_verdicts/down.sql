-- Back to single digits: the predictions that were not one digit, and the
-- feedback that said so, are removed; the table is rebuilt as it was.
DELETE FROM predictions WHERE verdict <> 'digit';
UPDATE predictions SET true_label = NULL, feedback_at = NULL WHERE true_label > 9;

CREATE TABLE predictions_old (
    id              INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    request_id      TEXT     NOT NULL UNIQUE CHECK (length(request_id) BETWEEN 1 AND 128),
    created_at      TIMESTAMP NOT NULL,
    predicted_digit SMALLINT NOT NULL CHECK (predicted_digit BETWEEN 0 AND 9),
    confidence      REAL     NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    probabilities   BLOB     NOT NULL CHECK (length(probabilities) = 40),
    true_label      SMALLINT          CHECK (true_label BETWEEN 0 AND 9),
    feedback_at     TIMESTAMP,
    model_version   TEXT     NOT NULL CHECK (length(model_version) BETWEEN 1 AND 64),
    input           BLOB     NOT NULL CHECK (length(input) = 784),
    source          TEXT     NOT NULL CHECK (source IN ('web', 'grpc')),
    latency_us      BIGINT   NOT NULL CHECK (latency_us >= 0),
    owner           TEXT     NOT NULL DEFAULT '' CHECK (length(owner) <= 128),
    CHECK ((true_label IS NULL) = (feedback_at IS NULL))
);
INSERT INTO predictions_old
SELECT id, request_id, created_at, predicted_digit, confidence, probabilities, true_label,
       feedback_at, model_version, input, source, latency_us, owner
  FROM predictions;
DROP TABLE predictions;
ALTER TABLE predictions_old RENAME TO predictions;
CREATE INDEX predictions_digit_id ON predictions (predicted_digit, id);
CREATE INDEX predictions_labelled_id ON predictions (id) WHERE true_label IS NOT NULL;
CREATE INDEX predictions_owner_id ON predictions (owner, id);
CREATE INDEX predictions_unlabelled_created ON predictions (created_at) WHERE true_label IS NULL;

ALTER TABLE prediction_counts RENAME COLUMN predicted_class TO predicted_digit;

CREATE TRIGGER predictions_counted_insert AFTER INSERT ON predictions BEGIN
    INSERT INTO prediction_counts (everyone, owner, model_version, predicted_digit, true_label, n)
    VALUES (0, NEW.owner, NEW.model_version, NEW.predicted_digit, coalesce(NEW.true_label, -1), 1),
           (1, '', NEW.model_version, NEW.predicted_digit, coalesce(NEW.true_label, -1), 1)
        ON CONFLICT (everyone, owner, model_version, predicted_digit, true_label) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER predictions_counted_update AFTER UPDATE OF owner, model_version, predicted_digit, true_label
    ON predictions BEGIN
    INSERT INTO prediction_counts (everyone, owner, model_version, predicted_digit, true_label, n)
    VALUES (0, OLD.owner, OLD.model_version, OLD.predicted_digit, coalesce(OLD.true_label, -1), -1),
           (1, '', OLD.model_version, OLD.predicted_digit, coalesce(OLD.true_label, -1), -1),
           (0, NEW.owner, NEW.model_version, NEW.predicted_digit, coalesce(NEW.true_label, -1), 1),
           (1, '', NEW.model_version, NEW.predicted_digit, coalesce(NEW.true_label, -1), 1)
        ON CONFLICT (everyone, owner, model_version, predicted_digit, true_label) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER predictions_counted_delete AFTER DELETE ON predictions BEGIN
    INSERT INTO prediction_counts (everyone, owner, model_version, predicted_digit, true_label, n)
    VALUES (0, OLD.owner, OLD.model_version, OLD.predicted_digit, coalesce(OLD.true_label, -1), -1),
           (1, '', OLD.model_version, OLD.predicted_digit, coalesce(OLD.true_label, -1), -1)
        ON CONFLICT (everyone, owner, model_version, predicted_digit, true_label) DO UPDATE SET n = n + excluded.n;
END;
