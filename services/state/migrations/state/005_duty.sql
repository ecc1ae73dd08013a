-- the duty room (services/duty): duty checks (查岗) with their answers and panel answers, and
-- the officers' shifts with their handover notes; and the audit log (services/audit): an
-- append-only hash chain of what the centre did, with the archive its old entries move to.
CREATE TABLE IF NOT EXISTS duty_checks (
  id TEXT PRIMARY KEY,
  scope TEXT NOT NULL,
  community TEXT,
  street TEXT,
  status TEXT NOT NULL,
  sender TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  answer_within_ms INTEGER NOT NULL,
  answered_by TEXT,
  answered_at INTEGER,
  missed_at INTEGER,
  escalated_to TEXT,
  panels TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS duty_checks_status ON duty_checks(status, due_at);
CREATE INDEX IF NOT EXISTS duty_checks_sent ON duty_checks(sent_at);
CREATE TABLE IF NOT EXISTS duty_shifts (
  id TEXT PRIMARY KEY,
  officer TEXT NOT NULL,
  scope TEXT NOT NULL,
  community TEXT,
  street TEXT,
  started_at INTEGER NOT NULL,
  note TEXT,
  ended_at INTEGER,
  handover_note TEXT
);
CREATE INDEX IF NOT EXISTS duty_shifts_officer ON duty_shifts(officer, ended_at);
CREATE INDEX IF NOT EXISTS duty_shifts_started ON duty_shifts(started_at);
CREATE TABLE IF NOT EXISTS audit_log (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log(at);
CREATE TABLE IF NOT EXISTS audit_archive (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  archived_at INTEGER NOT NULL
);
