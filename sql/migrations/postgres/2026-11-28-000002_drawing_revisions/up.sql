-- One drawing, one row: while a drawing is being drawn, each later reading
-- of it (a stroke more, an undo) replaces the row's reading and input, and
-- revision says which reading the row holds, so that a late or repeated
-- write of an older one changes nothing.
ALTER TABLE predictions ADD COLUMN revision INTEGER NOT NULL DEFAULT 0 CHECK (revision >= 0);
