/**
 * Where the audit log lives: `audit_log` and `audit_archive` (entries moved there after the
 * retention, never dropped). `append` computes the next seq and hash from the chain's last
 * entry inside one serialised write (SQLite: one transaction; PostgreSQL: a transaction that
 * first takes an advisory lock, so that two nodes cannot fork the chain).
 */
import type { AuditEntry, AuditRecord } from './types.ts'

export interface AuditRepository {
  append(record: AuditRecord): Promise<AuditEntry>
  /** Every entry, archive first, in seq order. */
  all(): Promise<AuditEntry[]>
  /** Entries (archive and log) with `at` in [from, to), in seq order. */
  between(from: number, to: number): Promise<AuditEntry[]>
  /** Move entries older than `before` to the archive; answers how many moved. */
  archive(before: number, now: number): Promise<number>
  /** Entries in the log and in the archive. */
  count(): Promise<{ log: number; archive: number }>
}

export interface AuditRow {
  seq: number | string
  at: number | string
  actor: string
  action: string
  subject: string
  details: string
  prev_hash: string
  hash: string
}

export const entryOf = (r: AuditRow): AuditEntry => ({
  seq: Number(r.seq),
  at: Number(r.at),
  actor: r.actor,
  action: r.action,
  subject: r.subject,
  details: JSON.parse(r.details) as Record<string, unknown>,
  prevHash: r.prev_hash,
  hash: r.hash,
})
