/**
 * The telemetry store on InfluxDB 1.x, through the `influx` package: line protocol to
 * `/write` (precision ms), InfluxQL to `/query`. The InfluxQL client and query built here
 * are shared with the v2 store, which queries through InfluxDB 2.x/3.x's v1-compatible
 * `/query`.
 *
 * The client does not retry and never parks the host: a durable spool upstream owns
 * retrying, so a failed write must reject now rather than be retried (or refused as
 * "No host available") for seconds after InfluxDB is back.
 */
import type { RequestOptions } from 'node:http'
import {
  FieldType,
  type IHostConfig,
  InfluxDB,
  type IPoint,
  type IPoolOptions,
  type ISchemaOptions,
} from 'influx'
import { ConfigError, type InfluxConfig } from '../config/index.ts'
import type { Logger } from '../shared/index.ts'
import {
  type Point,
  PointsRefusedError,
  type TelemetryQuery,
  type TelemetrySample,
  type TelemetryStore,
} from './types.ts'

/** A request that has not answered by then is a failure (the spool retries it). */
export const REQUEST_TIMEOUT_MS = 5_000
/** `ping()` answers within this. */
export const PING_TIMEOUT_MS = 2_000
/** Points per HTTP write request. */
const WRITE_CHUNK = 5_000

type BackoffStrategy = NonNullable<IPoolOptions['backoff']>
const noBackoff: BackoffStrategy = { getDelay: () => 0, next: () => noBackoff, reset: () => noBackoff }

/** An `influx` client for one base URL (a path prefix behind a reverse proxy is kept). */
export function influxQLClient(opts: {
  url: string
  database: string
  username?: string
  password?: string
  headers?: Record<string, string>
}): InfluxDB {
  const u = new URL(opts.url)
  const https = u.protocol === 'https:'
  const options: RequestOptions = opts.headers ? { headers: opts.headers } : {}
  const host: IHostConfig = {
    host: u.hostname,
    port: u.port ? Number(u.port) : https ? 443 : 80,
    protocol: https ? 'https' : 'http',
    path: u.pathname.replace(/\/+$/, ''),
    options,
  }
  return new InfluxDB({
    hosts: [host],
    database: opts.database,
    // Without a username the package fills in root:root and sends it as Basic auth, which
    // would override the v2 token header and log in where no credentials were configured.
    // null (not undefined, which it replaces) makes it send no Authorization of its own.
    username: opts.username ?? (null as unknown as string),
    password: opts.password ?? '',
    pool: { maxRetries: 0, requestTimeout: REQUEST_TIMEOUT_MS, backoff: noBackoff },
  })
}

/** An InfluxQL string literal. */
export function influxQLString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`
}

/** An InfluxQL identifier, always double-quoted. */
export function influxQLIdent(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`
}

interface RawResults {
  results?: { error?: string; series?: { columns: string[]; values: unknown[][] }[] }[]
  error?: string
}

/** One field of one device's telemetry, oldest first, in InfluxQL. */
export async function queryTelemetryInfluxQL(
  influx: InfluxDB,
  database: string,
  q: TelemetryQuery,
): Promise<TelemetrySample[]> {
  const limit = Math.floor(q.limit)
  if (limit <= 0 || q.to < q.from) return []
  const influxql =
    `SELECT ${influxQLIdent(q.field)} FROM "telemetry" WHERE "device" = ${influxQLString(q.device)}` +
    ` AND time >= ${Math.ceil(q.from)}ms AND time <= ${Math.floor(q.to)}ms ORDER BY time ASC LIMIT ${limit}`
  const raw = (await influx.queryRaw(influxql, { database, precision: 'ms' })) as RawResults
  const result = raw.results?.[0]
  const error = raw.error ?? result?.error
  if (error) throw new Error(`InfluxDB refused the telemetry query: ${error}`)
  const samples: TelemetrySample[] = []
  for (const series of result?.series ?? []) {
    for (const row of series.values) {
      const [ts, value] = row
      if (typeof ts === 'number' && typeof value === 'number') samples.push({ ts, value })
    }
  }
  // Rows of several series (a device whose tags changed) come one series after another.
  if ((result?.series?.length ?? 0) > 1) samples.sort((a, b) => a.ts - b.ts)
  return samples.slice(0, limit)
}

/** The reason a request failed, for a one-line message. */
export function reason(err: unknown): string {
  // fetch() says "fetch failed" and keeps the reason (ECONNREFUSED, ENOTFOUND…) in `cause`.
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } }
  const msg = e.cause?.message || e.cause?.code || e.message || e.code || String(err)
  return msg.trim()
}

/** HTTP status of an `influx` RequestError, if it was one. */
function status(err: unknown): number | undefined {
  return (err as { res?: { statusCode?: number } }).res?.statusCode
}

/**
 * Per-call schemas tell the `influx` package which fields are integers (`Point.ints`), which
 * floats, strings and booleans. One schema per measurement: the union of the batch's fields.
 */
