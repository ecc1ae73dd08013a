/**
 * A cluster's intake spool, in PostgreSQL (FC_DATABASE_URL): the same promise as the SQLite
 * spool — no PUBACK goes out while the database cannot commit the message — for every node
 * at once.
 *
 * Appends are group-committed: every append within `commitMs` goes into ONE statement (one
 * `spool` row holding the group's points, and one `intake_log` row per partition holding the
 * group's entries waiting for that partition's owner, as data-modifying CTEs of one statement,
 * so one implicit transaction and one commit cover them all), and each append's promise
 * resolves only after the commit returned. A failed commit rejects every append of its group, and nothing of it is written.
 * Up to IN_FLIGHT commits are in flight at once, each on its own connection (PostgreSQL
 * flushes concurrent commits' WAL together); while they are out the next group gathers.
 *
 * A commit with intake log entries wakes the other nodes' readers (NOTIFY firecircle_intake)
 * at most every NOTIFY_MS: a NOTIFY takes a database-wide lock from its commit until that
 * commit is durable, so every notifying commit — both nodes', the relay's — waits for the
 * fsync of the one before. The commits in between carry none; when one of them had entries
 * the next commit after NOTIFY_MS notifies, or, if none comes, a NOTIFY of its own does (the
 * readers also poll).
 * What waits in memory is bounded (MAX_PENDING points): a database outage rejects appends at
 * once, counted, rather than eat the heap.
 *
 * A commit that timed out (COMMIT_TIMEOUT_MS) rejects its group although the server may still
 * commit it: its messages are not acknowledged, the devices send them again, and the points
 * are then in the spool twice (the store's writes are idempotent) and their intake log
 * entries evaluated twice (evaluation is at least once, see ./intake-log.ts).
 *
 * Draining (the pipeline of every node): a batch of rows is taken with FOR UPDATE SKIP LOCKED
 * in a transaction held open while their points are written to the store, then the rows are
 * deleted and the transaction commits. Two nodes never take the same rows at once; a store failure
 * rolls back (the rows stay); a node that dies mid-batch loses its connection, its
 * transaction aborts and another node takes the rows.
 */
import client, { type Registry } from 'prom-client'
import type { Clock, Logger, Timer } from '../shared/index.ts'
import type { PgDatabase } from '../state/index.ts'
import type { Point } from '../store/index.ts'
import { groupPromise } from './group.ts'
import type { IntakeLogEntry, PointSource } from './index.ts'
import { createSpoolReader } from './postgres-batches.ts'

/** Points waiting for a commit (gathering and in flight) beyond which appends are refused at once. */
export const MAX_PENDING = 50_000
/** A commit not answered within this is taken as failed (the group's appends reject). */
export const COMMIT_TIMEOUT_MS = 10_000
/** An idle pipeline looks again this often (other nodes' rows, a dead node's rows). */
const IDLE_POLL_MS = 500
/** After a batch that was not full, the pipeline's next take waits this long. */
const TAKE_GAP_MS = 20
/** The channel a commit with intake log entries notifies (./intake-log.ts listens). */
export const INTAKE_CHANNEL = 'firecircle_intake'
/** Commits in flight at once per spool. */
export const IN_FLIGHT = 2
/** The least time between two notifying commits of one spool. */
export const NOTIFY_MS = 20
/** The kind of an intake log row that holds a group commit's entries of one partition (migration 012). */
export const GROUP_KIND = 'group'

export class SpoolFullError extends Error {
  constructor(pending: number) {
    super(`the spool has ${pending} points waiting for the database; this message is not acknowledged`)
    this.name = 'SpoolFullError'
  }
}

export interface PostgresSpool extends PointSource {
  /**
   * Add points (and the intake log entries that go with them, in the same transaction). The
   * promise resolves once they are committed; it rejects at once when MAX_PENDING points wait.
   */
  append(points: readonly Point[], log?: readonly IntakeLogEntry[]): Promise<void>
  /** Committed and not yet removed: exact below 100,000 rows, the planner's estimate above. */
  depth(): Promise<number>
  /** Points appended but not yet committed (gathering and in flight). */
  pending(): number
  /** Appends refused at once because MAX_PENDING points were waiting. */
  overflowed(): number
  /** Points set aside as refused by the store. */
  refused(): Promise<number>
  /** Commit what is pending and wait for it; later appends reject. */
  close(): Promise<void>
}

export interface PostgresSpoolDeps {
  db: PgDatabase
  nodeId: string
  commitMs: number
  clock: Clock
  logger: Logger
  /** Where firecircle_spool_overflow_total is registered, when given. */
  metrics?: Registry
  /** Tests lower these. */
  maxPending?: number
  commitTimeoutMs?: number
  inFlight?: number
}

