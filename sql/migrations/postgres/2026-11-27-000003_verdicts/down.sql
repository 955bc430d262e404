-- Back to single digits: the predictions that were not one digit, and the
-- feedback that said so, are removed (the counts follow through the triggers).
DELETE FROM predictions WHERE verdict <> 'digit';
UPDATE predictions SET true_label = NULL, feedback_at = NULL WHERE true_label > 9;

CREATE OR REPLACE FUNCTION count_predictions() RETURNS trigger LANGUAGE plpgsql AS $$
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

ALTER TABLE prediction_counts RENAME COLUMN predicted_class TO predicted_digit;

ALTER TABLE predictions
    DROP CONSTRAINT predictions_true_number_fits_label,
    DROP CONSTRAINT predictions_number_fits_verdict,
    DROP CONSTRAINT predictions_true_label_check,
    ADD CONSTRAINT predictions_true_label_check CHECK (true_label BETWEEN 0 AND 9),
    DROP COLUMN true_number,
    DROP COLUMN parts,
    DROP COLUMN number,
    DROP COLUMN verdict;
