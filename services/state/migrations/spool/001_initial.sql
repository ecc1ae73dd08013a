-- firecircle spool.db, schema 1: acknowledged messages waiting for the telemetry store, and
-- those the store refused for good.
CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS spool_refused (
  id INTEGER PRIMARY KEY,
  body TEXT NOT NULL,
  reason TEXT NOT NULL,
  refused_at INTEGER NOT NULL
);
