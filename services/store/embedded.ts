/**
 * The embedded telemetry store: SQLite in FC_DATA_DIR, used when FC_INFLUX_URL is unset, so
 * the service runs on a fresh machine with no server to install. It keeps InfluxDB's
 * semantics: a point's identity is measurement + full tag set + ts (ms), and writing the same
 * point again merges its fields into the stored one (idempotent replay from the spool).
 *
 * Layout: one row per series (measurement + tag set, with the `device` tag denormalised for
 * the per-device index) and one row per field value, keyed (series, field, ts). A query for
 * one device's field over a time range is a range scan of that key per series.
 */
import path from 'node:path'
import { ConfigError } from '../config/index.ts'
import type { Logger } from '../shared/index.ts'
import { migrate, openDatabase, type SqliteDb } from '../state/index.ts'
import type { Point, TelemetryQuery, TelemetrySample, TelemetryStore } from './types.ts'

/** Series ids kept in memory; the map is dropped and rebuilt when it grows past this. */
const SERIES_CACHE_LIMIT = 100_000

/** The series key of a point: its tag set with sorted keys, empty values left out. */
export function tagSetKey(tags: Record<string, string>): string {
  const sorted: Record<string, string> = {}
  for (const k of Object.keys(tags).sort()) {
    const v = tags[k]
    if (v !== undefined && v !== '') sorted[k] = v
  }
  return JSON.stringify(sorted)
}

function sqlValue(name: string, value: number | string | boolean, ints: readonly string[] | undefined) {
  if (typeof value === 'boolean') return value ? 1n : 0n
  if (typeof value === 'number' && ints?.includes(name)) return BigInt(Math.trunc(value))
  return value
}

export interface EmbeddedStoreDeps {
  file: string
  logger: Logger
}

export function createEmbeddedStore(deps: EmbeddedStoreDeps): TelemetryStore {
  const { file, logger } = deps
  let db: SqliteDb
  try {
    db = openDatabase(file)
  } catch (err) {
    throw new ConfigError(
      'FC_DATA_DIR',
      `cannot open the embedded telemetry store ${file}: ${(err as Error).message}`,
    )
  }

  // A schema newer than this code is refused with its own line (a ConfigError already).
  migrate(db, 'telemetry', path.basename(file))

  const findSeries = db
    .prepare<[string, string], number>('SELECT id FROM series WHERE measurement = ? AND tags = ?')
    .pluck()
  const addSeries = db.prepare<[string, string, string | null]>(
    'INSERT INTO series (measurement, tags, device) VALUES (?, ?, ?)',
  )
  const upsert = db.prepare<[number, string, number, unknown]>(
    `INSERT INTO sample (series, field, ts, value) VALUES (?, ?, ?, ?)
     ON CONFLICT (series, field, ts) DO UPDATE SET value = excluded.value`,
  )
  const deviceSeries = db
    .prepare<[string], number>("SELECT id FROM series WHERE device = ? AND measurement = 'telemetry'")
    .pluck()
  const range = db.prepare<[number, string, number, number, number], TelemetrySample>(
    `SELECT ts, value FROM sample
     WHERE series = ? AND field = ? AND ts >= ? AND ts <= ? AND typeof(value) IN ('real', 'integer')
     ORDER BY ts LIMIT ?`,
  )

  // Series ids, filled only after the transaction that created them committed.
  let seriesIds = new Map<string, number>()

  const writeAll = db.transaction((points: readonly Point[], created: Map<string, number>) => {
    for (const p of points) {
      const tags = tagSetKey(p.tags)
      const key = `${p.measurement}\n${tags}`
      let id = seriesIds.get(key) ?? created.get(key)
      if (id === undefined) {
        id = findSeries.get(p.measurement, tags)
        if (id === undefined) {
          const device = p.tags['device']
          id = Number(addSeries.run(p.measurement, tags, device ? device : null).lastInsertRowid)
        }
        created.set(key, id)
      }
      const ts = Math.floor(p.ts)
      for (const [name, value] of Object.entries(p.fields)) {
        upsert.run(id, name, ts, sqlValue(name, value, p.ints))
      }
    }
  })

  return {
    name: 'embedded',

    async verify() {
      db.prepare('SELECT count(*) FROM series').pluck().get()
      logger.info(
        { store: 'embedded', file },
        'telemetry goes to the embedded store (FC_INFLUX_URL is not set)',
      )
    },

    async write(points) {
      if (points.length === 0) return
      const created = new Map<string, number>()
      writeAll(points, created)
      if (seriesIds.size + created.size > SERIES_CACHE_LIMIT) seriesIds = new Map()
      for (const [k, v] of created) seriesIds.set(k, v)
    },

    async ping() {
      return db.open
    },

    async queryTelemetry(q: TelemetryQuery) {
      const limit = Math.floor(q.limit)
      if (limit <= 0 || q.to < q.from) return []
      const ids = deviceSeries.all(q.device)
      const from = Math.ceil(q.from)
      const to = Math.floor(q.to)
      if (ids.length === 1) return range.all(ids[0]!, q.field, from, to, limit)
      // The device's tags changed over time (e.g. moved to another building): several
      // series, each already in time order; merge them like InfluxDB merges series.
      const merged = ids.flatMap((id) => range.all(id, q.field, from, to, limit))
      merged.sort((a, b) => a.ts - b.ts)
      return merged.slice(0, limit)
    },

    async close() {
      if (db.open) db.close()
    },
  }
}
