DROP INDEX predictions_unlabelled_created;
DROP INDEX predictions_owner_id;
ALTER TABLE predictions DROP COLUMN owner;
