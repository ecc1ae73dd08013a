/** The registry's tables in the state database (SQLite). Idempotent: run at every start. */
import type { SqliteDb } from '../state/index.ts'

export function migrateRegistry(db: SqliteDb): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS streets (
      name TEXT PRIMARY KEY,
      created_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS communities (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      street TEXT NOT NULL REFERENCES streets(name),
      geometry TEXT NOT NULL,
      created_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS buildings (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      lon REAL NOT NULL,
      lat REAL NOT NULL,
      community TEXT NOT NULL REFERENCES communities(id),
      street TEXT NOT NULL,
      responsible TEXT NOT NULL,
      created_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS buildings_community ON buildings(community);
    CREATE INDEX IF NOT EXISTS buildings_street ON buildings(street);
    CREATE TABLE IF NOT EXISTS devices (
      id TEXT PRIMARY KEY,
      kind TEXT NOT NULL,
      building TEXT NOT NULL REFERENCES buildings(id),
      community TEXT NOT NULL,
      street TEXT NOT NULL,
      lon REAL,
      lat REAL,
      floor INTEGER,
      gateway TEXT REFERENCES devices(id),
      thresholds TEXT,
      enabled INTEGER NOT NULL,
      secret_hash TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS devices_building ON devices(building);
    CREATE INDEX IF NOT EXISTS devices_community ON devices(community);
    CREATE INDEX IF NOT EXISTS devices_street ON devices(street);
    CREATE INDEX IF NOT EXISTS devices_gateway ON devices(gateway) WHERE gateway IS NOT NULL;
    CREATE TABLE IF NOT EXISTS responders (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      type TEXT NOT NULL,
      mode TEXT NOT NULL,
      lon REAL,
      lat REAL,
      on_duty INTEGER NOT NULL,
      building TEXT REFERENCES buildings(id),
      community TEXT,
      street TEXT,
      enabled INTEGER NOT NULL,
      secret_hash TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS responders_community ON responders(community);
    CREATE INDEX IF NOT EXISTS responders_street ON responders(street);
    CREATE TABLE IF NOT EXISTS officers (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      scope TEXT NOT NULL,
      token_hash TEXT NOT NULL,
      created_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS admin_token (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      token_hash TEXT NOT NULL,
      created_at INTEGER NOT NULL
    );
  `)
}
