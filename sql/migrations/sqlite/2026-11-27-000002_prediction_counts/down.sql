CREATE INDEX predictions_model_version ON predictions (model_version);
DROP TRIGGER predictions_counted_delete;
DROP TRIGGER predictions_counted_update;
DROP TRIGGER predictions_counted_insert;
DROP TABLE prediction_counts;
