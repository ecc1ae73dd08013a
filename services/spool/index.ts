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
import type { GroupPromise } from './group.ts'
import { createCommitWindow } from './window.ts'

export { type GroupPromise, groupPromise } from './group.ts'
export { type CommitWindow, createCommitWindow } from './window.ts'

export interface SpooledPoint {
  id: number
  point: Point
}

/**
 * A reading or device event waiting to be evaluated by the node that holds its partition
 * (a community). A cluster's spool commits these with their points, in the same transaction,
 * before the PUBACK; the embedded node evaluates on its live path and keeps none.
 */
export interface IntakeLogEntry {
  partition: string
  kind: string
  body: unknown
}

/**
 * A batch the pipeline took from the spool. Its points stay in the spool until `finish()`:
 * what `remove` and `refuse` record is made durable then (PostgreSQL: in the transaction that
 * took the batch, so a node that dies mid-batch leaves its rows to another). `release()` is
 * for a store failure: the batch's points stay and are taken again.
 */
export interface TakenBatch {
  readonly points: SpooledPoint[]
  /** The store acknowledged these points. */
  remove(ids: readonly number[]): void | Promise<void>
  /** The store refused this point for good: set it aside in `spool_refused`. */
  refuse(id: number, reason: string, at: number): void | Promise<void>
  finish(): Promise<void>
  release(): Promise<void>
}

/**
 * What the pipeline drains: the SQLite spool of an embedded node, or a cluster's spool in
 * PostgreSQL (./postgres.ts) that every node's pipeline drains at once.
 */
export interface PointSource {
  /**
   * The oldest committed points not in a batch taken by someone else, at most `limit`. A
   * reader that keeps its own cursor passes `afterId` (the SQLite spool has one reader; a
   * cluster's spool skips the rows other batches hold and ignores it).
   */
  take(limit: number, afterId?: number): Promise<TakenBatch>
  /** Points committed and not yet removed (a cluster's spool: a cheap estimate, see there). */
  depth(): number | Promise<number>
  /** Register a callback run after every local commit (the pipeline wakes up on it). */
  onCommit(listener: () => void): void
  /** Commit whatever is pending now (without waiting for it). */
  flush(): void
  /**
   * How often an idle reader looks again without a commit of its own: a cluster's spool
   * also fills from other nodes, and keeps the rows of a node that died. Undefined: only on
   * commit.
   */
  readonly idlePollMs?: number
  /**
   * After a batch that was not full, how long the reader waits before it takes the next: a
   * cluster's take is a transaction of its own (a commit, an fsync), and at a steady rate one
   * per small commit would cost more than the points it moves. Undefined: at once.
   */
  readonly takeGapMs?: number
}

export interface Spool extends PointSource {
  /**
   * Add points. The promise resolves once they are on disk (the group's commit); a QoS 0
   * caller need not wait for it. `log` is for a cluster's spool (./postgres.ts); this one
   * ignores it: the embedded node evaluates every reading on its live path.
   */
  append(points: readonly Point[], log?: readonly IntakeLogEntry[]): Promise<void>
  /**
   * Add points already serialised, one JSON Point each (the spool thread's appends: the node's
   * thread serialised them to hand them over). Resolves as `append` does.
   */
  appendBodies(bodies: readonly string[]): Promise<void>
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
  /**
   * Whether the spool can commit: true while the last commit held; after a failed one (a full
   * disk) a probe write answers, so that /readyz recovers by itself when space returns even
   * though no device sends (the load balancer stopped sending them).
   */
  writable(): boolean
  close(): void
}

/** One group commit: every append until the commit shares its promise (one per group, not per append). */

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
  // The probe writes a row and takes it away in one committed transaction: it needs the space
  // a group commit needs (WAL pages, an fsync) and leaves nothing behind.
  const probeWrite = db.transaction(() => {
    const { lastInsertRowid } = insert.run('null')
    deleteOne.run(Number(lastInsertRowid))
  })
  let lastCommitFailed = false

  let committed = countRows.get()?.n ?? 0
  let closed = false
  const listeners: (() => void)[] = []

  // Rows keep ascending ids in append order (a multi-row INSERT assigns them in VALUES order).
  const commitGroup = db.transaction((rows: string[]) => {
    let i = 0
    for (; i + CHUNK <= rows.length; i += CHUNK) insertChunk.run(...rows.slice(i, i + CHUNK))
    for (; i < rows.length; i++) insert.run(rows[i]!)
  })

  function commit(rows: string[], g: GroupPromise): void {
    try {
      commitGroup(rows)
      committed += rows.length
    } catch (err) {
      lastCommitFailed = true
      g.reject(err instanceof Error ? err : new Error(String(err)))
      return
    }
    lastCommitFailed = false
    g.resolve()
    for (const l of listeners) l()
  }
  const window = createCommitWindow(deps.commitMs, commit)

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

  const remove = (ids: readonly number[]): void => {
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
  }
  const refuse = (id: number, reason: string, at: number): void => {
    committed -= refuseOne(id, reason, at)
  }
  const oldest = (limit: number, afterId = 0): SpooledPoint[] =>
    selectOldest.all(afterId, limit).map((row) => ({ id: row.id, point: JSON.parse(row.body) as Point }))
  const settled = (): Promise<void> => Promise.resolve()

  const appendBodies = (rows: readonly string[]): Promise<void> =>
    closed ? Promise.reject(new Error('spool is closed')) : window.add(rows)

  return {
    append: (points) => appendBodies(points.map((p) => JSON.stringify(p))),
    appendBodies,
    oldest,
    // One reader (this node's pipeline) with its own cursor: removals take effect at once,
    // as before; a batch has nothing to commit or give back.
    take: (limit, afterId) =>
      Promise.resolve({ points: oldest(limit, afterId), remove, refuse, finish: settled, release: settled }),
    remove,
    refuse,
    refused: () => countRefused.get()?.n ?? 0,
    depth: () => committed,
    pending: () => window.pending(),
    writable() {
      if (!lastCommitFailed || closed) return !closed
      try {
        probeWrite()
        lastCommitFailed = false
      } catch {}
      return !lastCommitFailed
    },
    onCommit(listener) {
      listeners.push(listener)
    },
    flush: () => window.end(),
    close() {
      if (closed) return
      window.end()
      closed = true
      db.close()
    },
  }
}

export {
  createSpoolBound,
  REREADY_SHARE,
  SHED_SHARE,
  type SpoolBound,
  type SpoolBoundDeps,
  UNREADY_SHARE,
} from './bound.ts'
export {
  createIntakeLogReader,
  type IntakeLogReader,
  type IntakeLogReaderDeps,
  type IntakeLogRecord,
} from './intake-log.ts'
export {
  COMMIT_TIMEOUT_MS,
  createPostgresSpool,
  IN_FLIGHT,
  INTAKE_CHANNEL,
  MAX_PENDING,
  NOTIFY_MS,
  type PostgresSpool,
  type PostgresSpoolDeps,
  SpoolFullError,
} from './postgres.ts'
