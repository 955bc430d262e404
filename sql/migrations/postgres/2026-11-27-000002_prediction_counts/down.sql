CREATE INDEX predictions_model_version ON predictions (model_version);
DROP TRIGGER predictions_counted_delete ON predictions;
DROP TRIGGER predictions_counted_update ON predictions;
DROP TRIGGER predictions_counted_insert ON predictions;
DROP FUNCTION count_predictions();
DROP TABLE prediction_counts;