/** One group commit: every append of the group shares its promise. */
interface Group {
  /** Serialised once, as one JSON array, when the group is written. */
  points: Point[]
  log: IntakeLogEntry[]
  done: Promise<void>
  resolve: () => void
  reject: (err: Error) => void
  /** The window closed: commit as soon as fewer than IN_FLIGHT commits are out. */
  due: boolean
  /** Notify at its commit whatever the time since the last (entries before it wait for one). */
  notify: boolean
  timer: Timer
}

// One row per group commit: its points as one JSON array (one JSON.stringify here, stored as
// text, never parsed by the server), and one intake log row per partition of the group, its
// entries as a JSON array of {kind, body} (a json element cast to text is its text as sent).
// Per point and per entry PostgreSQL would insert, index, log, read back, delete and vacuum a
// row of its own (migration 012). $1 is the node, $2 the time; the rows' parameters follow.
const insertPoints = (at: number) =>
  `INSERT INTO spool (body, points, node, created_at) VALUES ($${at}, $${at + 1}, $1, $2)`
const insertEntries = (
  at: number,
) => `INSERT INTO intake_log (partition, kind, body, entries, node, created_at)
  SELECT p, '${GROUP_KIND}', b::text, e, $1, $2
  FROM ROWS FROM (unnest($${at}::text[]), unnest($${at + 1}::int[]), json_array_elements($${at + 2}::json)) WITH ORDINALITY AS t(p, e, b, n)
  ORDER BY n`
// One statement, so one implicit transaction: the points, the log entries and the NOTIFY
// (sent at commit) are all in or all out.
const notifying = (entries: string) => `entries AS (${entries} RETURNING 1)
  SELECT pg_notify('${INTAKE_CHANNEL}', $1) FROM (SELECT 1 FROM entries LIMIT 1) AS one`
const STATEMENTS = {
  points: insertPoints(3),
  log: insertEntries(3),
  logNotify: `WITH ${notifying(insertEntries(3))}`,
  pointsAndLog: `WITH points AS (${insertPoints(3)}) ${insertEntries(5)}`,
  pointsAndLogNotify: `WITH points AS (${insertPoints(3)}), ${notifying(insertEntries(5))}`,
}

/** The statement and parameters that commit a group (see the statements above). */
function groupStatement(
  g: { points: readonly Point[]; log: readonly IntakeLogEntry[] },
  nodeId: string,
  now: number,
  notify: boolean,
): { text: string; values: unknown[] } {
  const values: unknown[] = [nodeId, now]
  const points = g.points.length > 0
  if (points) values.push(JSON.stringify(g.points), g.points.length)
  if (g.log.length === 0) return { text: STATEMENTS.points, values }
  const byPartition = new Map<string, { kind: string; body: unknown }[]>()
  for (const e of g.log) {
    const entry = { kind: e.kind, body: e.body }
    const list = byPartition.get(e.partition)
    if (list === undefined) byPartition.set(e.partition, [entry])
    else list.push(entry)
  }
  const groups = [...byPartition.values()]
  values.push(
    [...byPartition.keys()],
    groups.map((l) => l.length),
    JSON.stringify(groups),
  )
  const text = points
    ? notify
      ? STATEMENTS.pointsAndLogNotify
      : STATEMENTS.pointsAndLog
    : notify
      ? STATEMENTS.logNotify
      : STATEMENTS.log
  return { text, values }
}

const NOTIFY = `SELECT pg_notify('${INTAKE_CHANNEL}', $1)`

/** A new group; its window closes `commitMs` from now, then `due` is called. */
function openGroup(clock: Clock, commitMs: number, due: () => void): Group {
  const g: Group = {
    ...groupPromise(),
    points: [],
    log: [],
    due: false,
    notify: false,
    timer: { cancel() {} },
  }
  g.timer = clock.at(clock.now() + commitMs, () => {
    g.due = true
    due()
  })
  return g
}

/**
 * The firecircle_intake NOTIFY of one spool, at most every NOTIFY_MS (see the module's
 * comment): whether a commit carries it, and the NOTIFY owed to entries committed without one.
 */
