/**
 * The audit log in the state database (services/state/migrations/state/005_duty.sql). One
 * SQLite transaction reads the chain's last hash and appends: writes are serialised.
 */
import type { SqliteDb } from '../state/index.ts'
import { GENESIS, hashOf } from './chain.ts'
import { type AuditRepository, type AuditRow, entryOf } from './repository.ts'
import type { AuditEntry, AuditRecord } from './types.ts'

const COLS = 'seq, at, actor, action, subject, details, prev_hash, hash'

export function createSqliteAuditRepository(db: SqliteDb): AuditRepository {
  const lastLog = db.prepare<[], { seq: number; hash: string }>(
    'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1',
  )
  const lastArchive = db.prepare<[], { seq: number; hash: string }>(
    'SELECT seq, hash FROM audit_archive ORDER BY seq DESC LIMIT 1',
  )
  const insert = db.prepare(`INSERT INTO audit_log (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
  const append = db.transaction((r: AuditRecord): AuditEntry => {
    const last = lastLog.get() ?? lastArchive.get()
    const seq = (last?.seq ?? 0) + 1
    const prevHash = last?.hash ?? GENESIS
    const e: AuditEntry = { ...r, seq, prevHash, hash: hashOf(prevHash, { ...r, seq }) }
    insert.run(seq, e.at, e.actor, e.action, e.subject, JSON.stringify(e.details), prevHash, e.hash)
    return e
  })
  const all = db.prepare<[], AuditRow>(
    `SELECT ${COLS} FROM audit_archive UNION ALL SELECT ${COLS} FROM audit_log ORDER BY seq`,
  )
  const between = db.prepare<[number, number, number, number], AuditRow>(
    `SELECT ${COLS} FROM audit_archive WHERE at >= ? AND at < ?
     UNION ALL SELECT ${COLS} FROM audit_log WHERE at >= ? AND at < ? ORDER BY seq`,
  )
  const move = db.transaction((before: number, now: number) => {
    db.prepare(
      `INSERT INTO audit_archive (${COLS}, archived_at) SELECT ${COLS}, ? FROM audit_log WHERE at < ?`,
    ).run(now, before)
    return db.prepare('DELETE FROM audit_log WHERE at < ?').run(before).changes
  })
  const settled = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn())
    } catch (err) {
      return Promise.reject(err)
    }
  }
  return {
    append: (r) => settled(() => append(r)),
    all: () => settled(() => all.all().map(entryOf)),
    between: (from, to) => settled(() => between.all(from, to, from, to).map(entryOf)),
    archive: (before, now) => settled(() => move(before, now)),
    count: () =>
      settled(() => ({
        log: (db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n,
        archive: (db.prepare('SELECT count(*) AS n FROM audit_archive').get() as { n: number }).n,
      })),
  }
}
