-- firecircle state.db, schema 1: the tables as every firecircle before numbered migrations
-- created them at start (CREATE ... IF NOT EXISTS), so a state.db made by such a version
-- is already at this schema and only gets its version recorded.

-- registry: streets, communities, buildings, devices, responders, duty officers, the administrator token
CREATE TABLE IF NOT EXISTS streets (
  name TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS communities (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  street TEXT NOT NULL REFERENCES streets(name),
  geometry TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS buildings (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  lon REAL NOT NULL,
  lat REAL NOT NULL,
  community TEXT NOT NULL REFERENCES communities(id),
  street TEXT NOT NULL,
  responsible TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS buildings_community ON buildings(community);
CREATE INDEX IF NOT EXISTS buildings_street ON buildings(street);
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  building TEXT NOT NULL REFERENCES buildings(id),
  community TEXT NOT NULL,
  street TEXT NOT NULL,
  lon REAL,
  lat REAL,
  floor INTEGER,
  gateway TEXT REFERENCES devices(id),
  thresholds TEXT,
  enabled INTEGER NOT NULL,
  secret_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
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
  lon REAL,
  lat REAL,
  on_duty INTEGER NOT NULL,
  building TEXT REFERENCES buildings(id),
  community TEXT,
  street TEXT,
  enabled INTEGER NOT NULL,
  secret_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS responders_community ON responders(community);
CREATE INDEX IF NOT EXISTS responders_street ON responders(street);
CREATE TABLE IF NOT EXISTS officers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  scope TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS admin_token (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  token_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
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
  opened_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_status ON incidents (status, opened_at);
CREATE INDEX IF NOT EXISTS incidents_community ON incidents (community, opened_at);
CREATE INDEX IF NOT EXISTS incidents_street ON incidents (street, opened_at);
CREATE TABLE IF NOT EXISTS incident_timeline (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  incident TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_timeline_incident ON incident_timeline (incident, seq);

-- alarms: active device conditions (alarm, warning, supervisory, trouble)
CREATE TABLE IF NOT EXISTS device_conditions (
  device TEXT NOT NULL,
  condition TEXT NOT NULL,
  since INTEGER NOT NULL,
  value REAL,
  threshold REAL,
  PRIMARY KEY (device, condition)
);

-- dispatch: offers and each incident's widening step
CREATE TABLE IF NOT EXISTS dispatch_offers (
  incident TEXT NOT NULL,
  responder TEXT NOT NULL,
  type TEXT NOT NULL,
  mode TEXT NOT NULL,
  eta_s REAL NOT NULL,
  distance_m REAL NOT NULL,
  inside INTEGER NOT NULL,
  state TEXT NOT NULL,
  round INTEGER NOT NULL,
  radius_s REAL NOT NULL,
  offered_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  answered_at INTEGER,
  en_route_at INTEGER,
  on_scene_at INTEGER,
  PRIMARY KEY (incident, responder)
);
CREATE INDEX IF NOT EXISTS dispatch_offers_pending ON dispatch_offers (state) WHERE state = 'offered';
CREATE TABLE IF NOT EXISTS dispatch_incidents (
  incident TEXT PRIMARY KEY,
  community TEXT NOT NULL,
  street TEXT NOT NULL,
  alarm_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  step INTEGER NOT NULL,
  limit_s REAL NOT NULL,
  deadline INTEGER,
  state TEXT NOT NULL,
  first_on_scene_at INTEGER,
  closed_at INTEGER
);
CREATE INDEX IF NOT EXISTS dispatch_incidents_open ON dispatch_incidents (state) WHERE state != 'closed';
CREATE INDEX IF NOT EXISTS dispatch_incidents_alarm ON dispatch_incidents (alarm_at);

-- linkage: per-community rules set by the administrator
CREATE TABLE IF NOT EXISTS linkage_rules (
  community TEXT PRIMARY KEY,
  rules TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

-- linkage: what was done for each incident
CREATE TABLE IF NOT EXISTS linkage_incidents (
  incident TEXT PRIMARY KEY,
  alarm_handled_at INTEGER,
  forwarded_at INTEGER
);

-- linkage: the escalation ladder's timers
CREATE TABLE IF NOT EXISTS linkage_timers (
  incident TEXT NOT NULL,
  step INTEGER NOT NULL,
  deadline INTEGER NOT NULL,
  spec TEXT NOT NULL,
  PRIMARY KEY (incident, step)
);

-- linkage: commands to sounders, gas valves and door releases
CREATE TABLE IF NOT EXISTS linkage_commands (
  id TEXT PRIMARY KEY,
  incident TEXT NOT NULL,
  device TEXT NOT NULL,
  action TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_attempt_at INTEGER,
  next_attempt_at INTEGER,
  acknowledged_at INTEGER,
  acknowledged_id TEXT,
  cancelled_at INTEGER,
  last_error TEXT,
  place TEXT NOT NULL,
  UNIQUE (incident, device, action)
);
CREATE INDEX IF NOT EXISTS linkage_commands_pending ON linkage_commands (status) WHERE status = 'pending';

-- linkage: every notification (audit log) and the ones given up (dead letters)
CREATE TABLE IF NOT EXISTS linkage_audit (
  id TEXT PRIMARY KEY,
  incident TEXT,
  device TEXT,
  purpose TEXT NOT NULL,
  audience TEXT NOT NULL,
  channel TEXT NOT NULL,
  target TEXT,
  target_full TEXT,
  place TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  http_status INTEGER,
  error TEXT,
  created_at INTEGER NOT NULL,
  first_attempt_at INTEGER,
  last_attempt_at INTEGER,
  next_attempt_at INTEGER,
  delivered_at INTEGER,
  max_attempts INTEGER,
  payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS linkage_audit_incident ON linkage_audit (incident, created_at);
CREATE INDEX IF NOT EXISTS linkage_audit_device ON linkage_audit (device, created_at);
CREATE INDEX IF NOT EXISTS linkage_audit_open ON linkage_audit (status) WHERE status IN ('pending', 'retrying');
CREATE TABLE IF NOT EXISTS linkage_dead_letters (
  id TEXT PRIMARY KEY,
  incident TEXT,
  purpose TEXT NOT NULL,
  channel TEXT NOT NULL,
  target TEXT,
  attempts INTEGER NOT NULL,
  error TEXT NOT NULL,
  at INTEGER NOT NULL,
  payload TEXT NOT NULL
);

-- linkage: the timeline of alerts, escalations, forwarding and commands
CREATE TABLE IF NOT EXISTS linkage_timeline (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  incident TEXT NOT NULL,
  at INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS linkage_timeline_incident ON linkage_timeline (incident, seq);
