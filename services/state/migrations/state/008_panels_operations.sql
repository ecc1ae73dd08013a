-- panels (issue #19): what was done at a fire panel or its transmission device (GB/T 26875.3
-- types 4 and 24: reset, silence, self-test, a duty check's answer…), as the UITD reported it,
-- for the device's record (GET /api/devices/{id}/operations). Appended once per object, kept
-- before the frame is confirmed; `data` is the operation as JSON.
CREATE TABLE IF NOT EXISTS panel_operations (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  device TEXT NOT NULL,
  at INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS panel_operations_device ON panel_operations (device, at);
