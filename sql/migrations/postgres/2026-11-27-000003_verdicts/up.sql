-- Drawings that are not one digit. A prediction now says what the drawing
-- is (verdict), the number it read, and every part it found; feedback can
-- say "not a digit" or give the right number.
--
-- true_label, by value: 0-9 the digit drawn; 10 not a digit; 11 a number,
-- read right; 12 another number (in true_number).
ALTER TABLE predictions
    ADD COLUMN verdict TEXT NOT NULL DEFAULT 'digit' CHECK (verdict IN ('digit', 'not_a_digit', 'several_digits')),
    ADD COLUMN number TEXT NOT NULL DEFAULT '' CHECK (number ~ '^[0-9]{0,8}$'),
    ADD COLUMN parts BYTEA CHECK (octet_length(parts) <= 8192),
    ADD COLUMN true_number TEXT CHECK (true_number ~ '^[0-9]{2,8}$'),
    DROP CONSTRAINT predictions_true_label_check,
    ADD CONSTRAINT predictions_true_label_check CHECK (true_label BETWEEN 0 AND 12);

-- Every row so far was one digit.
UPDATE predictions SET number = predicted_digit::text;

ALTER TABLE predictions
    ADD CONSTRAINT predictions_number_fits_verdict CHECK (
        CASE verdict WHEN 'digit' THEN number = predicted_digit::text WHEN 'not_a_digit' THEN number = '' ELSE length(number) >= 2 END),
    ADD CONSTRAINT predictions_true_number_fits_label CHECK ((true_number IS NOT NULL) = (true_label IS NOT DISTINCT FROM 12));

-- The counts are per predicted class: the digit, 10 for not a digit, 11 for a number.
ALTER TABLE prediction_counts RENAME COLUMN predicted_digit TO predicted_class;

CREATE OR REPLACE FUNCTION count_predictions() RETURNS trigger LANGUAGE plpgsql AS $$
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
