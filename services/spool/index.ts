/**
 * The intake spool: the only durable buffer between the broker and the telemetry store.
 *
 * A QoS 1 message is appended here before its PUBACK goes out (the broker waits for the
 * promise). Appends are group-committed: every point that arrives within `commitMs` goes
 * into one SQLite transaction, so one fsync (synchronous=FULL) covers them all. A point
 * leaves the spool only when the pipeline has had it acknowledged by the store; after a
 * crash the rows still here are replayed at the next start.
 */

import { openDatabase, type SqliteDb } from '../state/db.ts'
import type { Point } from '../store/types.ts'

export interface SpooledPoint {
  id: number
  point: Point
}

export interface Spool {
  /**
   * Add points. The promise resolves once they are on disk (the group's commit); a QoS 0
   * caller need not wait for it.
   */
  append(points: readonly Point[]): Promise<void>
  /** The oldest committed points, at most `limit`. */
  oldest(limit: number): SpooledPoint[]
  /** Remove points the store has acknowledged. */
  remove(ids: readonly number[]): void
  /**
   * Set aside a point the store refused for good (kept in `spool_refused` with the reason,
   * for an operator to inspect), so that it no longer blocks the points behind it.
   */
  refuse(id: number, reason: string, at: number): void
  /** Points set aside as refused by the store. */
  refused(): number
  /** Points committed and not yet removed. */
  depth(): number
  /** Points appended but not yet committed. */
  pending(): number
  /** Register a callback run after every commit (the pipeline wakes up on it). */
  onCommit(listener: () => void): void
  /** Commit whatever is pending now. */
  flush(): void
  close(): void
}

interface Waiter {
  resolve: () => void
  reject: (err: Error) => void
}

export function createSpool(opts: { file: string; commitMs: number }): Spool {
  const db: SqliteDb = openDatabase(opts.file, { synchronous: 'FULL' })
  db.exec(`CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS spool_refused (
      id INTEGER PRIMARY KEY, body TEXT NOT NULL, reason TEXT NOT NULL, refused_at INTEGER NOT NULL)`)
  const moveRefused = db.prepare<[string, number, number]>(
    'INSERT OR REPLACE INTO spool_refused (id, body, reason, refused_at) SELECT id, body, ?, ? FROM spool WHERE id = ?',
  )
  const countRefused = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM spool_refused')
  const insert = db.prepare<[string]>('INSERT INTO spool (body) VALUES (?)')
  const selectOldest = db.prepare<[number], { id: number; body: string }>(
    'SELECT id, body FROM spool ORDER BY id LIMIT ?',
  )
  const deleteOne = db.prepare<[number]>('DELETE FROM spool WHERE id = ?')
  const deleteRange = db.prepare<[number, number]>('DELETE FROM spool WHERE id BETWEEN ? AND ?')
  const countRows = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM spool')

  let committed = countRows.get()?.n ?? 0
  let bodies: string[] = []
  let waiters: Waiter[] = []
  let timer: NodeJS.Timeout | undefined
  let closed = false
  const listeners: (() => void)[] = []

  const commitGroup = db.transaction((group: string[]) => {
    for (const body of group) insert.run(body)
  })

  function commit(): void {
    if (timer) {
      clearTimeout(timer)
      timer = undefined
    }
    if (bodies.length === 0 && waiters.length === 0) return
    const group = bodies
    const groupWaiters = waiters
    bodies = []
    waiters = []
    try {
      commitGroup(group)
      committed += group.length
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err))
      for (const w of groupWaiters) w.reject(e)
      return
    }
    for (const w of groupWaiters) w.resolve()
    for (const l of listeners) l()
  }

  const refuseOne = db.transaction((id: number, reason: string, at: number) => {
    moveRefused.run(reason, at, id)
    return deleteOne.run(id).changes
  })

  const removeMany = db.transaction((ids: readonly number[]) => {
    const sorted = [...ids].sort((a, b) => a - b)
    const first = sorted[0]!
    const last = sorted[sorted.length - 1]!
    // Batches taken by oldest() are contiguous id ranges: one range delete.
    if (last - first + 1 === sorted.length) deleteRange.run(first, last)
    else for (const id of sorted) deleteOne.run(id)
  })

  return {
    append(points) {
      if (closed) return Promise.reject(new Error('spool is closed'))
      for (const p of points) bodies.push(JSON.stringify(p))
      const done = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }))
      if (timer === undefined) {
        timer = setTimeout(commit, opts.commitMs)
      }
      return done
    },
    oldest(limit) {
      return selectOldest.all(limit).map((row) => ({ id: row.id, point: JSON.parse(row.body) as Point }))
    },
    remove(ids) {
      if (ids.length === 0) return
      removeMany(ids)
      committed -= ids.length
    },
    refuse(id, reason, at) {
      committed -= refuseOne(id, reason, at)
    },
    refused: () => countRefused.get()?.n ?? 0,
    depth: () => committed,
    pending: () => bodies.length,
    onCommit(listener) {
      listeners.push(listener)
    },
    flush: commit,
    close() {
      if (closed) return
      commit()
      closed = true
      db.close()
    },
  }
}
