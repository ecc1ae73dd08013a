/**
 * SQLite (better-sqlite3 12) for state that must survive a restart and change in
 * transactions: registry, live device state, intake spool, embedded telemetry.
 * WAL with synchronous=FULL: a committed transaction is on disk when commit returns.
 */
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'

export type SqliteDb = Database.Database

export function openDatabase(file: string, opts: { synchronous?: 'FULL' | 'NORMAL' } = {}): SqliteDb {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true })
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`)
  db.pragma('busy_timeout = 5000')
  db.pragma('foreign_keys = ON')
  return db
}
