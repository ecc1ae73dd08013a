-- floor plans (services/floors): a building's floors with their plan image (PNG or SVG, checked
-- at upload, at most FLOOR_PLAN_MAX_BYTES; a bounded number per building) and where each device
-- sits on its floor's plan (x, y: fractions 0..1 of the plan's width and height from its top
-- left). A placement's floor is the device's registered floor when it was placed.
CREATE TABLE IF NOT EXISTS floor_plans (
  building TEXT NOT NULL,
  floor INTEGER NOT NULL,
  community TEXT NOT NULL,
  content_type TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  width INTEGER,
  height INTEGER,
  data BYTEA NOT NULL,
  updated_at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  PRIMARY KEY (building, floor)
);
CREATE TABLE IF NOT EXISTS device_placements (
  device TEXT PRIMARY KEY,
  building TEXT NOT NULL,
  community TEXT NOT NULL,
  floor INTEGER NOT NULL,
  x DOUBLE PRECISION NOT NULL,
  y DOUBLE PRECISION NOT NULL,
  updated_at BIGINT NOT NULL,
  actor TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS device_placements_building ON device_placements(building, floor);
