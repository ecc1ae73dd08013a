/**
 * The audit chain on a real PostgreSQL (tools/postgres.ts): two "nodes" (two pools on the one
 * database) append at once and the advisory lock keeps one chain (seqs 1…n, each entry linked to
 * the one before); one row altered directly in the database is named by verify; the archive
 * keeps the chain whole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPostgresAuditRepository, verifyChain } from '../../services/audit/index.ts'
import { openPostgres, type PgDatabase } from '../../services/state/index.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'

let pg: PostgresHarness
let a: PgDatabase & { url: string }
let b: PgDatabase

beforeAll(async () => {
  pg = await startPostgres()
  a = await pg.database()
  b = await openPostgres(a.url)
}, 60_000)

afterAll(async () => {
  await b?.close()
  await pg?.stop()
})

describe('the audit chain on PostgreSQL', () => {
  it('two nodes appending at once make one chain; an altered row is named; the archive verifies', async () => {
    const nodeA = createPostgresAuditRepository(a)
    const nodeB = createPostgresAuditRepository(b)
    const t0 = Date.UTC(2026, 11, 2)
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? nodeA : nodeB).append({
          at: t0 + i,
          actor: `officer:o-${i % 2 === 0 ? 'a' : 'b'}`,
          action: 'incident.status',
          subject: `incident:i-${i}`,
          details: { status: 'acknowledged', n: i },
        }),
      ),
    )
    const all = await nodeA.all()
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    expect(verifyChain(all)).toEqual({ ok: true, entries: 20 })

    await a.query(`UPDATE audit_log SET details = '{"status":"false_alarm","n":6}' WHERE seq = 7`)
    const broken = verifyChain(await nodeB.all())
    expect(broken).toMatchObject({ ok: false, firstBroken: { seq: 7 } })
    await a.query('DELETE FROM audit_log WHERE seq = 7')
    expect(verifyChain(await nodeB.all())).toMatchObject({ ok: false, firstBroken: { seq: 8 } })
  })

  it('archives entries before a time and goes on from the archive', async () => {
    const db = await pg.database()
    const repo = createPostgresAuditRepository(db)
    for (let i = 0; i < 5; i++)
      await repo.append({
        at: 1000 + i,
        actor: 'engine',
        action: 'duty_check.missed',
        subject: `duty_check:${i}`,
        details: {},
      })
    expect(await repo.archive(1003, 5000)).toBe(3)
    expect(await repo.count()).toEqual({ log: 2, archive: 3 })
    expect(await repo.archive(2000, 5000)).toBe(2)
    const e = await repo.append({
      at: 3000,
      actor: 'engine',
      action: 'x',
      subject: 'y',
      details: { a: [1, { b: 2 }] },
    })
    expect(e.seq).toBe(6)
    expect(verifyChain(await repo.all())).toEqual({ ok: true, entries: 6 })
    expect((await repo.between(1002, 1004)).map((x) => x.seq)).toEqual([3, 4])
  })
})
