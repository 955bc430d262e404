-- The SQLite twin of migrations/postgres/2026-11-27-000001_add_owner.
ALTER TABLE predictions ADD COLUMN owner TEXT NOT NULL DEFAULT '' CHECK (length(owner) <= 128);
CREATE INDEX predictions_owner_id ON predictions (owner, id);
CREATE INDEX predictions_unlabelled_created ON predictions (created_at) WHERE true_label IS NULL;
