import pgClient from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../services/config/index.ts'
import { migratePostgres, migrations, openPostgres } from '../../services/state/index.ts'
import { type PostgresHarness, startPostgres } from '../support/postgres.ts'

let pg: PostgresHarness
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.stop()
})

describe('PostgreSQL state (FC_DATABASE_URL)', () => {
  it('a new database gets every numbered migration once, also when nodes start together', async () => {
    const url = await pg.createDatabase()
    const nodes = await Promise.all([1, 2, 3].map(() => openPostgres(url)))
    const rows = await nodes[0]!.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    )
    expect(rows.rows.map((r) => r.version)).toEqual(migrations('postgres').map((m) => m.version))
    expect(await migratePostgres(nodes[1]!)).toEqual([])
    const tables = await nodes[0]!.query<{ t: string }>(
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public'",
    )
    const names = tables.rows.map((r) => r.t)
    for (const t of [
      'incidents',
      'devices',
      'dispatch_offers',
      'linkage_audit',
      'intake_log',
      'cluster_leases',
      'cluster_outbox',
    ])
      expect(names).toContain(t)
    await Promise.all(nodes.map((n) => n.close()))
  })

  it('a database at a newer schema version is refused with one line naming FC_DATABASE_URL', async () => {
    const url = await pg.createDatabase()
    const db = await openPostgres(url)
    await db.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)")
    await db.close()
    const err = await openPostgres(url).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).setting).toBe('FC_DATABASE_URL')
    expect((err as Error).message).toMatch(/schema version 999, newer than this firecircle knows/)
  })

  it('an unreachable database stops the start naming FC_DATABASE_URL, without the password', async () => {
    const port = pg.server.port + 1
    const err = await openPostgres(`postgres://fire:s3cret@127.0.0.1:${port}/none`).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).setting).toBe('FC_DATABASE_URL')
    expect((err as Error).message).toMatch(/cannot reach postgres:\/\/fire:\*\*\*@127\.0\.0\.1/)
    expect((err as Error).message).not.toContain('s3cret')
  })

  it('a transaction that throws leaves nothing behind', async () => {
    const db = await pg.database()
    await expect(
      db.tx(async (c) => {
        await c.query("INSERT INTO streets (name, created_at) VALUES ('Xixiang', 1)")
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    const n = await db.query<{ n: string }>('SELECT count(*) AS n FROM streets')
    expect(Number(n.rows[0]!.n)).toBe(0)
    // the server is a real one: another client sees committed rows only
    await db.tx(async (c) => c.query("INSERT INTO streets (name, created_at) VALUES ('Xixiang', 1)"))
    const other = new pgClient.Client(db.url)
    await other.connect()
    expect((await other.query('SELECT name FROM streets')).rows).toEqual([{ name: 'Xixiang' }])
    await other.end()
  })
  it('a transaction whose session the database ends mid-way fails (the process goes on), changes nothing, and the next one works', async () => {
    const db = await pg.database()
    let uncaught: unknown
    const onUncaught = (err: unknown) => {
      uncaught = err
    }
    process.on('uncaughtException', onUncaught)
    try {
      const failed = await db
        .tx(async (c) => {
          await c.query("INSERT INTO streets (name, created_at) VALUES ('Xixiang', 1)")
          // The session idles in its transaction, as a paused process would; the database ends it.
          // ('end' comes after the 'error' the client emits for a connection that broke)
          const ended = new Promise<void>((resolve) => c.once('end', () => resolve()))
          await c.query("SET LOCAL idle_in_transaction_session_timeout = '50'")
          await ended
        })
        .catch((e: unknown) => e)
      expect(failed).toBeInstanceOf(Error)
      // Room for a late 'error' from the broken connection to reach the process, if it would.
      await new Promise((r) => setImmediate(r))
      expect(uncaught).toBeUndefined()
    } finally {
      process.off('uncaughtException', onUncaught)
    }
    expect(Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM streets')).rows[0]!.n)).toBe(0)
    await db.tx(async (c) => c.query("INSERT INTO streets (name, created_at) VALUES ('Xixiang', 1)"))
    expect(Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM streets')).rows[0]!.n)).toBe(1)
  })
})