function createNotifier(deps: {
  db: PgDatabase
  nodeId: string
  clock: Clock
  commitTimeoutMs: number
  gathering: () => Group | undefined
}) {
  const { db, nodeId, clock } = deps
  /** When the last notifying commit went out, and whether entries since wait for one. */
  let notifiedAt = Number.NEGATIVE_INFINITY
  let owed = false
  let owedTimer: Timer | undefined
  let closed = false

  function owe(at: number): void {
    owed = true
    owedTimer ??= clock.at(at, notifyOwed)
  }

  /** NOTIFY_MS passed with entries not notified: the next group with entries notifies, or this does. */
  function notifyOwed(): void {
    owedTimer = undefined
    if (!owed || closed) return
    const g = deps.gathering()
    if (g !== undefined && g.log.length > 0) {
      g.notify = true
      return
    }
    notifiedAt = clock.now()
    owed = false
    const query = { text: NOTIFY, values: [nodeId], query_timeout: deps.commitTimeoutMs }
    db.pool.query(query).catch(() => {
      // The readers poll: a lost notification delays the entries, it does not lose them.
    })
  }

  return {
    /** Whether this commit notifies: entries, and NOTIFY_MS since the last one that did. */
    notifies(g: Group, now: number): boolean {
      if (g.log.length === 0) return false
      if (g.notify || now - notifiedAt >= NOTIFY_MS) {
        notifiedAt = now
        owed = false
        owedTimer?.cancel()
        owedTimer = undefined
        return true
      }
      owe(notifiedAt + NOTIFY_MS)
      return false
    },
    /** A notifying commit failed: entries committed before it may have waited for its NOTIFY. */
    failed: () => owe(clock.now() + NOTIFY_MS),
    close() {
      closed = true
      owedTimer?.cancel()
    },
  }
}

export function createPostgresSpool(deps: PostgresSpoolDeps): PostgresSpool {
  const { db, nodeId, clock, logger } = deps
  const maxPending = deps.maxPending ?? MAX_PENDING
  const commitTimeoutMs = deps.commitTimeoutMs ?? COMMIT_TIMEOUT_MS
  const overflow = deps.metrics
    ? new client.Counter({
        name: 'firecircle_spool_overflow_total',
        help: 'Appends refused at once because too many points were waiting for the database',
        registers: [deps.metrics],
      })
    : undefined
  const reader = createSpoolReader(db, clock)
  const listeners: (() => void)[] = []
  const maxInFlight = Math.max(1, deps.inFlight ?? IN_FLIGHT)
  let gathering: Group | undefined
  const inFlight = new Set<Promise<void>>()
  const notifier = createNotifier({
    ...deps,
    commitTimeoutMs,
    gathering: () => gathering,
  })
  let pending = 0
  let overflowed = 0
  let lastOverflowLog = Number.NEGATIVE_INFINITY
  let closed = false

  async function write(g: Group): Promise<void> {
    const now = clock.now()
    const notify = notifier.notifies(g, now)
    const statement = groupStatement(g, nodeId, now, notify)
    // query_timeout (node-postgres reads it per query; its types know it only per client)
    // bounds a commit the server does not answer.
    const query = { ...statement, query_timeout: commitTimeoutMs }
    try {
      await db.pool.query(query)
    } catch (err) {
      // Entries committed before this one may have waited for its NOTIFY.
      if (notify) notifier.failed()
      pending -= g.points.length
      g.reject(err instanceof Error ? err : new Error(String(err)))
      return
    }
    pending -= g.points.length
    reader.changed()
    g.resolve()
    for (const l of listeners) l()
  }

  /** Start the gathered group's commit if its window closed and fewer than IN_FLIGHT are out. */
  function commitNext(): void {
    const g = gathering
    if (inFlight.size >= maxInFlight || g === undefined || !g.due) return
    gathering = undefined
    const w: Promise<void> = write(g).finally(() => {
      inFlight.delete(w)
      commitNext()
    })
    inFlight.add(w)
  }

  function refuseAppend(): Promise<void> {
    overflowed++
    overflow?.inc()
    const now = clock.now()
    if (now - lastOverflowLog >= 10_000) {
      lastOverflowLog = now
      logger.error(
        { pending, overflowed },
        'spool full: the database does not keep up or is away; messages are not acknowledged',
      )
    }
    return Promise.reject(new SpoolFullError(pending))
  }

  function flush(): void {
    if (gathering === undefined) return
    gathering.timer.cancel()
    gathering.due = true
    commitNext()
  }

  return {
    append(points, log = []) {
      if (closed) return Promise.reject(new Error('spool is closed'))
      if (points.length === 0 && log.length === 0) return Promise.resolve()
      if (pending + points.length > maxPending) return refuseAppend()
      gathering ??= openGroup(clock, deps.commitMs, commitNext)
      const g = gathering
      for (const p of points) g.points.push(p)
      for (const e of log) g.log.push(e)
      pending += points.length
      return g.done
    },
    take: (limit) => reader.take(limit),
    depth: () => reader.depth(),
    pending: () => pending,
    overflowed: () => overflowed,
    async refused() {
      const r = await db.query<{ n: string }>('SELECT count(*) AS n FROM spool_refused')
      return Number(r.rows[0]?.n ?? 0)
    },
    onCommit(listener) {
      listeners.push(listener)
    },
    flush,
    idlePollMs: IDLE_POLL_MS,
    takeGapMs: TAKE_GAP_MS,
    async close() {
      if (closed) return
      flush()
      closed = true
      const last = gathering?.done
      while (inFlight.size > 0) await Promise.all(inFlight)
      await last?.catch(() => {})
      notifier.close()
    },
  }
}
