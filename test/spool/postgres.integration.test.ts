import pgClient from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createManualClock, systemClock } from '../../services/shared/clock.ts'
import { createLogger } from '../../services/shared/log.ts'
import {
  createIntakeLogReader,
  createPostgresSpool,
  type IntakeLogRecord,
  NOTIFY_MS,
  SpoolFullError,
} from '../../services/spool/index.ts'
import { migrations, openPostgres, type PgDatabase } from '../../services/state/index.ts'
import type { Point } from '../../services/store/types.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'

const point = (i: number): Point => ({
  measurement: 'telemetry',
  tags: { device: `d${i % 7}`, kind: 'smoke', building: 'b', community: 'c', street: 's' },
  fields: { obscuration: i / 10, seq: i },
  ints: ['seq'],
  ts: 1_700_000_000_000 + i,
})

const silent = createLogger('silent')
let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

/** The points of the spool's committed rows, in order (a row holds one group commit's points). */
async function spooledPoints(url: string): Promise<Point[]> {
  const rows = await committed(url, 'SELECT body FROM spool ORDER BY id')
  return rows.flatMap((r) => JSON.parse(r.body as string) as Point[])
}

/** Another connection's view: what is committed, nothing else. */
async function committed(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const other = new pgClient.Client(url)
  await other.connect()
  try {
    return (await other.query(sql)).rows
  } finally {
    await other.end()
  }
}

