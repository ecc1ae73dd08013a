import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createManualClock } from '../../services/shared/clock.ts'
import { createLogger } from '../../services/shared/log.ts'
import {
  createIntakeLogReader,
  createPostgresSpool,
  type IntakeLogReader,
  type IntakeLogRecord,
} from '../../services/spool/index.ts'
import {
  openPostgres,
  type PartitionFence,
  type PgDatabase,
  partitionMoved,
} from '../../services/state/index.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'

const silent = createLogger('silent')
const FAR = 8_000_000_000_000
let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

/** The brief's tiny fence: a node holds what cluster_leases says it holds, at the epoch it knows. */
function testFence(node: string, epochs: Map<string, number>): PartitionFence {
  return {
    async hold(client, partition) {
      const r = await client.query(
        'SELECT 1 FROM cluster_leases WHERE partition=$1 AND owner=$2 AND epoch=$3 AND expires_at > $4 FOR SHARE',
        [partition, node, epochs.get(partition) ?? -1, 0],
      )
      if (r.rowCount === 0) throw partitionMoved(partition)
    },
    owned: () => [...epochs.keys()],
  }
}

async function lease(db: PgDatabase, partition: string, owner: string, epoch: number): Promise<void> {
  await db.query(
    `INSERT INTO cluster_leases (partition, owner, epoch, expires_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (partition) DO UPDATE SET owner = excluded.owner, epoch = excluded.epoch`,
    [partition, owner, epoch, FAR],
  )
}

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}

const left = async (db: PgDatabase): Promise<string[]> =>
  (await db.query<{ p: string }>('SELECT partition AS p FROM intake_log ORDER BY id')).rows.map((r) => r.p)

