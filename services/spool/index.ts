/**
 * The intake spool: the only durable buffer between the broker and the telemetry store.
 *
 * A QoS 1 message is appended here before its PUBACK goes out (the broker waits for the
 * promise). Appends are group-committed: every point that arrives within `commitMs` goes
 * into one SQLite transaction, so one fsync (synchronous=FULL) covers them all. A point
 * leaves the spool only when the pipeline has had it acknowledged by the store; after a
 * crash the rows still here are replayed at the next start.
 */

import path from 'node:path'
import { migrate, openDatabase, type SqliteDb } from '../state/index.ts'
import type { Point } from '../store/index.ts'

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
  /** The oldest committed points (with an id above `afterId`, when given), at most `limit`. */
  oldest(limit: number, afterId?: number): SpooledPoint[]
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

/** One group commit: every append until the commit shares its promise (one per group, not per append). */
interface Group {
  done: Promise<void>
  resolve: () => void
  reject: (err: Error) => void
}

function newGroup(): Group {
  let resolve!: () => void
  let reject!: (err: Error) => void
  const done = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  // A QoS 0 caller does not wait: a failed group must not become an unhandled rejection.
  done.catch(() => {})
  return { done, resolve, reject }
}

/** Rows per multi-row INSERT: one statement step per CHUNK points instead of one per point. */
const CHUNK = 64

export interface SpoolDeps {
  /** The spool's own SQLite file (spool.db in FC_DATA_DIR). */
  file: string
  /** The group commit window: appends within it share one transaction and one fsync. */
  commitMs: number
}

export function createSpool(deps: SpoolDeps): Spool {
  const db: SqliteDb = openDatabase(deps.file, { synchronous: 'FULL' })
  migrate(db, 'spool', path.basename(deps.file))
  const moveRefused = db.prepare<[string, number, number]>(
    'INSERT OR REPLACE INTO spool_refused (id, body, reason, refused_at) SELECT id, body, ?, ? FROM spool WHERE id = ?',
  )
  const countRefused = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM spool_refused')
  const insert = db.prepare<[string]>('INSERT INTO spool (body) VALUES (?)')
  const insertChunk = db.prepare<string[]>(
    `INSERT INTO spool (body) VALUES ${Array.from({ length: CHUNK }, () => '(?)').join(', ')}`,
  )
  const selectOldest = db.prepare<[number, number], { id: number; body: string }>(
    'SELECT id, body FROM spool WHERE id > ? ORDER BY id LIMIT ?',
  )
  const deleteOne = db.prepare<[number]>('DELETE FROM spool WHERE id = ?')
  const deleteRange = db.prepare<[number, number]>('DELETE FROM spool WHERE id BETWEEN ? AND ?')
  const countRows = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM spool')

  let committed = countRows.get()?.n ?? 0
  let bodies: string[] = []
  let group: Group | undefined
  let timer: NodeJS.Timeout | undefined
  let closed = false
  const listeners: (() => void)[] = []

  // Rows keep ascending ids in append order (a multi-row INSERT assigns them in VALUES order).
  const commitGroup = db.transaction((rows: string[]) => {
    let i = 0
    for (; i + CHUNK <= rows.length; i += CHUNK) insertChunk.run(...rows.slice(i, i + CHUNK))
    for (; i < rows.length; i++) insert.run(rows[i]!)
  })

  function commit(): void {
    if (timer) {
      clearTimeout(timer)
      timer = undefined
    }
    if (group === undefined) return
    const rows = bodies
    const g = group
    bodies = []
    group = undefined
    try {
      commitGroup(rows)
      committed += rows.length
    } catch (err) {
      g.reject(err instanceof Error ? err : new Error(String(err)))
      return
    }
    g.resolve()
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
      group ??= newGroup()
      if (timer === undefined) {
        timer = setTimeout(commit, deps.commitMs)
      }
      return group.done
    },
    oldest(limit, afterId = 0) {
      return selectOldest
        .all(afterId, limit)
        .map((row) => ({ id: row.id, point: JSON.parse(row.body) as Point }))
    },
    remove(ids) {
      if (ids.length === 0) return
      // Without an fsync of its own: a removal lost in a crash only replays points the store
      // already has (writes are idempotent), and the next group commit's fsync of the WAL
      // makes it durable anyway. This keeps one fsync per store batch off the main thread.
      db.pragma('synchronous = NORMAL')
      try {
        removeMany(ids)
      } finally {
        db.pragma('synchronous = FULL')
      }
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