describe('PostgreSQL spool: group commit', () => {
  it('commits every append of a window as ONE transaction, visible only when the promises resolve', async () => {
    const db = await pg.database()
    const clock = createManualClock()
    const spool = createPostgresSpool({ db, nodeId: 'n1', commitMs: 5, clock, logger: silent })
    let resolved = 0
    const appends = Array.from({ length: 300 }, (_, i) => spool.append([point(i)]).then(() => resolved++))
    expect(spool.pending()).toBe(300)
    await new Promise((r) => setTimeout(r, 50))
    expect(resolved).toBe(0)
    expect(await committed(db.url, 'SELECT count(*)::int AS n FROM spool')).toEqual([{ n: 0 }])
    clock.advance(5)
    await Promise.all(appends)
    // One row for the group commit, its points in append order, each as the SQLite spool stores it.
    const rows = await committed(db.url, 'SELECT body, points, node FROM spool ORDER BY id')
    expect(rows.map((r) => [r.points, r.node])).toEqual([[300, 'n1']])
    expect(JSON.parse(rows[0]!.body as string)).toEqual(Array.from({ length: 300 }, (_, i) => point(i)))
    expect(spool.pending()).toBe(0)
    expect(await spool.depth()).toBe(300)
    await spool.close()
  })

  it('gathers the next group while a commit is in flight, one commit at a time with inFlight 1', async () => {
    const db = await pg.database()
    const clock = createManualClock()
    const spool = createPostgresSpool({ db, nodeId: 'n1', commitMs: 2, clock, logger: silent, inFlight: 1 })
    const first = Array.from({ length: 50 }, (_, i) => spool.append([point(i)]))
    clock.advance(2) // the first group's commit is in flight now
    const second = Array.from({ length: 70 }, (_, i) => spool.append([point(100 + i)]))
    clock.advance(2) // its window closed while the first commit was out: it follows that one
    await Promise.all([...first, ...second])
    const groups = await committed(
      db.url,
      'SELECT sum(points)::int AS n, count(*)::int AS rows FROM spool GROUP BY xmin::text ORDER BY min(id)',
    )
    expect(groups).toEqual([
      { n: 50, rows: 1 },
      { n: 70, rows: 1 },
    ])
    await spool.close()
  })

  it('commits the next group beside one in flight (two at once), each append resolving with its own commit', async () => {
    const db = await pg.database()
    const clock = createManualClock()
    const spool = createPostgresSpool({ db, nodeId: 'n1', commitMs: 2, clock, logger: silent })
    // Another session holds intake_log: a group with entries waits for it, one without does not.
    const blocker = new pgClient.Client(db.url)
    await blocker.connect()
    await blocker.query('BEGIN; LOCK TABLE intake_log IN EXCLUSIVE MODE')
    let firstDone = false
    const first = spool
      .append([point(1)], [{ partition: 'nanshan', kind: 'reading', body: { device: 'd1' } }])
      .then(() => {
        firstDone = true
      })
    clock.advance(2)
    const second = spool.append([point(2)])
    clock.advance(2)
    await second
    expect(firstDone).toBe(false)
    expect(await committed(db.url, 'SELECT count(*)::int AS n FROM spool')).toEqual([{ n: 1 }])
    await blocker.query('COMMIT')
    await first
    expect(await committed(db.url, 'SELECT count(*)::int AS n FROM spool')).toEqual([{ n: 2 }])
    await blocker.end()
    await spool.close()
  })

  it('notifies firecircle_intake at most every NOTIFY_MS; entries left without one get it after that', async () => {
    const db = await pg.database()
    const clock = createManualClock()
    const spool = createPostgresSpool({ db, nodeId: 'n1', commitMs: 1, clock, logger: silent })
    const listener = new pgClient.Client(db.url)
    await listener.connect()
    const heard: string[] = []
    listener.on('notification', (n) => heard.push(n.payload ?? ''))
    await listener.query('LISTEN firecircle_intake')
    const entry = { partition: 'nanshan', kind: 'reading' as const, body: { device: 'd1' } }
    const one = spool.append([point(1)], [entry])
    clock.advance(1)
    await one
    const two = spool.append([point(2)], [entry])
    clock.advance(1) // 2 ms after the first: no NOTIFY of its own
    await two
    await new Promise((r) => setTimeout(r, 100))
    expect(heard).toEqual(['n1'])
    clock.advance(NOTIFY_MS) // owed: nothing is gathering, so a NOTIFY of its own
    await expect.poll(() => heard.length).toBe(2)
    await listener.end()
    await spool.close()
  })

  it('commits intake log entries with their points, atomically, and a failed group writes nothing', async () => {
    const db = await pg.database()
    const clock = createManualClock()
    const spool = createPostgresSpool({ db, nodeId: 'n1', commitMs: 2, clock, logger: silent })
    const a = spool.append(
      [point(1)],
      [{ partition: 'nanshan', kind: 'reading', body: { device: 'd1', v: 1 } }],
    )
    const b = spool.append(
      [point(2)],
      [{ partition: 'futian', kind: 'device.event', body: { device: 'd2' } }],
    )
    clock.advance(2)
    await Promise.all([a, b])
    const together = await committed(
      db.url,
      `SELECT (SELECT count(DISTINCT xmin::text) FROM (SELECT xmin FROM spool UNION ALL SELECT xmin FROM intake_log) x)::int AS tx,
              (SELECT count(*) FROM intake_log)::int AS entries`,
    )
    expect(together).toEqual([{ tx: 1, entries: 2 }])
    // A row per partition of the group, its entries as {kind, body} in append order.
    expect(
      await committed(db.url, 'SELECT partition, kind, body, entries, node FROM intake_log ORDER BY id'),
    ).toEqual([
      {
        partition: 'nanshan',
        kind: 'group',
        body: '[{"kind":"reading","body":{"device":"d1","v":1}}]',
        entries: 1,
        node: 'n1',
      },
      {
        partition: 'futian',
        kind: 'group',
        body: '[{"kind":"device.event","body":{"device":"d2"}}]',
        entries: 1,
        node: 'n1',
      },
    ])

    // An entry the database refuses (no partition) fails its whole group: points included.
    const ok = spool.append([point(3)])
    const bad = spool.append(
      [point(4)],
      [{ partition: null as unknown as string, kind: 'reading', body: {} }],
    )
    clock.advance(2)
    await expect(ok).rejects.toThrow(/null value/)
    await expect(bad).rejects.toThrow(/null value/)
    expect(
      await committed(
        db.url,
        'SELECT (SELECT sum(points) FROM spool)::int AS p, (SELECT sum(entries) FROM intake_log)::int AS l',
      ),
    ).toEqual([{ p: 2, l: 2 }])
    await spool.close()
  })

  it('refuses appends at once beyond what may wait in memory, and counts them', async () => {
    const db = await pg.database()
    const clock = createManualClock()
    const spool = createPostgresSpool({
      db,
      nodeId: 'n1',
      commitMs: 2,
      clock,
      logger: silent,
      maxPending: 10,
    })
    const kept = spool.append(Array.from({ length: 8 }, (_, i) => point(i)))
    await expect(spool.append(Array.from({ length: 3 }, (_, i) => point(8 + i)))).rejects.toBeInstanceOf(
      SpoolFullError,
    )
    expect(spool.overflowed()).toBe(1)
    expect(spool.pending()).toBe(8)
    clock.advance(2)
    await kept
    expect(spool.pending()).toBe(0)
    const late = spool.append([point(20), point(21), point(22)])
    await spool.close() // commits what is pending
    await late
    expect(await committed(db.url, 'SELECT sum(points)::int AS n FROM spool')).toEqual([{ n: 11 }])
  })
})