describe('intake log reader', () => {
  it('hands each node only its partitions’ entries, in id order, and deletes them after handle', async () => {
    const db = await pg.database()
    const other = await openPostgres(db.url)
    const clock = createManualClock()
    await lease(db, 'nanshan', 'a', 1)
    await lease(db, 'futian', 'b', 1)
    const spool = createPostgresSpool({ db, nodeId: 'a', commitMs: 1, clock, logger: silent })
    const appended = spool.append(
      [],
      [
        { partition: 'nanshan', kind: 'reading', body: { seq: 1 } },
        { partition: 'futian', kind: 'reading', body: { seq: 2 } },
        { partition: 'luohu', kind: 'reading', body: { seq: 3 } },
        { partition: 'nanshan', kind: 'device.event', body: { seq: 4 } },
      ],
    )
    clock.advance(1)
    await appended
    const handled = { a: [] as IntakeLogRecord[], b: [] as IntakeLogRecord[] }
    const readers: IntakeLogReader[] = [
      createIntakeLogReader({
        db,
        fence: testFence('a', new Map([['nanshan', 1]])),
        clock,
        logger: silent,
        listen: false,
        handle: async (e) => void handled.a.push(...e),
      }),
      createIntakeLogReader({
        db: other,
        fence: testFence('b', new Map([['futian', 1]])),
        clock,
        logger: silent,
        listen: false,
        handle: async (e) => void handled.b.push(...e),
      }),
    ]
    for (const r of readers) r.start()
    await until(async () => (await left(db)).length === 1)
    expect(handled.a.map((e) => [e.kind, e.body])).toEqual([
      ['reading', { seq: 1 }],
      ['device.event', { seq: 4 }],
    ])
    // One group commit: nanshan's two entries are one row, in their order, sharing its id.
    expect(handled.a[0]!.id).toBe(handled.a[1]!.id)
    expect(handled.a[0]!.createdAt).toBe(clock.now())
    expect(handled.b.map((e) => e.body)).toEqual([{ seq: 2 }])
    expect(await left(db)).toEqual(['luohu']) // nobody holds it: it waits
    for (const r of readers) await r.stop()
    await spool.close()
    await other.close()
  })

  it('reads full batches one after another, each deleted once handled, and an entry committed late with a lower id after them', async () => {
    const db = await pg.database()
    const other = await openPostgres(db.url)
    const clock = createManualClock()
    await lease(db, 'nanshan', 'a', 1)
    const insert =
      'INSERT INTO intake_log (partition, kind, body, node, created_at) VALUES ($1, $2, $3, $4, $5)'
    // Another node's commit still in flight holds the lowest id.
    const late = await other.pool.connect()
    await late.query('BEGIN')
    await late.query(insert, ['nanshan', 'reading', '{"seq":0}', 'b', 0])
    for (let i = 1; i <= 7; i++) await db.query(insert, ['nanshan', 'reading', `{"seq":${i}}`, 'b', 0])
    const batches: number[][] = []
    const a = createIntakeLogReader({
      db,
      fence: testFence('a', new Map([['nanshan', 1]])),
      clock,
      logger: silent,
      listen: false,
      batchSize: 3,
      handle: async (e) => void batches.push(e.map((x) => (x.body as { seq: number }).seq)),
    })
    a.start()
    await until(async () => (await left(db)).length === 0)
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6], [7]])
    await late.query('COMMIT')
    late.release()
    a.wake()
    await until(async () => batches.length === 4 && (await left(db)).length === 0)
    expect(batches[3]).toEqual([0])
    await a.stop()
    await other.close()
  })

  it('leaves a partition lost during handle to its new owner, who gets the entries', async () => {
    const db = await pg.database()
    const other = await openPostgres(db.url)
    const clock = createManualClock()
    await lease(db, 'nanshan', 'a', 1)
    await lease(db, 'futian', 'a', 1)
    const spool = createPostgresSpool({ db, nodeId: 'a', commitMs: 1, clock, logger: silent })
    const appended = spool.append(
      [],
      [
        { partition: 'nanshan', kind: 'reading', body: { seq: 1 } },
        { partition: 'futian', kind: 'reading', body: { seq: 2 } },
      ],
    )
    clock.advance(1)
    await appended
    let release!: () => void
    const handleBlocked = new Promise<void>((r) => {
      release = r
    })
    let seenByA = 0
    const a = createIntakeLogReader({
      db,
      fence: testFence(
        'a',
        new Map([
          ['nanshan', 1],
          ['futian', 1],
        ]),
      ),
      clock,
      logger: silent,
      listen: false,
      handle: async (e) => {
        seenByA += e.length
        await handleBlocked
      },
    })
    a.start()
    await until(() => seenByA === 2)
    // While A evaluates, nanshan moves to B (a new epoch).
    await lease(db, 'nanshan', 'b', 2)
    release()
    await until(async () => (await left(db)).length === 1)
    await a.stop()
    expect(await left(db)).toEqual(['nanshan'])

    const gotByB: IntakeLogRecord[] = []
    const b = createIntakeLogReader({
      db: other,
      fence: testFence('b', new Map([['nanshan', 2]])),
      clock,
      logger: silent,
      listen: false,
      handle: async (e) => void gotByB.push(...e),
    })
    b.start()
    await until(async () => (await left(db)).length === 0)
    expect(gotByB.map((e) => e.body)).toEqual([{ seq: 1 }])
    await b.stop()
    await spool.close()
    await other.close()
  })

  it('hears another node’s commit through NOTIFY firecircle_intake, without a poll or a wake', async () => {
    const db = await pg.database()
    const other = await openPostgres(db.url)
    // A manual clock that nobody advances past the commit: the reader's poll never fires.
    const clock = createManualClock()
    await lease(db, 'nanshan', 'b', 1)
    const got: IntakeLogRecord[] = []
    const b = createIntakeLogReader({
      db: other,
      fence: testFence('b', new Map([['nanshan', 1]])),
      clock,
      logger: silent,
      handle: async (e) => void got.push(...e),
    })
    b.start()
    // LISTEN is in place once the connection answered; it was started with the first look.
    await until(
      async () =>
        (
          await db.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN firecircle_intake%'",
          )
        ).rows[0]!.n === 1,
    )
    const spoolA = createPostgresSpool({ db, nodeId: 'a', commitMs: 1, clock, logger: silent })
    const appended = spoolA.append([], [{ partition: 'nanshan', kind: 'reading', body: { seq: 7 } }])
    clock.advance(1) // the spool's window only: the reader's 250 ms poll is far away
    await appended
    await until(() => got.length === 1, 2000)
    expect(got[0]!.body).toEqual({ seq: 7 })
    await b.stop()
    await spoolA.close()
    await other.close()
  })
})
