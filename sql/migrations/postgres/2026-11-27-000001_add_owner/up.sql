-- Whose prediction each row is: an opaque identity the gateway derives (a
-- visitor's cookie, a token, an API key's name). Rows from before owners
-- existed belong to nobody ('') and are seen only through the admin views.
ALTER TABLE predictions ADD COLUMN owner TEXT NOT NULL DEFAULT '' CHECK (length(owner) <= 128);
-- A visitor's own history, newest first.
CREATE INDEX predictions_owner_id ON predictions (owner, id);
-- Retention removes old unlabelled rows.
CREATE INDEX predictions_unlabelled_created ON predictions (created_at) WHERE true_label IS NULL;