describe('PostgreSQL spool: the PUBACK promise across an outage', () => {
  it('appends reject in bounded time while the server is down; nothing resolved is missing after restart', async () => {
    const db: PgDatabase & { url: string } = await pg.database()
    const spool = createPostgresSpool({ db, nodeId: 'n1', commitMs: 2, clock: systemClock, logger: silent })
    const before = Array.from({ length: 100 }, (_, i) => spool.append([point(i)]))
    await Promise.all(before)
    await pg.server.stop('immediate')
    try {
      const started = Date.now()
      const during = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => spool.append([point(1000 + i)])),
      )
      // The pool's connection timeout (5 s) bounds the wait; a refused connection is faster.
      expect(Date.now() - started).toBeLessThan(6_000)
      expect(during.every((r) => r.status === 'rejected')).toBe(true)
    } finally {
      await pg.server.start()
    }
    await spool.append([point(2000)])
    const seqs = (await spooledPoints(db.url)).map((p) => p.fields.seq)
    expect(seqs).toEqual([...Array.from({ length: 100 }, (_, i) => i), 2000])
    await spool.close()
  }, 30_000)
})

describe('PostgreSQL spool: batches for the pipeline', () => {
  it('two takers never hold the same rows; a released batch is taken again; refused points are set aside', async () => {
    const db = await pg.database()
    const clock = createManualClock()
    const a = createPostgresSpool({ db, nodeId: 'a', commitMs: 1, clock, logger: silent })
    const b = createPostgresSpool({ db, nodeId: 'b', commitMs: 1, clock, logger: silent })
    // Three group commits: three rows of 4, 4 and 2 points.
    for (const seqs of [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]) {
      const appended = a.append(seqs.map(point))
      clock.advance(1)
      await appended
    }
    const first = await a.take(4)
    const second = await b.take(4)
    expect(first.points.map((p) => p.point.fields.seq)).toEqual([0, 1, 2, 3])
    expect(second.points.map((p) => p.point.fields.seq)).toEqual([4, 5, 6, 7])
    await first.release()
    const again = await b.take(100)
    expect(again.points.map((p) => p.point.fields.seq)).toEqual([0, 1, 2, 3, 8, 9])
    second.remove(second.points.map((p) => p.id))
    await second.finish()
    again.remove(again.points.slice(1).map((p) => p.id))
    again.refuse(again.points[0]!.id, 'field type conflict', 42)
    // Until the batch's transaction commits, the rows are there for everybody else.
    expect(await committed(db.url, 'SELECT sum(points)::int AS n FROM spool')).toEqual([{ n: 6 }])
    await again.finish()
    expect(await committed(db.url, 'SELECT count(*)::int AS n FROM spool')).toEqual([{ n: 0 }])
    expect(await committed(db.url, 'SELECT body, reason, refused_at::int AS at FROM spool_refused')).toEqual([
      { body: JSON.stringify(point(0)), reason: 'field type conflict', at: 42 },
    ])
    expect(await a.refused()).toBe(1)
    expect(await a.depth()).toBe(0)
    const empty = await a.take(10)
    expect(empty.points).toEqual([])
    await Promise.all([a.close(), b.close()])
  })

  it('takes rows until they hold the limit (the row that reaches it included), however large the rows', async () => {
    const db = await pg.database()
    const clock = createManualClock()
    const a = createPostgresSpool({ db, nodeId: 'a', commitMs: 1, clock, logger: silent })
    const b = createPostgresSpool({ db, nodeId: 'b', commitMs: 1, clock, logger: silent })
    // Group commits of 400, 400, 400, 3,000, 10, 10, 10 and 600 points: a row each.
    const sizes = [400, 400, 400, 3000, 10, 10, 10, 600]
    const rowOf: number[] = []
    let seq = 0
    for (const [row, n] of sizes.entries()) {
      const appended = a.append(Array.from({ length: n }, () => point(seq++)))
      for (let i = 0; i < n; i++) rowOf.push(row)
      clock.advance(1)
      await appended
    }
    const taken: number[] = []
    for (let turn = 0; turn < 50; turn++) {
      const batch = await (turn % 2 === 0 ? a : b).take(1000)
      if (batch.points.length === 0) break
      const seqs = batch.points.map((p) => p.point.fields.seq as number)
      const rows = [...new Set(seqs.map((s) => rowOf[s]!))]
      // Whole rows, and fewer than the limit before the last of them.
      for (const r of rows) expect(seqs.filter((s) => rowOf[s] === r)).toHaveLength(sizes[r]!)
      expect(seqs.length - sizes[rows[rows.length - 1]!]!).toBeLessThan(1000)
      taken.push(...seqs)
      batch.remove(batch.points.map((p) => p.id))
      await batch.finish()
    }
    expect(taken).toEqual(Array.from({ length: seq }, (_, i) => i))
    expect(await a.depth()).toBe(0)
    await Promise.all([a.close(), b.close()])
  })

  it('keeps a row until every one of its points is stored or refused; reads rows of one point written before migration 012', async () => {
    const db = await pg.database()
    const clock = createManualClock()
    const spool = createPostgresSpool({ db, nodeId: 'a', commitMs: 1, clock, logger: silent })
    // A node of the version before wrote one point per row, the point itself as the body.
    await db.query('INSERT INTO spool (body, node, created_at) VALUES ($1, $2, 0)', [
      JSON.stringify(point(0)),
      'old',
    ])
    const appended = spool.append([point(1), point(2), point(3)])
    clock.advance(1)
    await appended
    expect(await spool.depth()).toBe(4)
    // A node's first batch is one row: the old one, its point as it was written.
    const old = await spool.take(1000)
    expect(old.points.map((p) => p.point)).toEqual([point(0)])
    old.remove(old.points.map((p) => p.id))
    await old.finish()
    const batch = await spool.take(1000)
    expect(batch.points.map((p) => p.point)).toEqual([point(1), point(2), point(3)])
    // Two of the group's points stored, the third not: its row stays whole.
    batch.remove(batch.points.slice(0, 2).map((p) => p.id))
    await batch.finish()
    expect(await spooledPoints(db.url)).toEqual([point(1), point(2), point(3)])
    expect(await spool.depth()).toBe(3)
    const again = await spool.take(100)
    again.remove(again.points.map((p) => p.id))
    await again.finish()
    expect(await spool.depth()).toBe(0)
    await spool.close()
  })
})

