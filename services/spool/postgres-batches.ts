/**
 * The reading side of a cluster's spool (./postgres.ts): batches for the pipeline, taken FOR
 * UPDATE SKIP LOCKED in a transaction held until the store acknowledged them, and the depth.
 *
 * Depth: an exact count(*) while the table is small (the planner's estimate, pg_class.reltuples,
 * below 100,000 rows: the usual case, the pipeline keeps up), the estimate above it (a backlog
 * after a store outage, where an exact count would scan it at every scrape), reused for 1 s
 * unless this node changed the table.
 */
import type { Clock } from '../shared/index.ts'
import type { PgClient, PgDatabase } from '../state/index.ts'
import type { Point } from '../store/index.ts'
import type { SpooledPoint, TakenBatch } from './index.ts'

/** A batch's transaction left idle this long (its node hangs on the store) is ended by the server. */
const BATCH_IDLE_TIMEOUT = '60s'
/** Below this many rows (the planner's estimate) the depth is counted exactly. */
const EXACT_COUNT_BELOW = 100_000
/** How long a depth read is reused when nothing changed here. */
const DEPTH_CACHE_MS = 1_000

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
          `SELECT CASE WHEN c.reltuples >= $1 THEN c.reltuples::bigint
             ELSE (SELECT count(*) FROM spool) END AS n
           FROM pg_class c WHERE c.oid = 'spool'::regclass`,
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
    let rows: { id: string; body: string }[]
    try {
      await c.query(`BEGIN; SET LOCAL idle_in_transaction_session_timeout = '${BATCH_IDLE_TIMEOUT}'`)
      rows = (
        await c.query<{ id: string; body: string }>(
          'SELECT id, body FROM spool ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED',
          [limit],
        )
      ).rows
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
    return heldBatch(
      c,
      giveBack,
      rows.map((r) => ({ id: Number(r.id), point: JSON.parse(r.body) as Point })),
    )
  }

  function heldBatch(c: PgClient, giveBack: (err?: unknown) => void, points: SpooledPoint[]): TakenBatch {
    const removed: number[] = []
    const refused: { id: number; reason: string; at: number }[] = []
    let open = true
    const end = async (finish: boolean): Promise<void> => {
      if (!open) return
      open = false
      try {
        if (finish) await finishBatch(c, removed, refused)
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
      points,
      remove(ids) {
        removed.push(...ids)
      },
      refuse(id, reason, at) {
        refused.push({ id, reason, at })
      },
      finish: () => end(true),
      release: () => end(false),
    }
  }

  return { take, depth, changed }
}

const settled = (): Promise<void> => Promise.resolve()
const emptyBatch: TakenBatch = { points: [], remove() {}, refuse() {}, finish: settled, release: settled }

/** Set the refused points aside, delete the batch's rows, commit: the batch leaves the spool. */
async function finishBatch(
  c: PgClient,
  removed: readonly number[],
  refused: readonly { id: number; reason: string; at: number }[],
): Promise<void> {
  if (refused.length > 0) {
    await c.query(
      `INSERT INTO spool_refused (id, body, reason, refused_at)
       SELECT s.id, s.body, r.reason, r.at
       FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS r(id, reason, at) JOIN spool s ON s.id = r.id
       ON CONFLICT (id) DO UPDATE SET body = excluded.body, reason = excluded.reason, refused_at = excluded.refused_at`,
      [refused.map((r) => r.id), refused.map((r) => r.reason), refused.map((r) => r.at)],
    )
  }
  const ids = [...removed, ...refused.map((r) => r.id)]
  if (ids.length > 0) await c.query('DELETE FROM spool WHERE id = ANY($1::bigint[])', [ids])
  await c.query('COMMIT')
}
