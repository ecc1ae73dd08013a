/**
 * A real PostgreSQL for tests (tools/postgres.ts: Debian's server, initdb in a temp dir, a free
 * port on 127.0.0.1, as the postgres user when the tests run as root), and a fresh database per
 * test file on it, migrated.
 *
 *   const pg = await startPostgres()            // one server per test file
 *   const db = await pg.database()              // a new empty database, migrated; db.close() after
 *   await pg.server.stop('immediate'); await pg.server.start()
 *   await pg.stop()
 */
import pgClient from 'pg'
import { openPostgres, type PgDatabase } from '../../services/state/index.ts'
import { startThrowawayPostgres, type ThrowawayPostgres } from '../../tools/postgres.ts'

export interface PostgresHarness {
  readonly server: ThrowawayPostgres
  /** The URL of the default database (`firecircle`). */
  readonly url: string
  /** A new database on the server (its URL), empty. */
  createDatabase(): Promise<string>
  /** A new database, migrated and opened. */
  database(): Promise<PgDatabase & { url: string }>
  stop(): Promise<void>
}

let counter = 0

export async function startPostgres(): Promise<PostgresHarness> {
  const server = await startThrowawayPostgres()
  const open: PgDatabase[] = []
  async function createDatabase(): Promise<string> {
    const name = `fc_test_${process.pid}_${++counter}`
    const admin = new pgClient.Client({
      host: '127.0.0.1',
      port: server.port,
      user: 'postgres',
      database: 'postgres',
    })
    await admin.connect()
    try {
      await admin.query(`CREATE DATABASE ${name}`)
    } finally {
      await admin.end()
    }
    return `postgres://postgres@127.0.0.1:${server.port}/${name}`
  }
  return {
    server,
    url: server.url,
    createDatabase,
    async database() {
      const url = await createDatabase()
      const db = await openPostgres(url)
      open.push(db)
      return Object.assign(db, { url })
    },
    async stop() {
      for (const db of open) await db.close().catch(() => {})
      await server.destroy()
    },
  }
}