describe('PostgreSQL spool: a database of the version before migration 012', () => {
  it('is upgraded at start, and what its nodes had acknowledged is drained and evaluated by the new ones', async () => {
    // A database as the nodes before migration 012 left it: schema 11, one row per point and per entry.
    const url = await pg.createDatabase()
    const old = new pgClient.Client(url)
    await old.connect()
    await old.query(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    )
    for (const m of migrations('postgres').filter((x) => x.version <= 11)) {
      await old.query(m.sql)
      await old.query('INSERT INTO schema_migrations VALUES ($1, $2, 0)', [m.version, m.name])
    }
    for (const i of [1, 2])
      await old.query('INSERT INTO spool (body, node, created_at) VALUES ($1, $2, 0)', [
        JSON.stringify(point(i)),
        'old',
      ])
    await old.query(
      "INSERT INTO intake_log (partition, kind, body, node, created_at) VALUES ('nanshan', 'reading', '{\"seq\":1}', 'old', 7)",
    )
    await old.query(
      'INSERT INTO cluster_leases (partition, owner, epoch, expires_at) VALUES ($1, $2, 1, $3)',
      ['nanshan', 'new', 8_000_000_000_000],
    )
    await old.end()

    const db = await openPostgres(url)
    const versions = await db.query<{ v: number }>('SELECT max(version) AS v FROM schema_migrations')
    expect(versions.rows[0]!.v).toBe(12)
    const clock = createManualClock()
    const spool = createPostgresSpool({ db, nodeId: 'new', commitMs: 1, clock, logger: silent })
    // A new group commit beside the old rows.
    const appended = spool.append(
      [point(3), point(4)],
      [{ partition: 'nanshan', kind: 'reading', body: { seq: 2 } }],
    )
    clock.advance(1)
    await appended
    expect(await spool.depth()).toBe(4)
    const drained: number[] = []
    for (let k = 0; k < 5 && drained.length < 4; k++) {
      const batch = await spool.take(1000)
      drained.push(...batch.points.map((p) => p.point.fields.seq as number))
      batch.remove(batch.points.map((p) => p.id))
      await batch.finish()
    }
    expect(drained).toEqual([1, 2, 3, 4])
    expect(await spool.depth()).toBe(0)

    const handled: IntakeLogRecord[] = []
    const reader = createIntakeLogReader({
      db,
      fence: {
        async hold() {},
        owned: () => ['nanshan'],
      },
      clock,
      logger: silent,
      listen: false,
      handle: async (e) => void handled.push(...e),
    })
    reader.start()
    await expect.poll(async () => (await db.query('SELECT 1 FROM intake_log')).rowCount).toBe(0)
    await reader.stop()
    expect(handled.map((e) => [e.kind, e.body, e.createdAt])).toEqual([
      ['reading', { seq: 1 }, 7],
      ['reading', { seq: 2 }, clock.now()],
    ])
    await spool.close()
    await db.close()
  })
})
