/**
 * PostgreSQL for a node of a cluster (FC_DATABASE_URL): one pool of connections, the
 * numbered migrations of `migrations/postgres/` applied at start under an advisory lock (so
 * that nodes starting together do not race), and what every partitioned repository needs to
 * fence its writes. A database at a schema version newer than this firecircle knows is
 * refused with one line naming FC_DATABASE_URL, like FC_DATA_DIR's SQLite files.
 */
import pg from 'pg'
import { ConfigError } from '../config/index.ts'
import { DomainError } from '../shared/index.ts'
import { migrations } from './migrate.ts'

export type PgClient = pg.PoolClient

export interface PgDatabase {
  readonly pool: pg.Pool
  /** Run `fn` in one transaction (BEGIN … COMMIT; ROLLBACK when it throws). */
  tx<T>(fn: (client: PgClient) => Promise<T>): Promise<T>
  /** One statement outside a transaction. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>
  close(): Promise<void>
}

/**
 * The partitions of work (one per community) and this node's hold on them. A repository of
 * partitioned state (incidents, conditions, offers, linkage) calls `hold` inside each writing
 * transaction: it locks the partition's lease row (FOR SHARE, so that a change of owner waits
 * for the write) and refuses the write when this node no longer holds the lease at the epoch
 * it acts under — a paused node that wakes up after its lease moved changes nothing.
 */
export interface PartitionFence {
  /** Resolves when this node holds `partition` now; throws DomainError `partition_moved` otherwise. */
  hold(client: PgClient, partition: string): Promise<void>
  /** The partitions this node works on now: what the repositories load at (re)start. */
  owned(): readonly string[]
}

/** The error a fenced write throws (mapped to 409 `conflict` on HTTP). */
export function partitionMoved(partition: string): DomainError {
  return new DomainError(
    'partition_moved',
    `the work of community ${partition} has moved to another node; try again`,
  )
}

const MIGRATION_LOCK = 0x46_43_4d_47 // 'FCMG'

/** Bring the database to the newest schema; returns the versions applied now. */
export async function migratePostgres(db: PgDatabase, label = 'FC_DATABASE_URL'): Promise<number[]> {
  const list = migrations('postgres')
  return db.tx(async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at BIGINT NOT NULL
    )`)
    const row = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations')
    const current = row.rows[0]?.v ?? 0
    if (current > list.length) {
      throw new ConfigError(
        label,
        `the database is at schema version ${current}, newer than this firecircle knows (${list.length}): run the version that wrote it, or a newer one`,
      )
    }
    const applied: number[] = []
    for (const m of list) {
      if (m.version <= current) continue
      await c.query(m.sql)
      await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        Date.now(),
      ])
      applied.push(m.version)
    }
    return applied
  })
}

/** Where the URL points, without its password (for messages). */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return '(not a URL)'
  }
}

/**
 * Connect (checked with one query) and migrate. An unreachable or refusing database stops
 * the start with one line naming FC_DATABASE_URL.
 */
export async function openPostgres(
  url: string,
  opts: { applicationName?: string; max?: number; migrate?: boolean } = {},
): Promise<PgDatabase> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'firecircle',
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
  })
  // A connection that breaks while idle (the database restarted) must not crash the process:
  // the pool drops it and the next query opens a new one.
  pool.on('error', () => {})
  const db: PgDatabase = {
    pool,
    async tx(fn) {
      const client = await pool.connect()
      // A connection that breaks during the transaction (the database restarted, or ended a
      // session left idle in a transaction) emits 'error' on the checked-out client: without a
      // listener that ends the process. The transaction's query fails instead, and the broken
      // connection is not given back to the pool.
      let broken: Error | undefined
      const onError = (err: Error): void => {
        broken = err
      }
      client.on('error', onError)
      try {
        await client.query('BEGIN')
        const result = await fn(client)
        await client.query('COMMIT')
        return result
      } catch (err) {
        if (broken === undefined) await client.query('ROLLBACK').catch(() => {})
        throw err
      } finally {
        client.removeListener('error', onError)
        client.release(broken)
      }
    },
    query: (text, values) => pool.query(text, values),
    close: () => pool.end(),
  }
  try {
    await pool.query('SELECT 1')
  } catch (err) {
    await pool.end().catch(() => {})
    throw new ConfigError('FC_DATABASE_URL', `cannot reach ${redactedUrl(url)}: ${(err as Error).message}`)
  }
  if (opts.migrate !== false) {
    try {
      await migratePostgres(db)
    } catch (err) {
      await pool.end().catch(() => {})
      if (err instanceof ConfigError) throw err
      throw new ConfigError(
        'FC_DATABASE_URL',
        `cannot migrate ${redactedUrl(url)}: ${(err as Error).message}`,
      )
    }
  }
  return db
}
