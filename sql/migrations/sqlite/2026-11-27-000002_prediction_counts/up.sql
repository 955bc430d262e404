-- The SQLite twin of migrations/postgres/2026-11-27-000002_prediction_counts:
-- the same counts, kept by row-level triggers (SQLite has no statement-level
-- ones; it has a single writer, so no lock order to keep).
CREATE TABLE prediction_counts (
    everyone        BOOLEAN  NOT NULL,
    owner           TEXT     NOT NULL,
    model_version   TEXT     NOT NULL,
    predicted_digit SMALLINT NOT NULL,
    true_label      SMALLINT NOT NULL,
    n               BIGINT   NOT NULL,
    PRIMARY KEY (everyone, owner, model_version, predicted_digit, true_label)
);

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

INSERT INTO prediction_counts
SELECT 0, owner, model_version, predicted_digit, coalesce(true_label, -1), count(*)
  FROM predictions GROUP BY owner, model_version, predicted_digit, coalesce(true_label, -1);
INSERT INTO prediction_counts
SELECT 1, '', model_version, predicted_digit, coalesce(true_label, -1), count(*)
  FROM predictions GROUP BY model_version, predicted_digit, coalesce(true_label, -1);

DROP INDEX predictions_model_version;
