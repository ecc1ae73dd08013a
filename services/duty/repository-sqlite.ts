/**
 * The duty stage's repository in the state database (tables in
 * services/state/migrations/state/005_duty.sql). better-sqlite3 works synchronously: every
 * method has done its work when it returns its (settled) promise.
 */
import { placeholders, type SqliteDb, settled } from '../state/index.ts'
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

export function createSqliteDutyRepository(db: SqliteDb): DutyRepository {
  const insertCheck = db.prepare(
    `INSERT OR IGNORE INTO duty_checks (${CHECK_COLUMNS.join(', ')}) VALUES (${placeholders(CHECK_COLUMNS.length)})`,
  )
  const setClause = CHECK_COLUMNS.slice(1)
    .map((c) => `${c} = ?`)
    .join(', ')
  const updateCheck = db.prepare(`UPDATE duty_checks SET ${setClause} WHERE id = ?`)
  const settleCheck = db.prepare(`UPDATE duty_checks SET ${setClause} WHERE id = ? AND status = 'pending'`)
  const getCheck = db.prepare<[string], CheckRow>('SELECT * FROM duty_checks WHERE id = ?')
  const pending = db.prepare<[], CheckRow>(
    "SELECT * FROM duty_checks WHERE status = 'pending' ORDER BY due_at",
  )
  const checksBetween = db.prepare<[number, number, number, number, number, number], CheckRow>(
    `SELECT * FROM duty_checks WHERE (sent_at >= ? AND sent_at < ?) OR (answered_at >= ? AND answered_at < ?)
       OR (missed_at >= ? AND missed_at < ?) ORDER BY sent_at, id`,
  )
  const insertShift = db.prepare(
    `INSERT INTO duty_shifts (${SHIFT_COLUMNS.join(', ')}) VALUES (${placeholders(SHIFT_COLUMNS.length)})`,
  )
  const endShift = db.prepare(
    'UPDATE duty_shifts SET ended_at = ?, handover_note = ? WHERE id = ? AND ended_at IS NULL',
  )
  const current = db.prepare<[string], ShiftRow>(
    'SELECT * FROM duty_shifts WHERE officer = ? AND ended_at IS NULL ORDER BY started_at DESC LIMIT 1',
  )
  const open = db.prepare<[], ShiftRow>(
    'SELECT * FROM duty_shifts WHERE ended_at IS NULL ORDER BY started_at',
  )
  const shiftsBetween = db.prepare<[number, number, number, number], ShiftRow>(
    `SELECT * FROM duty_shifts WHERE (started_at >= ? AND started_at < ?) OR (ended_at >= ? AND ended_at < ?)
       ORDER BY started_at, id`,
  )
  const rest = (values: unknown[]) => [...values.slice(1), values[0]]

  return {
    checks: {
      insert: (c) => settled(() => insertCheck.run(...checkValues(c)).changes > 0),
      get: (id) =>
        settled(() => {
          const r = getCheck.get(id)
          return r === undefined ? undefined : checkOf(r)
        }),
      list: (filter, limit) =>
        settled(() => {
          const w = checkWhere(filter, () => '?')
          const rows = db
            .prepare(`SELECT * FROM duty_checks ${w.sql} ORDER BY sent_at DESC, id LIMIT ?`)
            .all(...w.values, limit) as CheckRow[]
          return rows.map(checkOf)
        }),
      pending: () => settled(() => pending.all().map(checkOf)),
      settle: (c) => settled(() => settleCheck.run(...rest(checkValues(c))).changes > 0),
      update: (c) => settled(() => void updateCheck.run(...rest(checkValues(c)))),
      between: (from, to) => settled(() => checksBetween.all(from, to, from, to, from, to).map(checkOf)),
    },
    shifts: {
      insert: (s) => settled(() => void insertShift.run(...shiftValues(s))),
      end: (s) => settled(() => endShift.run(s.endedAt ?? null, s.handoverNote ?? null, s.id).changes > 0),
      current: (officer) =>
        settled(() => {
          const r = current.get(officer)
          return r === undefined ? undefined : shiftOf(r)
        }),
      open: () => settled(() => open.all().map(shiftOf)),
      between: (from, to) => settled(() => shiftsBetween.all(from, to, from, to).map(shiftOf)),
    },
  }
}
