/**
 * Numbered migrations on a fresh data dir and on one made by the firecircle before them:
 * test/fixtures/state-v0/ holds the three files (state.db, spool.db, telemetry.db) that
 * `npm run demo -- --exit` of commit c3c57af left behind — a district of 412 devices and 240
 * responders, two incidents with their timelines, offers, linked alerts, commands and timers.
 */
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import {
  migrate,
  migrations,
  openDatabase,
  openStateDatabase,
  type SchemaName,
  schemaVersion,
} from '../../services/state/index.ts'
import { spawnService, startTestService } from '../support/service.ts'
import { tempDir } from '../support/tmp.ts'

const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/state-v0')
const FILES: Record<SchemaName, string> = { state: 'state.db', spool: 'spool.db', telemetry: 'telemetry.db' }

/** Every table of a file (but the migrations' own) with all its rows, in a stable order. */
function contents(file: string): Record<string, unknown[]> {
  const db = new Database(file, { readonly: true })
  try {
    const tables = db
      .prepare<[], { name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations' ORDER BY name",
      )
      .all()
      .map((t) => t.name)
    return Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}" ORDER BY 1, 2`).all()]))
  } finally {
    db.close()
  }
}

const dirs: { cleanup(): void }[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup()
})

function copyOfOldDataDir(): string {
  const t = tempDir('firecircle-migrate-')
  dirs.push(t)
  for (const f of Object.values(FILES)) fs.copyFileSync(path.join(FIXTURE, f), path.join(t.dir, f))
  return t.dir
}

describe('migrations', () => {
  it('are numbered from 1 without a gap, for each database file', () => {
    for (const schema of Object.keys(FILES) as SchemaName[]) {
      const list = migrations(schema)
      expect(list.length).toBeGreaterThan(0)
      expect(list.map((m) => m.version)).toEqual(list.map((_, i) => i + 1))
    }
  })

  it('create every table on a fresh database and record what they applied', () => {
    const t = tempDir('firecircle-migrate-')
    dirs.push(t)
    const db = openStateDatabase(path.join(t.dir, 'state.db'))
    try {
      expect(schemaVersion(db)).toBe(migrations('state').length)
      const applied = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all()
      expect(applied).toEqual(migrations('state').map((m) => ({ version: m.version, name: m.name })))
      const tables = db
        .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .all()
        .map((r) => r.name)
      for (const t of ['devices', 'incidents', 'dispatch_offers', 'linkage_audit', 'device_state'])
        expect(tables).toContain(t)
      // Again: nothing to do.
      expect(migrate(db, 'state', 'state.db')).toEqual([])
    } finally {
      db.close()
    }
  })

  it('upgrade the files of the firecircle before them with every record intact', () => {
    const dir = copyOfOldDataDir()
    for (const [schema, file] of Object.entries(FILES) as [SchemaName, string][]) {
      const before = contents(path.join(FIXTURE, file))
      const db = openDatabase(path.join(dir, file))
      try {
        expect(schemaVersion(db)).toBe(0)
        expect(migrate(db, schema, file)).toEqual(migrations(schema).map((m) => m.version))
        expect(schemaVersion(db)).toBe(migrations(schema).length)
      } finally {
        db.close()
      }
      const after = contents(path.join(dir, file))
      // Every old table with every record and every old column intact; a later migration may add
      // tables (empty at the upgrade) and columns (NULL for the old records).
      expect(Object.keys(after)).toEqual(expect.arrayContaining(Object.keys(before)))
      for (const table of Object.keys(after))
        if (!(table in before)) expect(after[table], `${file} ${table} (new)`).toEqual([])
      for (const table of Object.keys(before)) {
        const kept = (after[table] as Record<string, unknown>[]).map((row, i) => {
          const old = (before[table] as Record<string, unknown>[])[i] ?? {}
          for (const col of Object.keys(row))
            if (!(col in old)) expect(row[col], `${file} ${table}.${col} (new)`).toBeNull()
          return Object.fromEntries(Object.keys(old).map((col) => [col, row[col]]))
        })
        expect(kept, `${file} ${table}`).toEqual(before[table])
      }
    }
    const state = contents(path.join(FIXTURE, 'state.db'))
    expect(state['devices']).toHaveLength(412)
    expect(state['incidents']).toHaveLength(2)
    expect(state['dispatch_offers']).toHaveLength(28)
  })

  it('serve an old data dir: the service starts on it and shows what it holds', async () => {
    const dir = copyOfOldDataDir()
    const svc = await startTestService({ dataDir: dir })
    try {
      const devices = await svc.api.get('/api/devices?limit=1')
      expect(devices.status).toBe(200)
      expect(devices.body.total).toBe(412)
      const incidents = await svc.api.get('/api/incidents')
      expect(incidents.body.total).toBe(2)
      const fire = incidents.body.items.find((i: { status: string }) => i.status !== 'resolved')
      const one = await svc.api.get(`/api/incidents/${fire.id}`)
      expect(one.status).toBe(200)
      expect(one.body.timeline.length).toBeGreaterThan(10)
      expect(one.body.offers).toHaveLength(28)
      expect(one.body.linkage.audit.length).toBeGreaterThan(0)
    } finally {
      await svc.stop()
    }
    const db = openDatabase(path.join(dir, 'state.db'))
    try {
      expect(schemaVersion(db)).toBe(migrations('state').length)
    } finally {
      db.close()
    }
  })

  it('refuse a state.db newer than the code with one line naming the setting', async () => {
    const dir = copyOfOldDataDir()
    const db = openDatabase(path.join(dir, 'state.db'))
    db.pragma('user_version = 999')
    db.close()
    const s = await spawnService({ FC_DATA_DIR: dir })
    const exit = await s.exited()
    expect(exit.code).toBe(1)
    const lines = s.output().trim().split('\n')
    expect(lines).toEqual([
      `firecircle: cannot start: FC_DATA_DIR: state.db is at schema version 999, newer than this firecircle knows (${migrations('state').length}): run the version that wrote it, or a newer one`,
    ])
    // Nothing was written to it.
    const db2 = openDatabase(path.join(dir, 'state.db'))
    expect(schemaVersion(db2)).toBe(999)
    expect(
      db2.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'schema_migrations'").get(),
    ).toEqual({
      n: 0,
    })
    db2.close()
  })
})
