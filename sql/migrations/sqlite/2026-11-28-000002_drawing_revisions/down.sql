ALTER TABLE predictions DROP COLUMN revision;
