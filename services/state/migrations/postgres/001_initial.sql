-- firecircle on PostgreSQL (FC_DATABASE_URL), schema 1: the cluster's one database.
--
-- The state tables are those of state.db (../state/001_initial.sql), column for column, so
-- that each repository's PostgreSQL implementation reads and writes the rows its SQLite one
-- does (times are milliseconds since 1970 in BIGINT, JSON documents in TEXT as there). Then
-- what only a cluster has: the intake log (every acknowledged message, PUBACKed only once it
-- is committed here), the nodes and their leases on the partitions of work, and the outbox
-- through which effects reach the node that holds a client's connection.

-- registry: streets, communities, buildings, devices, responders, duty officers, the administrator token
CREATE TABLE IF NOT EXISTS streets (
  name TEXT PRIMARY KEY,
  created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS communities (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  street TEXT NOT NULL REFERENCES streets(name),
  geometry TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS buildings (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  lon DOUBLE PRECISION NOT NULL,
  lat DOUBLE PRECISION NOT NULL,
  community TEXT NOT NULL REFERENCES communities(id),
  street TEXT NOT NULL,
  responsible TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS buildings_community ON buildings(community);
CREATE INDEX IF NOT EXISTS buildings_street ON buildings(street);
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  building TEXT NOT NULL REFERENCES buildings(id),
  community TEXT NOT NULL,
  street TEXT NOT NULL,
  lon DOUBLE PRECISION,
  lat DOUBLE PRECISION,
  floor BIGINT,
  gateway TEXT REFERENCES devices(id),
  thresholds TEXT,
  enabled BIGINT NOT NULL,
  secret_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS devices_building ON devices(building);
CREATE INDEX IF NOT EXISTS devices_community ON devices(community);
CREATE INDEX IF NOT EXISTS devices_street ON devices(street);
CREATE INDEX IF NOT EXISTS devices_gateway ON devices(gateway) WHERE gateway IS NOT NULL;
CREATE TABLE IF NOT EXISTS responders (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  mode TEXT NOT NULL,
  lon DOUBLE PRECISION,
  lat DOUBLE PRECISION,
  on_duty BIGINT NOT NULL,
  building TEXT REFERENCES buildings(id),
  community TEXT,
  street TEXT,
  enabled BIGINT NOT NULL,
  secret_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS responders_community ON responders(community);
CREATE INDEX IF NOT EXISTS responders_street ON responders(street);
CREATE TABLE IF NOT EXISTS officers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  scope TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS admin_token (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  token_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

-- liveness: each device's live state (online, last seen, battery, last rejection)
CREATE TABLE IF NOT EXISTS device_state (
  device TEXT PRIMARY KEY,
  state TEXT NOT NULL
);

-- alarms: incidents and their timelines
CREATE TABLE IF NOT EXISTS incidents (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  building TEXT,
  community TEXT NOT NULL,
  street TEXT NOT NULL,
  opened_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_status ON incidents (status, opened_at);
CREATE INDEX IF NOT EXISTS incidents_community ON incidents (community, opened_at);
CREATE INDEX IF NOT EXISTS incidents_street ON incidents (street, opened_at);
CREATE TABLE IF NOT EXISTS incident_timeline (
  seq BIGSERIAL PRIMARY KEY,
  incident TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_timeline_incident ON incident_timeline (incident, seq);

-- alarms: active device conditions (alarm, warning, supervisory, trouble)
CREATE TABLE IF NOT EXISTS device_conditions (
  device TEXT NOT NULL,
  condition TEXT NOT NULL,
  since BIGINT NOT NULL,
  value DOUBLE PRECISION,
  threshold DOUBLE PRECISION,
  PRIMARY KEY (device, condition)
);

-- dispatch: offers and each incident's widening step
CREATE TABLE IF NOT EXISTS dispatch_offers (
  incident TEXT NOT NULL,
  responder TEXT NOT NULL,
  type TEXT NOT NULL,
  mode TEXT NOT NULL,
  eta_s DOUBLE PRECISION NOT NULL,
  distance_m DOUBLE PRECISION NOT NULL,
  inside BIGINT NOT NULL,
  state TEXT NOT NULL,
  round BIGINT NOT NULL,
  radius_s DOUBLE PRECISION NOT NULL,
  offered_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  answered_at BIGINT,
  en_route_at BIGINT,
  on_scene_at BIGINT,
  PRIMARY KEY (incident, responder)
);
CREATE INDEX IF NOT EXISTS dispatch_offers_pending ON dispatch_offers (state) WHERE state = 'offered';
CREATE TABLE IF NOT EXISTS dispatch_incidents (
  incident TEXT PRIMARY KEY,
  community TEXT NOT NULL,
  street TEXT NOT NULL,
  alarm_at BIGINT NOT NULL,
  started_at BIGINT NOT NULL,
  step BIGINT NOT NULL,
  limit_s DOUBLE PRECISION NOT NULL,
  deadline BIGINT,
  state TEXT NOT NULL,
  first_on_scene_at BIGINT,
  closed_at BIGINT
);
CREATE INDEX IF NOT EXISTS dispatch_incidents_open ON dispatch_incidents (state) WHERE state != 'closed';
-- a node's load at start: the open dispatch of the communities it owns
CREATE INDEX IF NOT EXISTS dispatch_incidents_open_community ON dispatch_incidents (community) WHERE state <> 'closed';
CREATE INDEX IF NOT EXISTS dispatch_incidents_alarm ON dispatch_incidents (alarm_at);

-- linkage: per-community rules set by the administrator
CREATE TABLE IF NOT EXISTS linkage_rules (
  community TEXT PRIMARY KEY,
  rules TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);

-- linkage: what was done for each incident
CREATE TABLE IF NOT EXISTS linkage_incidents (
  incident TEXT PRIMARY KEY,
  alarm_handled_at BIGINT,
  forwarded_at BIGINT
);

-- linkage: the escalation ladder's timers
CREATE TABLE IF NOT EXISTS linkage_timers (
  incident TEXT NOT NULL,
  step BIGINT NOT NULL,
  deadline BIGINT NOT NULL,
  spec TEXT NOT NULL,
  PRIMARY KEY (incident, step)
);

-- linkage: commands to sounders, gas valves and door releases (seq: the order they were
-- issued, SQLite's rowid)
CREATE TABLE IF NOT EXISTS linkage_commands (
  id TEXT PRIMARY KEY,
  seq BIGSERIAL NOT NULL,
  incident TEXT NOT NULL,
  device TEXT NOT NULL,
  action TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  last_attempt_at BIGINT,
  next_attempt_at BIGINT,
  acknowledged_at BIGINT,
  acknowledged_id TEXT,
  cancelled_at BIGINT,
  last_error TEXT,
  place TEXT NOT NULL,
  UNIQUE (incident, device, action)
);
CREATE INDEX IF NOT EXISTS linkage_commands_pending ON linkage_commands (status) WHERE status = 'pending';

-- linkage: every notification (audit log) and the ones given up (dead letters); seq is the
-- order they were written (SQLite's rowid)
CREATE TABLE IF NOT EXISTS linkage_audit (
  id TEXT PRIMARY KEY,
  seq BIGSERIAL NOT NULL,
  incident TEXT,
  device TEXT,
  purpose TEXT NOT NULL,
  audience TEXT NOT NULL,
  channel TEXT NOT NULL,
  target TEXT,
  target_full TEXT,
  place TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts BIGINT NOT NULL,
  http_status BIGINT,
  error TEXT,
  created_at BIGINT NOT NULL,
  first_attempt_at BIGINT,
  last_attempt_at BIGINT,
  next_attempt_at BIGINT,
  delivered_at BIGINT,
  max_attempts BIGINT,
  payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS linkage_audit_incident ON linkage_audit (incident, created_at);
CREATE INDEX IF NOT EXISTS linkage_audit_device ON linkage_audit (device, created_at);
CREATE INDEX IF NOT EXISTS linkage_audit_open ON linkage_audit (status) WHERE status IN ('pending', 'retrying');
CREATE TABLE IF NOT EXISTS linkage_dead_letters (
  id TEXT PRIMARY KEY,
  seq BIGSERIAL NOT NULL,
  incident TEXT,
  purpose TEXT NOT NULL,
  channel TEXT NOT NULL,
  target TEXT,
  attempts BIGINT NOT NULL,
  error TEXT NOT NULL,
  at BIGINT NOT NULL,
  payload TEXT NOT NULL
);

-- linkage: the timeline of alerts, escalations, forwarding and commands
CREATE TABLE IF NOT EXISTS linkage_timeline (
  seq BIGSERIAL PRIMARY KEY,
  incident TEXT NOT NULL,
  at BIGINT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS linkage_timeline_incident ON linkage_timeline (incident, seq);

-- intake: telemetry points waiting for the telemetry store (any node drains them, FOR UPDATE
-- SKIP LOCKED), and those the store refused for good
CREATE TABLE IF NOT EXISTS spool (
  id BIGSERIAL PRIMARY KEY,
  body TEXT NOT NULL,
  node TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS spool_refused (
  id BIGINT PRIMARY KEY,
  body TEXT NOT NULL,
  reason TEXT NOT NULL,
  refused_at BIGINT NOT NULL
);

-- intake: readings and device events waiting to be evaluated by the node that holds their
-- partition's lease (committed with their points, in the transaction before the PUBACK)
CREATE TABLE IF NOT EXISTS intake_log (
  id BIGSERIAL PRIMARY KEY,
  partition TEXT NOT NULL,
  kind TEXT NOT NULL,
  body TEXT NOT NULL,
  node TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS intake_log_partition ON intake_log (partition, id);

-- cluster: the nodes (each renews last_seen with its leases) and the leases on the partitions
-- of work (a community each): owner, epoch (the fencing token, +1 at every change of owner),
-- expiry (ms since 1970)
CREATE TABLE IF NOT EXISTS cluster_nodes (
  id TEXT PRIMARY KEY,
  http_url TEXT NOT NULL,
  mqtt_port INTEGER,
  started_at BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  stopped_at BIGINT
);
CREATE TABLE IF NOT EXISTS cluster_leases (
  partition TEXT PRIMARY KEY,
  owner TEXT,
  epoch BIGINT NOT NULL DEFAULT 0,
  expires_at BIGINT NOT NULL DEFAULT 0,
  acquired_at BIGINT
);
CREATE INDEX IF NOT EXISTS cluster_leases_owner ON cluster_leases (owner);

-- cluster: effects for every node (an MQTT message to publish to the clients connected there,
-- an event for the consoles' streams, a registry change to reload); announced by NOTIFY
-- firecircle_outbox, read by id, removed after a while
CREATE TABLE IF NOT EXISTS cluster_outbox (
  id BIGSERIAL PRIMARY KEY,
  kind TEXT NOT NULL,
  body TEXT NOT NULL,
  origin TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS cluster_outbox_created ON cluster_outbox (created_at);
