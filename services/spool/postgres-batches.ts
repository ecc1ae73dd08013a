/**
 * The reading side of a cluster's spool (./postgres.ts): batches for the pipeline, taken FOR
 * UPDATE SKIP LOCKED in a transaction held until the store acknowledged them, and the depth.
 *
 * A row holds one group commit's points (a JSON array, `points` long; a row written before
 * migration 012 holds one, as an object). A batch is the next free rows until they hold the
 * pipeline's `limit` points (the row that reaches it included; so a batch holds at most
 * `limit` + one row's points, whatever the rows' sizes); its points are numbered by
 * their place in the batch (SpooledPoint.id), and a row leaves the spool once every one of
 * its points was removed (stored) or refused (set aside in spool_refused, each under an id of
 * its own).
 *
 * Depth, in points: the rows between the lowest and the highest id, both read off the primary
 * key's two ends. Below 100,000 ids apart (the usual case, the pipeline keeps up) their points
 * are summed exactly, through the index over that range; above it the span times the points
 * of the newest rows is the depth (a backlog after a store outage: an estimate, ids of
 * rolled-back commits and of batches removed out of order are in the span), so neither scans
 * the table. A plain count(*) would: a queue table's heap is mostly rows deleted since the last
 * vacuum, and at 10,000 readings/s that count was a third of PostgreSQL's time. Reused for 1 s
 * unless this node changed the table.
 */
import type { Clock } from '../shared/index.ts'
import type { PgClient, PgDatabase } from '../state/index.ts'
import type { Point } from '../store/index.ts'
import type { SpooledPoint, TakenBatch } from './index.ts'

/** A batch's transaction left idle this long (its node hangs on the store) is ended by the server. */
const BATCH_IDLE_TIMEOUT = '60s'
/** Below this span of ids (rows) the depth is summed exactly. */
const EXACT_COUNT_BELOW = 100_000
/** How long a depth read is reused when nothing changed here. */
const DEPTH_CACHE_MS = 1_000
/**
 * The points per row guessed before the first batch: as many as the limit, so the first take
 * locks one row (the rows locked past the batch's stay locked until it ends, and another
 * node's pipeline passes them by meanwhile).
 */
const FIRST_POINTS_PER_ROW = Number.POSITIVE_INFINITY
/** The most rows in one batch (rows of single points, written before migration 012). */
const MAX_ROWS = 5_000

export interface SpoolReader {
  take(limit: number): Promise<TakenBatch>
  depth(): Promise<number>
  /** This node changed the table: the next depth is read anew. */
  changed(): void
}

