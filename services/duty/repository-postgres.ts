/**
 * The duty stage's repository in a cluster's PostgreSQL database (tables in
 * services/state/migrations/postgres/005_duty.sql, the rows of the SQLite one). Duty checks
 * and shifts are not partitioned: a check's end is written only while it is pending, so that
 * of two nodes whose timers both fire one ends it and tells.
 */
import type { PgDatabase } from '../state/index.ts'
import type { DutyRepository } from './repository.ts'
import {
  CHECK_COLUMNS,
  type CheckRow,
  checkOf,
  checkValues,
  checkWhere,
  SHIFT_COLUMNS,
  type ShiftRow,
  shiftOf,
  shiftValues,
} from './rows.ts'

const params = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ')

export function createPostgresDutyRepository(db: PgDatabase): DutyRepository {
  const setClause = CHECK_COLUMNS.slice(1)
    .map((c, i) => `${c} = $${i + 2}`)
    .join(', ')
  return {
    checks: {
      async insert(c) {
        const r = await db.query(
          `INSERT INTO duty_checks (${CHECK_COLUMNS.join(', ')}) VALUES (${params(CHECK_COLUMNS.length)})
             ON CONFLICT (id) DO NOTHING`,
          checkValues(c),
        )
        return (r.rowCount ?? 0) > 0
      },
      async get(id) {
        const r = await db.query<CheckRow>('SELECT * FROM duty_checks WHERE id = $1', [id])
        return r.rows[0] === undefined ? undefined : checkOf(r.rows[0])
      },
      async list(filter, limit) {
        const w = checkWhere(filter, (i) => `$${i}`)
        const r = await db.query<CheckRow>(
          `SELECT * FROM duty_checks ${w.sql} ORDER BY sent_at DESC, id LIMIT $${w.values.length + 1}`,
          [...w.values, limit],
        )
        return r.rows.map(checkOf)
      },
      async pending() {
        const r = await db.query<CheckRow>(
          "SELECT * FROM duty_checks WHERE status = 'pending' ORDER BY due_at",
        )
        return r.rows.map(checkOf)
      },
      async settle(c) {
        const r = await db.query(`UPDATE duty_checks SET ${setClause} WHERE id = $1 AND status = 'pending'`, [
          ...checkValues(c),
        ])
        return (r.rowCount ?? 0) > 0
      },
      async update(c) {
        await db.query(`UPDATE duty_checks SET ${setClause} WHERE id = $1`, checkValues(c))
      },
      async between(from, to) {
        const r = await db.query<CheckRow>(
          `SELECT * FROM duty_checks WHERE (sent_at >= $1 AND sent_at < $2) OR (answered_at >= $1 AND answered_at < $2)
             OR (missed_at >= $1 AND missed_at < $2) ORDER BY sent_at, id`,
          [from, to],
        )
        return r.rows.map(checkOf)
      },
    },
    shifts: {
      async insert(s) {
        await db.query(
          `INSERT INTO duty_shifts (${SHIFT_COLUMNS.join(', ')}) VALUES (${params(SHIFT_COLUMNS.length)})`,
          shiftValues(s),
        )
      },
      async end(s) {
        const r = await db.query(
          'UPDATE duty_shifts SET ended_at = $1, handover_note = $2 WHERE id = $3 AND ended_at IS NULL',
          [s.endedAt ?? null, s.handoverNote ?? null, s.id],
        )
        return (r.rowCount ?? 0) > 0
      },
      async current(officer) {
        const r = await db.query<ShiftRow>(
          'SELECT * FROM duty_shifts WHERE officer = $1 AND ended_at IS NULL ORDER BY started_at DESC LIMIT 1',
          [officer],
        )
        return r.rows[0] === undefined ? undefined : shiftOf(r.rows[0])
      },
      async open() {
        const r = await db.query<ShiftRow>(
          'SELECT * FROM duty_shifts WHERE ended_at IS NULL ORDER BY started_at',
        )
        return r.rows.map(shiftOf)
      },
      async between(from, to) {
        const r = await db.query<ShiftRow>(
          `SELECT * FROM duty_shifts WHERE (started_at >= $1 AND started_at < $2) OR (ended_at >= $1 AND ended_at < $2)
             ORDER BY started_at, id`,
          [from, to],
        )
        return r.rows.map(shiftOf)
      },
    },
  }
}
