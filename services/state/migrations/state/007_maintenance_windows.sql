-- A building's scheduled maintenance windows (services/maintenance/windows.ts): weekly (weekday
-- 1 = Monday … 7 = Sunday) or monthly (day_of_month), from start_at (local HH:MM in FC_TIME_ZONE)
-- for minutes; devices is a JSON list of device ids, or NULL for every device of the building.
CREATE TABLE IF NOT EXISTS maintenance_windows (
  id TEXT PRIMARY KEY,
  building TEXT NOT NULL,
  community TEXT NOT NULL,
  weekday INTEGER,
  day_of_month INTEGER,
  start_at TEXT NOT NULL,
  minutes INTEGER NOT NULL,
  devices TEXT,
  created_at INTEGER NOT NULL,
  actor TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS maintenance_windows_building ON maintenance_windows(building);
