/**
 * SQLite (better-sqlite3 12) for the embedded single node: state that must survive a restart
 * and change in transactions (registry, live device state, incidents, dispatch, linkage),
 * the intake spool and the embedded telemetry store, each in its own file.
 * WAL; synchronous=FULL by default: a committed transaction is on disk when commit returns.
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

/** How often the state database's WAL is checkpointed in the background. */
export const STATE_CHECKPOINT_MS = 5000

/**
 * Move WAL checkpoints off the commit path: SQLite otherwise runs one (with an fsync) inside
 * whichever commit crosses 1000 WAL pages, which may be the commit of an alarm. Here they run
 * on their own timer instead. Returns a function that stops them (and checkpoints once). A
 * checkpoint that fails (a full disk: the database file cannot grow) is told to `failed` and
 * tried again at the next tick; it never throws out of the timer — that once took the whole
 * service down when its disk filled (issue #12).
 */
export function checkpointInBackground(
  db: SqliteDb,
  everyMs: number,
  failed: (err: Error) => void = () => {},
): () => void {
  db.pragma('wal_autocheckpoint = 0')
  const checkpoint = () => {
    try {
      if (db.open) db.pragma('wal_checkpoint(PASSIVE)')
    } catch (err) {
      failed(err instanceof Error ? err : new Error(String(err)))
    }
  }
  const timer = setInterval(checkpoint, everyMs)
  timer.unref()
  return () => {
    clearInterval(timer)
    checkpoint()
  }
}

/**
 * A synchronous better-sqlite3 call as a repository's promise: settled when it returns, rejected
 * with what it threw (so a repository's callers handle SQLite and PostgreSQL alike).
 */
export function settled<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn())
  } catch (err) {
    return Promise.reject(err)
  }
}

/** `?, ?, …` for an INSERT of `n` columns. */
export const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ')
