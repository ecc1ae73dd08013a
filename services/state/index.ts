/**
 * Where the embedded node keeps its state: SQLite files in FC_DATA_DIR, each created and
 * upgraded by numbered migrations (./migrate.ts, ./migrations/). A stage never runs DDL: it
 * reads and writes through its own repository, whose SQLite implementation takes the open,
 * migrated database from here.
 */
import path from 'node:path'
import { migrate } from './migrate.ts'
import { openDatabase, type SqliteDb } from './sqlite.ts'

export { type Migration, migrate, migrations, type SchemaName, schemaVersion } from './migrate.ts'
export {
  checkpointInBackground,
  openDatabase,
  placeholders,
  type SqliteDb,
  STATE_CHECKPOINT_MS,
  settled,
} from './sqlite.ts'

/**
 * Open the state database (registry, live state, incidents, dispatch, linkage) and bring its
 * schema to the newest version; refuses (ConfigError naming FC_DATA_DIR) a newer one.
 */
export function openStateDatabase(file: string, opts: { synchronous?: 'FULL' | 'NORMAL' } = {}): SqliteDb {
  const db = openDatabase(file, opts)
  try {
    migrate(db, 'state', file === ':memory:' ? 'state.db' : path.basename(file))
  } catch (err) {
    db.close()
    throw err
  }
  return db
}
export {
  migratePostgres,
  openPostgres,
  type PartitionFence,
  type PgClient,
  type PgDatabase,
  partitionMoved,
  redactedUrl,
} from './postgres.ts'
