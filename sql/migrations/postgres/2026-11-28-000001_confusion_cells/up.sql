-- The examples behind one cell of the confusion matrix, newest first,
-- without reading the rest of the labelled rows: a digit read as another
-- (predicted_digit, true_label), and a drawing called "not a digit" that
-- was something else (verdict, true_label). Without them a rare or empty
-- cell scans every labelled row, or the whole table (230 ms at a million
-- rows on PostgreSQL for "not a digit" that was a 4).
CREATE INDEX predictions_cell_id ON predictions (predicted_digit, true_label, id);
CREATE INDEX predictions_verdict_label_id ON predictions (verdict, true_label, id);
