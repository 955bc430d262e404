-- Statistics without scanning predictions: how many predictions there are
-- per owner, model version, predicted digit and true label. Statement-level
-- triggers keep the counts in the same transaction as every insert, feedback
-- and delete, so they always agree with the rows (a batch of rows is one
-- grouped upsert). Each change is counted twice: under its owner, and under
-- everyone (everyone = true, owner = ''), so both kinds of stats read at
-- most versions x 10 x 11 rows.
CREATE TABLE prediction_counts (
    everyone        BOOLEAN  NOT NULL,
    owner           TEXT     NOT NULL,
    model_version   TEXT     NOT NULL,
    predicted_digit SMALLINT NOT NULL,
    -- -1: no feedback yet.
    true_label      SMALLINT NOT NULL,
    n               BIGINT   NOT NULL,
    PRIMARY KEY (everyone, owner, model_version, predicted_digit, true_label)
);

-- Adds each changed row's count (+1 as inserted, -1 as deleted; an update is
-- both) under its owner and under everyone. Ordered, so concurrent writers
-- take the counters' row locks in the same order.
CREATE FUNCTION count_predictions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO prediction_counts AS c
        SELECT s.everyone, s.owner, r.model_version, r.predicted_digit, coalesce(r.true_label, -1), count(*)
          FROM new_rows r CROSS JOIN LATERAL (VALUES (false, r.owner), (true, '')) AS s (everyone, owner)
         GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
            ON CONFLICT (everyone, owner, model_version, predicted_digit, true_label)
            DO UPDATE SET n = c.n + excluded.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO prediction_counts AS c
        SELECT s.everyone, s.owner, r.model_version, r.predicted_digit, coalesce(r.true_label, -1), -count(*)
          FROM old_rows r CROSS JOIN LATERAL (VALUES (false, r.owner), (true, '')) AS s (everyone, owner)
         GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
            ON CONFLICT (everyone, owner, model_version, predicted_digit, true_label)
            DO UPDATE SET n = c.n + excluded.n;
    ELSE
        INSERT INTO prediction_counts AS c
        SELECT s.everyone, s.owner, r.model_version, r.predicted_digit, r.true_label, sum(r.delta)
          FROM (SELECT owner, model_version, predicted_digit, coalesce(true_label, -1) AS true_label, -1 AS delta
                  FROM old_rows
                UNION ALL
                SELECT owner, model_version, predicted_digit, coalesce(true_label, -1), 1
                  FROM new_rows) AS r
               CROSS JOIN LATERAL (VALUES (false, r.owner), (true, '')) AS s (everyone, owner)
         GROUP BY 1, 2, 3, 4, 5 HAVING sum(r.delta) <> 0 ORDER BY 1, 2, 3, 4, 5
            ON CONFLICT (everyone, owner, model_version, predicted_digit, true_label)
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

-- The rows already stored.
INSERT INTO prediction_counts
SELECT s.everyone, s.owner, p.model_version, p.predicted_digit, coalesce(p.true_label, -1), count(*)
  FROM predictions p CROSS JOIN LATERAL (VALUES (false, p.owner), (true, '')) AS s (everyone, owner)
 GROUP BY 1, 2, 3, 4, 5;

-- Only the statistics used this index, and they no longer read predictions.
DROP INDEX predictions_model_version;
