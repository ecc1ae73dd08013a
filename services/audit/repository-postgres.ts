/**
 * The audit log in a cluster's PostgreSQL database (services/state/migrations/postgres/005_duty.sql).
 * Every append is one transaction that first takes a transaction-level advisory lock: two
 * nodes appending at once take turns, each reading the last hash the other wrote, so the chain
 * never forks.
 */
import type { PgDatabase } from '../state/index.ts'
import { GENESIS, hashOf } from './chain.ts'
import { type AuditRepository, type AuditRow, entryOf } from './repository.ts'
import type { AuditEntry } from './types.ts'

const COLS = 'seq, at, actor, action, subject, details, prev_hash, hash'
/** The advisory lock's key: the audit chain's (any constant the other locks do not use). */
const AUDIT_LOCK = 0x46_43_41_55 // "FCAU"

export function createPostgresAuditRepository(db: PgDatabase): AuditRepository {
  return {
    append: (r) =>
      db.tx(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK])
        const last =
          (
            await c.query<{ seq: string; hash: string }>(
              'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1',
            )
          ).rows[0] ??
          (
            await c.query<{ seq: string; hash: string }>(
              'SELECT seq, hash FROM audit_archive ORDER BY seq DESC LIMIT 1',
            )
          ).rows[0]
        const seq = (last === undefined ? 0 : Number(last.seq)) + 1
        const prevHash = last?.hash ?? GENESIS
        const e: AuditEntry = { ...r, seq, prevHash, hash: hashOf(prevHash, { ...r, seq }) }
        await c.query(`INSERT INTO audit_log (${COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
          seq,
          e.at,
          e.actor,
          e.action,
          e.subject,
          JSON.stringify(e.details),
          prevHash,
          e.hash,
        ])
        return e
      }),
    async all() {
      const r = await db.query<AuditRow>(
        `SELECT ${COLS} FROM audit_archive UNION ALL SELECT ${COLS} FROM audit_log ORDER BY seq`,
      )
      return r.rows.map(entryOf)
    },
    async between(from, to) {
      const r = await db.query<AuditRow>(
        `SELECT ${COLS} FROM audit_archive WHERE at >= $1 AND at < $2
         UNION ALL SELECT ${COLS} FROM audit_log WHERE at >= $1 AND at < $2 ORDER BY seq`,
        [from, to],
      )
      return r.rows.map(entryOf)
    },
    archive: (before, now) =>
      db.tx(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK])
        await c.query(
          `INSERT INTO audit_archive (${COLS}, archived_at) SELECT ${COLS}, $2 FROM audit_log WHERE at < $1`,
          [before, now],
        )
        const d = await c.query('DELETE FROM audit_log WHERE at < $1', [before])
        return d.rowCount ?? 0
      }),
    async count() {
      const a = await db.query<{ n: string }>('SELECT count(*) AS n FROM audit_log')
      const b = await db.query<{ n: string }>('SELECT count(*) AS n FROM audit_archive')
      return { log: Number(a.rows[0]?.n ?? 0), archive: Number(b.rows[0]?.n ?? 0) }
    },
  }
}
