/**
 * The intake log's reader: a cluster node evaluates the readings and device events of the
 * partitions it holds, whichever node received them. A row holds the entries one group commit
 * had for one partition (kind 'group', a JSON array; a row written before migration 012 holds
 * one entry); they are handed on one by one, each with its row's id, and a batch is rows
 * until they hold `batchSize` entries. The entries are committed by the spool
 * with their points (./postgres.ts); this reads those of `fence.owned()` partitions in id
 * order, hands them to `handle` (the live path: alarm engine, liveness), and only then
 * deletes exactly those rows, in a transaction that holds each of their partitions — the
 * rows of a partition lost meanwhile stay for its new owner.
 *
 * Evaluation is AT LEAST ONCE: a node that crashes (or loses the database) between `handle`
 * and the delete leaves the entries, and they are handed again, here or to the new owner.
 * The handler must take a reading twice without harm (the engine's conditions and incidents
 * are keyed by device and fenced; a repeated reading is the same reading).
 *
 * One batch handled at a time, in id order; while a full batch's entries are deleted (a commit:
 * one fsync) the next one is read after its last id and handled — the delete of batch n is
 * committed before the delete of n + 1 starts, and never before its entries were handled. An
 * entry committed late with a lower id than the last read (another node's commit still in
 * flight) is not lost: it is read by the next look from the start, at the latest after
 * MAX_CHAIN chained batches. Woken by `wake()` after a local commit, by NOTIFY
 * firecircle_intake (sent by another node's commit, on a connection of its own here), and
 * by a poll every `pollMs` in case a notification is lost (a reconnect, a missed LISTEN).
 */
import type { Clock, Logger, Timer } from '../shared/index.ts'
import { DomainError } from '../shared/index.ts'
import type { PartitionFence, PgClient, PgDatabase } from '../state/index.ts'
import { GROUP_KIND, INTAKE_CHANNEL } from './postgres.ts'

export interface IntakeLogRecord {
  /** Its row's id: the entries of one row share it. */
  id: number
  partition: string
  kind: string
  body: unknown
  createdAt: number
}

export interface IntakeLogReader {
  start(): void
  /** Stop after the batch being handled; resolves when the reader is idle and unlistened. */
  stop(): Promise<void>
  /** Look now (a local commit added entries). */
  wake(): void
}

export interface IntakeLogReaderDeps {
  db: PgDatabase
  fence: PartitionFence
  clock: Clock
  logger: Logger
  handle: (entries: IntakeLogRecord[]) => Promise<void>
  /** The fallback poll. Default 250 ms. */
  pollMs?: number
  /** Entries per batch. Default 2000. */
  batchSize?: number
  /** LISTEN firecircle_intake on a connection of its own. Default true. */
  listen?: boolean
}

const POLL_MS = 250
const BATCH = 2000
/** Batches read after the previous one's last id before a look from the start. */
const MAX_CHAIN = 10
/**
 * After a batch that was not full, the next look waits this long (real time: it spares the
 * database, whatever the clock says): each look that finds entries is a transaction, and at a
 * steady rate one per commit woken by would cost more than the entries it moves.
 */
const ROUND_GAP_MS = 20
/** The pause after a failure (the database away, the handler threw). */
const RETRY_MS = 1_000

export function createIntakeLogReader(deps: IntakeLogReaderDeps): IntakeLogReader {
  const { db, fence, clock, logger, handle } = deps
  const pollMs = deps.pollMs ?? POLL_MS
  const batchSize = deps.batchSize ?? BATCH
  let running = false
  let loop: Promise<void> | undefined
  let woken = false
  let sleeper: (() => void) | undefined
  let failing = false
  const listening = createListening(db, logger, wake, () => running && deps.listen !== false)
  /** The delete of the batch handled last, committing while the next one is read and handled. */
  let removing: Promise<void> | undefined
  /** Read after this id (0: from the start) and how many batches in a row were. */
  let after = 0
  let chained = 0

  function wake(): void {
    woken = true
    sleeper?.()
  }

  function sleep(ms: number): Promise<void> {
    if (woken || !running) return Promise.resolve()
    return new Promise((resolve) => {
      let timer: Timer | undefined
      sleeper = () => {
        sleeper = undefined
        timer?.cancel()
        resolve()
      }
      timer = clock.at(clock.now() + ms, () => sleeper?.())
    })
  }

  /** One look: whether there may be more right away ('some': entries, not a full batch). */
  async function round(): Promise<boolean | 'some'> {
    listening.ensure()
    const owned = fence.owned()
    if (owned.length === 0) {
      await removed()
      fromStart()
      return false
    }
    const entries = await readBatch(db, owned, after, batchSize)
    if (entries.length === 0) {
      // After a chain: look once more from the start, for entries committed late.
      const chain = after > 0
      await removed()
      fromStart()
      return chain
    }
    await handle(entries)
    // The previous batch's delete commits first (in order; its failure is this round's).
    await removed()
    const full = entries.length >= batchSize
    if (full && chained < MAX_CHAIN) {
      after = entries[entries.length - 1]!.id
      chained++
      const r = remove(db, fence, entries)
      r.catch(() => {})
      removing = r
    } else {
      await remove(db, fence, entries)
      fromStart()
    }
    return full || 'some'
  }

  /** Wait for the delete in flight (its failure is the caller's). */
  async function removed(): Promise<void> {
    const r = removing
    removing = undefined
    await r
  }

  function fromStart(): void {
    after = 0
    chained = 0
  }

  async function run(): Promise<void> {
    while (running) {
      woken = false
      let more: boolean | 'some' = false
      try {
        more = await round()
        if (failing) logger.info('intake log: reading again')
        failing = false
      } catch (err) {
        if (!failing)
          logger.warn(
            { err: (err as Error).message },
            'intake log: a batch failed; its entries stay and are handed again',
          )
        failing = true
        await removed().catch(() => {})
        fromStart()
        await sleep(RETRY_MS)
        continue
      }
      if (more === 'some') await new Promise((resolve) => setTimeout(resolve, ROUND_GAP_MS))
      if (more !== true) await sleep(pollMs)
    }
    await removed().catch(() => {})
  }

  return {
    start() {
      if (running) return
      running = true
      loop = run()
    },
    async stop() {
      running = false
      sleeper?.()
      await loop
      await listening.stop()
    },
    wake,
  }
}

