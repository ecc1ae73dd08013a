-- maintenance (services/maintenance): work orders with their history, hazard photos, the
-- false alarms counted per site, the devices and buildings in test mode; and a building's
-- maintenance party (who a work order is assigned to at once).
ALTER TABLE buildings ADD COLUMN maintenance TEXT;
CREATE TABLE IF NOT EXISTS work_orders (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  building TEXT NOT NULL,
  community TEXT NOT NULL,
  street TEXT NOT NULL,
  device TEXT,
  condition TEXT,
  reason TEXT NOT NULL,
  opened_at BIGINT NOT NULL,
  due_at BIGINT NOT NULL,
  assignee TEXT,
  escalations INTEGER NOT NULL DEFAULT 0,
  cleared_at BIGINT,
  photo_type TEXT,
  history TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS work_orders_community ON work_orders(community, status);
CREATE INDEX IF NOT EXISTS work_orders_device ON work_orders(device);
CREATE TABLE IF NOT EXISTS work_order_photos (
  work_order TEXT PRIMARY KEY REFERENCES work_orders(id),
  content_type TEXT NOT NULL,
  data BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS maintenance_false_alarms (
  incident TEXT PRIMARY KEY,
  building TEXT NOT NULL,
  community TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS maintenance_false_alarms_building ON maintenance_false_alarms(building, at);
CREATE TABLE IF NOT EXISTS test_modes (
  target TEXT PRIMARY KEY,
  community TEXT NOT NULL,
  until_at BIGINT NOT NULL,
  started_at BIGINT NOT NULL,
  actor TEXT NOT NULL
);
-- The last test signal of each device (GB 50440: at least 2 simulated fire transmissions a month).
CREATE TABLE IF NOT EXISTS device_tests (
  device TEXT PRIMARY KEY,
  community TEXT NOT NULL,
  at BIGINT NOT NULL,
  signal TEXT NOT NULL
);
