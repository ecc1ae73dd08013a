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
  sent_at BIGINT NOT NULL,
  due_at BIGINT NOT NULL,
  answer_within_ms BIGINT NOT NULL,
  answered_by TEXT,
  answered_at BIGINT,
  missed_at BIGINT,
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
  started_at BIGINT NOT NULL,
  note TEXT,
  ended_at BIGINT,
  handover_note TEXT
);
CREATE INDEX IF NOT EXISTS duty_shifts_officer ON duty_shifts(officer, ended_at);
CREATE INDEX IF NOT EXISTS duty_shifts_started ON duty_shifts(started_at);
CREATE TABLE IF NOT EXISTS audit_log (
  seq BIGINT PRIMARY KEY,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log(at);
CREATE TABLE IF NOT EXISTS audit_archive (
  seq BIGINT PRIMARY KEY,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  archived_at BIGINT NOT NULL
);
