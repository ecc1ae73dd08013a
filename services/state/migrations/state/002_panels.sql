-- panels (issue #19): how a device that does not speak MQTT is known. A fire panel's
-- transmission device (kind uitd) by its GB/T 26875.3 address, beating every heartbeat_s; a
-- LoRaWAN detector by the DevEUI its ChirpStack names it by. A table of its own beside devices,
-- so that the devices rows of an older data dir stay as they were.
CREATE TABLE IF NOT EXISTS device_links (
  device TEXT PRIMARY KEY REFERENCES devices(id),
  address TEXT UNIQUE,
  heartbeat_s INTEGER,
  dev_eui TEXT UNIQUE
);
