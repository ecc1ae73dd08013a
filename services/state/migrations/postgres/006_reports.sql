-- reports (services/reports): a daily or monthly report, kept once its period is over, so that a
-- past day reads the same every time it is asked for (the handling clocks live on the incident).
CREATE TABLE IF NOT EXISTS report_snapshots (
  scope TEXT NOT NULL,
  period TEXT NOT NULL,
  made_at BIGINT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (scope, period)
);