/** The next batch of the owned partitions' entries after `afterId`, in id order. */
async function readBatch(
  db: PgDatabase,
  owned: readonly string[],
  afterId: number,
  batchSize: number,
): Promise<IntakeLogRecord[]> {
  // Rows in id order until they hold batchSize entries (the row that reaches it included),
  // read partition by partition through (partition, id): a plain index scan in id order,
  // which marks the entries deleted by earlier rounds dead in the index as it passes them.
  // `partition = ANY($1)` was planned as a bitmap scan and a sort, which visits every entry
  // deleted since the last vacuum in the heap again at every look.
  const r = await db.query<{
    id: string
    partition: string
    kind: string
    body: string
    created_at: string
  }>(
    `SELECT id, partition, kind, body, created_at FROM (
       SELECT *, sum(entries) OVER (ORDER BY id) - entries AS before FROM (
         SELECT e.* FROM unnest($1::text[]) AS o(p) CROSS JOIN LATERAL (
           SELECT id, partition, kind, body, created_at, entries FROM intake_log
           WHERE partition = o.p AND id > $3 ORDER BY id LIMIT $2) AS e
         ORDER BY e.id LIMIT $2) AS first) AS counted
     WHERE before < $2 ORDER BY id`,
    [owned, batchSize, afterId],
  )
  const records: IntakeLogRecord[] = []
  for (const row of r.rows) {
    const id = Number(row.id)
    const createdAt = Number(row.created_at)
    const body = JSON.parse(row.body) as unknown
    if (row.kind !== GROUP_KIND) {
      records.push({ id, partition: row.partition, kind: row.kind, body, createdAt })
      continue
    }
    for (const e of body as { kind: string; body: unknown }[])
      records.push({ id, partition: row.partition, kind: e.kind, body: e.body, createdAt })
  }
  return records
}

/**
 * LISTEN firecircle_intake on a connection of its own, (re)started by `ensure()` at each look
 * while `wanted()`: a lost connection is released and the next look listens again.
 */
function createListening(db: PgDatabase, logger: Logger, wake: () => void, wanted: () => boolean) {
  let listener: PgClient | undefined
  let listening: Promise<void> | undefined
  let detach = (): void => {}

  async function listen(): Promise<void> {
    if (listener !== undefined || !wanted()) return
    const c = await db.pool.connect()
    const lost = (err: Error) => {
      if (listener !== c) return
      listener = undefined
      c.release(err)
      // The poll goes on; the next round listens again.
    }
    const notified = () => wake()
    c.on('error', lost)
    c.on('notification', notified)
    // A pooled connection goes back to the pool: without these handlers.
    detach = () => {
      c.removeListener('error', lost)
      c.removeListener('notification', notified)
    }
    try {
      await c.query(`LISTEN ${INTAKE_CHANNEL}`)
    } catch (err) {
      detach()
      c.release(err instanceof Error ? err : true)
      throw err
    }
    listener = c
    // Entries committed before LISTEN took effect are found by the look that follows.
    wake()
  }

  async function unlisten(): Promise<void> {
    const c = listener
    if (c === undefined) return
    listener = undefined
    try {
      await c.query(`UNLISTEN ${INTAKE_CHANNEL}`)
      detach()
      c.release()
    } catch (err) {
      c.release(err instanceof Error ? err : true)
    }
  }

  return {
    ensure(): void {
      if (listening !== undefined || listener !== undefined || !wanted()) return
      listening = listen()
        .catch((err: Error) => logger.warn({ err: err.message }, 'intake log: LISTEN failed; polling'))
        .finally(() => {
          listening = undefined
        })
    },
    async stop(): Promise<void> {
      await listening
      await unlisten()
    },
  }
}

/**
 * Delete the handled entries, holding each of their partitions in the same transaction. A
 * partition lost since the read is left out (its rows stay for the new owner) and the rest
 * is deleted in a new transaction.
 */
async function remove(db: PgDatabase, fence: PartitionFence, entries: IntakeLogRecord[]): Promise<void> {
  // Sorted, so two transactions lock lease rows in the same order.
  let held = [...new Set(entries.map((e) => e.partition))].sort()
  while (held.length > 0) {
    let lost: string | undefined
    try {
      await db.tx(async (c) => {
        for (const p of held) {
          try {
            await fence.hold(c, p)
          } catch (err) {
            if (err instanceof DomainError && err.code === 'partition_moved') lost = p
            throw err
          }
        }
        const set = new Set(held)
        const ids = [...new Set(entries.filter((e) => set.has(e.partition)).map((e) => e.id))]
        await c.query('DELETE FROM intake_log WHERE id = ANY($1::bigint[])', [ids])
      })
      return
    } catch (err) {
      if (lost === undefined) throw err
      const gone = lost
      held = held.filter((p) => p !== gone)
    }
  }
}
