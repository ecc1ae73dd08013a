-- firecircle telemetry.db (the embedded telemetry store), schema 1.
CREATE TABLE IF NOT EXISTS series (
  id INTEGER PRIMARY KEY,
  measurement TEXT NOT NULL,
  -- the tag set as JSON with sorted keys (empty values dropped, as InfluxDB does)
  tags TEXT NOT NULL,
  device TEXT,
  UNIQUE (measurement, tags)
);
CREATE INDEX IF NOT EXISTS series_by_device ON series (device, measurement);
CREATE TABLE IF NOT EXISTS sample (
  series INTEGER NOT NULL,
  field TEXT NOT NULL,
  ts INTEGER NOT NULL,
  -- REAL for numbers, INTEGER for the point's ints and for booleans (0/1), TEXT for strings
  value,
  PRIMARY KEY (series, field, ts)
) WITHOUT ROWID;
