-- panels (issue #19): a fire panel's transmission device (kind uitd) is known by its GB/T 26875.3
-- address and beats every heartbeat_s; a LoRaWAN device by the DevEUI its ChirpStack names it by.
ALTER TABLE devices ADD COLUMN address TEXT;
ALTER TABLE devices ADD COLUMN heartbeat_s BIGINT;
ALTER TABLE devices ADD COLUMN dev_eui TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS devices_address ON devices(address) WHERE address IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS devices_dev_eui ON devices(dev_eui) WHERE dev_eui IS NOT NULL;
