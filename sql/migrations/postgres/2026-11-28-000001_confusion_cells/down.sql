DROP INDEX predictions_verdict_label_id;
DROP INDEX predictions_cell_id;
