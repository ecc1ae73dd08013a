/**
 * Numbered migrations: the schema of each SQLite file the service keeps is created and
 * upgraded by the files in `migrations/<schema>/` (`001_initial.sql`, `002_….sql`), applied
 * in order, each in its own transaction. A file's number is the schema version it leads to:
 * `PRAGMA user_version` holds the version a database is at, and `schema_migrations` records
 * which file brought it there and when. A database at a version newer than the code knows is
 * refused before anything reads it, with one line naming the setting (FC_DATA_DIR): an older
 * firecircle must never write to a schema it does not understand.
 *
 * Migrations only go forward. A released migration is never edited; a change is a new file.
 */
import fs from 'node:fs'
import path from 'node:path'
import { ConfigError } from '../config/index.ts'
import type { SqliteDb } from './sqlite.ts'

/** The schemas, one per database file. */
export type SchemaName = 'state' | 'spool' | 'telemetry'

/** The one schema of a cluster's PostgreSQL database (./postgres.ts). */
export type MigrationSet = SchemaName | 'postgres'

export interface Migration {
  version: number
  name: string
  sql: string
}

const FILE = /^(\d{3})_([a-z0-9_]+)\.sql$/
const FOLDER = path.join(import.meta.dirname, 'migrations')

const cache = new Map<MigrationSet, Migration[]>()

/** The migrations of a schema, in order; their numbers run 1, 2, 3, … without a gap. */
export function migrations(schema: MigrationSet): Migration[] {
  const known = cache.get(schema)
  if (known) return known
  const dir = path.join(FOLDER, schema)
  const list = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => {
      const m = FILE.exec(f)
      if (m === null) throw new Error(`migrations/${schema}/${f}: a migration is named NNN_name.sql`)
      return { version: Number(m[1]), name: m[2] as string, sql: fs.readFileSync(path.join(dir, f), 'utf8') }
    })
    .sort((a, b) => a.version - b.version)
  list.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`migrations/${schema}: expected version ${i + 1}, found ${m.version} (${m.name})`)
  })
  cache.set(schema, list)
  return list
}

/** The version a database is at (0: made before numbered migrations, or new). */
export function schemaVersion(db: SqliteDb): number {
  return db.pragma('user_version', { simple: true }) as number
}

/**
 * Bring `db` to the newest version of `schema`. `label` names the file in messages
 * (`state.db`). Returns the versions applied now (empty when it was up to date).
 */
export function migrate(db: SqliteDb, schema: SchemaName, label: string): number[] {
  const list = migrations(schema)
  const latest = list.length
  const current = schemaVersion(db)
  if (current > latest) {
    throw new ConfigError(
      'FC_DATA_DIR',
      `${label} is at schema version ${current}, newer than this firecircle knows (${latest}): run the version that wrote it, or a newer one`,
    )
  }
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`)
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
  const applied: number[] = []
  for (const m of list) {
    if (m.version <= current) continue
    db.transaction(() => {
      db.exec(m.sql)
      record.run(m.version, m.name, Date.now())
      db.pragma(`user_version = ${m.version}`)
    })()
    applied.push(m.version)
  }
  return applied
}