function schemasFor(points: readonly Point[], database: string): ISchemaOptions[] {
  const byMeasurement = new Map<string, { fields: Record<string, FieldType>; tags: Set<string> }>()
  for (const p of points) {
    let s = byMeasurement.get(p.measurement)
    if (!s) {
      s = { fields: {}, tags: new Set() }
      byMeasurement.set(p.measurement, s)
    }
    for (const t of Object.keys(p.tags)) s.tags.add(t)
    for (const [name, value] of Object.entries(p.fields)) {
      const type =
        typeof value === 'string'
          ? FieldType.STRING
          : typeof value === 'boolean'
            ? FieldType.BOOLEAN
            : p.ints?.includes(name)
              ? FieldType.INTEGER
              : FieldType.FLOAT
      const seen = s.fields[name]
      if (seen !== undefined && seen !== type) {
        throw new Error(
          `field "${name}" of ${p.measurement} has two types in one batch (${FieldType[seen]} and ${FieldType[type]})`,
        )
      }
      s.fields[name] = type
    }
  }
  return [...byMeasurement].map(([measurement, s]) => ({
    database,
    measurement,
    fields: s.fields,
    tags: [...s.tags],
  }))
}

/** Empty tag values are not allowed in line protocol; InfluxDB treats them as absent. */
function toIPoint(p: Point): IPoint {
  const tags: Record<string, string> = {}
  for (const [k, v] of Object.entries(p.tags)) if (v !== '') tags[k] = v
  return { measurement: p.measurement, tags, fields: p.fields, timestamp: Math.floor(p.ts) }
}

export async function pingInflux(influx: InfluxDB): Promise<boolean> {
  try {
    const hosts = await influx.ping(PING_TIMEOUT_MS)
    return hosts.some((h) => h.online)
  } catch {
    return false
  }
}

export interface InfluxV1StoreDeps {
  config: Extract<InfluxConfig, { api: 'v1' }>
  logger: Logger
}

export function createInfluxV1Store(deps: InfluxV1StoreDeps): TelemetryStore {
  const { config, logger } = deps
  const { url, database } = config
  const influx = influxQLClient({
    url,
    database,
    ...(config.username !== undefined ? { username: config.username, password: config.password ?? '' } : {}),
  })
  let closed = false

  async function writeChunk(points: readonly Point[]): Promise<void> {
    // Schemas and points are parsed synchronously inside writePoints, so concurrent writes
    // cannot see each other's schema.
    for (const schema of schemasFor(points, database)) influx.addSchema(schema)
    try {
      await influx.writePoints(points.map(toIPoint), { database, precision: 'ms' })
    } catch (err) {
      if (status(err) === 400) throw new PointsRefusedError(`InfluxDB refused points: ${reason(err)}`)
      throw err
    }
  }

  return {
    name: 'influxdb-v1',

    async verify() {
      let names: string[]
      try {
        names = await influx.getDatabaseNames()
      } catch (err) {
        const code = status(err)
        if (code === 401) {
          throw new ConfigError(
            'FC_INFLUX_USERNAME',
            config.username === undefined
              ? `InfluxDB at ${url} requires credentials: set FC_INFLUX_USERNAME and FC_INFLUX_PASSWORD`
              : `InfluxDB at ${url} refused user "${config.username}" (check FC_INFLUX_USERNAME and FC_INFLUX_PASSWORD)`,
          )
        }
        if (code !== undefined) {
          throw new ConfigError('FC_INFLUX_URL', `${url} does not answer like InfluxDB 1.x: ${reason(err)}`)
        }
        throw new ConfigError('FC_INFLUX_URL', `cannot reach InfluxDB at ${url}: ${reason(err)}`)
      }
      if (!names.includes(database)) {
        throw new ConfigError('FC_INFLUX_DATABASE', `database "${database}" does not exist on ${url}`)
      }
      // An empty write checks the write privilege without storing anything.
      try {
        await influx.writePoints([], { database, precision: 'ms' })
      } catch (err) {
        if (status(err) === 403) {
          throw new ConfigError(
            'FC_INFLUX_USERNAME',
            `user "${config.username ?? ''}" may not write to database "${database}" on ${url}`,
          )
        }
        throw new ConfigError('FC_INFLUX_URL', `InfluxDB at ${url} refused a write: ${reason(err)}`)
      }
      logger.info({ store: 'influxdb-v1', url, database }, 'telemetry goes to InfluxDB (v1 API)')
    },

    async write(points) {
      if (closed) throw new Error('the telemetry store is closed')
      // A point without fields is not a point in InfluxDB (and would fail the whole request).
      const valid = points.filter((p) => Object.keys(p.fields).length > 0)
      for (let i = 0; i < valid.length; i += WRITE_CHUNK) {
        await writeChunk(valid.slice(i, i + WRITE_CHUNK))
      }
    },

    ping: () => pingInflux(influx),

    queryTelemetry: (q) => queryTelemetryInfluxQL(influx, database, q),

    async close() {
      closed = true
    },
  }
}