export function createSpoolReader(db: PgDatabase, clock: Clock): SpoolReader {
  let depthCache: { at: number; n: Promise<number> } | undefined
  const changed = (): void => {
    depthCache = undefined
  }

  function depth(): Promise<number> {
    const now = clock.now()
    if (depthCache === undefined || now - depthCache.at >= DEPTH_CACHE_MS) {
      const n = db
        .query<{ n: string }>(
          `WITH b AS (SELECT min(id) AS lo, max(id) AS hi FROM spool)
           SELECT (CASE WHEN b.lo IS NULL THEN 0
             WHEN b.hi - b.lo < $1 THEN (SELECT sum(points) FROM spool WHERE id BETWEEN b.lo AND b.hi)
             ELSE (b.hi - b.lo + 1) * (SELECT avg(points) FROM (SELECT points FROM spool ORDER BY id DESC LIMIT 100) AS newest)
             END)::bigint AS n
           FROM b`,
          [EXACT_COUNT_BELOW],
        )
        .then((r) => Number(r.rows[0]?.n ?? 0))
      const entry = { at: now, n }
      depthCache = entry
      // A failed read is not reused.
      n.catch(() => {
        if (depthCache === entry) depthCache = undefined
      })
    }
    return depthCache.n
  }

  let pointsPerRow = FIRST_POINTS_PER_ROW

  async function take(limit: number): Promise<TakenBatch> {
    const c = await db.pool.connect()
    // A held connection that breaks (the database restarted) emits 'error' between queries:
    // without a listener that would end the process. The batch's next query fails instead.
    const broken = (): void => {}
    c.on('error', broken)
    const giveBack = (err?: unknown): void => {
      c.removeListener('error', broken)
      c.release(err === undefined ? undefined : err instanceof Error ? err : true)
    }
    const rowLimit = Math.min(MAX_ROWS, Math.max(1, Math.ceil(limit / pointsPerRow)))
    let rows: { id: string; body: string }[]
    try {
      await c.query(`BEGIN; SET LOCAL idle_in_transaction_session_timeout = '${BATCH_IDLE_TIMEOUT}'`)
      // Lock the next free rows, reading only their sizes; then the bodies of those that make
      // the batch: `limit` points, the row that reaches it included (a row alone may hold up
      // to MAX_PENDING points). The rows locked beyond it are free again when the batch ends.
      const free = (
        await c.query<{ id: string; points: number }>(
          'SELECT id, points FROM spool ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED',
          [rowLimit],
        )
      ).rows
      const ids = rowsWithin(free, limit)
      rows =
        ids.length === 0
          ? []
          : (
              await c.query<{ id: string; body: string }>(
                'SELECT id, body FROM spool WHERE id = ANY($1::bigint[]) ORDER BY id',
                [ids],
              )
            ).rows
      if (free.length > 0) pointsPerRow = Math.max(1, free.reduce((a, r) => a + r.points, 0) / free.length)
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {})
      giveBack(err)
      throw err
    }
    if (rows.length === 0) {
      await c.query('ROLLBACK').catch(() => {})
      giveBack()
      return emptyBatch
    }
    const batch = batchOf(rows)
    return heldBatch(c, giveBack, batch)
  }

  function heldBatch(c: PgClient, giveBack: (err?: unknown) => void, batch: RowsBatch): TakenBatch {
    const handled = new Uint8Array(batch.points.length)
    const refused: { point: Point; reason: string; at: number }[] = []
    let open = true
    const end = async (finish: boolean): Promise<void> => {
      if (!open) return
      open = false
      try {
        if (finish) await finishBatch(c, doneRows(batch, handled), refused)
        else await c.query('ROLLBACK')
        giveBack()
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {})
        giveBack(err)
        throw err
      } finally {
        changed()
      }
    }
    return {
      points: batch.points,
      remove(ids) {
        for (const i of ids) handled[i] = 1
      },
      refuse(id, reason, at) {
        const p = batch.points[id]
        if (p === undefined || handled[id] === 1) return
        handled[id] = 1
        refused.push({ point: p.point, reason, at })
      },
      finish: () => end(true),
      release: () => end(false),
    }
  }

  return { take, depth, changed }
}

const settled = (): Promise<void> => Promise.resolve()
const emptyBatch: TakenBatch = { points: [], remove() {}, refuse() {}, finish: settled, release: settled }

/** The first rows, in order, until they hold `limit` points (the row that reaches it included). */
function rowsWithin(rows: readonly { id: string; points: number }[], limit: number): string[] {
  const ids: string[] = []
  let points = 0
  for (const r of rows) {
    if (points >= limit) break
    ids.push(r.id)
    points += r.points
  }
  return ids
}

/** A batch's points, numbered by their place in it, and the spool row each came from. */
interface RowsBatch {
  points: SpooledPoint[]
  /** rowIds[i]: the row of points[i]. */
  rowIds: number[]
}

function batchOf(rows: readonly { id: string; body: string }[]): RowsBatch {
  const points: SpooledPoint[] = []
  const rowIds: number[] = []
  for (const r of rows) {
    const id = Number(r.id)
    const body = JSON.parse(r.body) as Point | Point[]
    for (const point of Array.isArray(body) ? body : [body]) {
      rowIds.push(id)
      points.push({ id: points.length, point })
    }
  }
  return { points, rowIds }
}

/** The rows every point of which was removed or refused (the others stay whole). */
function doneRows(batch: RowsBatch, handled: Uint8Array): number[] {
  const open = new Set<number>()
  for (let i = 0; i < handled.length; i++) if (handled[i] !== 1) open.add(batch.rowIds[i]!)
  return [...new Set(batch.rowIds)].filter((id) => !open.has(id))
}

/** Set the refused points aside, delete the batch's finished rows, commit: they leave the spool. */
async function finishBatch(
  c: PgClient,
  rows: readonly number[],
  refused: readonly { point: Point; reason: string; at: number }[],
): Promise<void> {
  if (refused.length > 0) {
    await c.query(
      `INSERT INTO spool_refused (id, body, reason, refused_at)
       SELECT nextval(pg_get_serial_sequence('spool', 'id')), b, r, a
       FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(b, r, a)`,
      [refused.map((r) => JSON.stringify(r.point)), refused.map((r) => r.reason), refused.map((r) => r.at)],
    )
  }
  if (rows.length > 0) await c.query('DELETE FROM spool WHERE id = ANY($1::bigint[])', [rows])
  await c.query('COMMIT')
}
