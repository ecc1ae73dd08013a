/**
 * The audit log's vocabulary: an append-only record of what the centre did (incident
 * transitions, officers' actions, duty checks and shifts, work orders, test modes), each entry
 * chained to the previous one by its hash (./chain.ts).
 */

/** What a stage, or the composition root, records. */
export interface AuditRecord {
  at: number
  /** `engine`, `device:<id>`, `administrator`, `officer:<id>`, `responder:<id>`, `schedule`. */
  actor: string
  /** `incident.status`, `work_order.assigned`, `duty_check.missed`, `shift.ended`, `test_mode.set`, … */
  action: string
  /** `incident:<id>`, `work_order:<id>`, `duty_check:<id>`, `shift:<id>`, `device:<id>`, … */
  subject: string
  details: Record<string, unknown>
}

export interface AuditEntry extends AuditRecord {
  seq: number
  prevHash: string
  hash: string
}

export interface AuditSettings {
  /** FC_AUDIT_RETENTION_DAYS: entries older than this move to the archive (still verified). */
  retentionDays: number
}

export const DEFAULT_AUDIT_SETTINGS: AuditSettings = { retentionDays: 365 }
