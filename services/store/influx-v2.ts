/**
 * The telemetry store on InfluxDB 2.x / 3.x / 1.8+, written through
 * `@influxdata/influxdb-client`'s WriteApi (`/api/v2/write`, precision ms) and queried in
 * InfluxQL through the `influx` package against the same server's v1-compatible `/query`
 * (database = bucket, `Authorization: Token <token>`).
 *
 * `write(points)` resolves only when InfluxDB acknowledged exactly these points. The
 * WriteApi is configured so that nothing is sent behind our back: no flush timer
 * (flushInterval 0), no retries from its in-memory buffer (maxRetries 0: the durable spool
 * upstream owns retrying), and each call hands it fewer lines than a batch, then awaits
 * `flush()`, whose promise is the outcome of that one request.
 */
import { InfluxDB, Point as LinePoint, type WriteApi } from '@influxdata/influxdb-client'
import { ConfigError, type InfluxConfig } from '../config/index.ts'
import type { Logger } from '../shared/index.ts'
import {
  influxQLClient,
  pingInflux,
  queryTelemetryInfluxQL,
  REQUEST_TIMEOUT_MS,
  reason,
} from './influx-v1.ts'
import { type Point, PointsRefusedError, type TelemetryStore } from './types.ts'

/** Lines per write request; the WriteApi's batch is one larger so it never sends on its own. */
const REQUEST_LINES = 5_000
/** Bytes per write request (InfluxDB 2.x refuses bodies over 50 MB by default). */
const REQUEST_BYTES = 8 * 1024 * 1024

/** A point in line protocol, or undefined when it has no fields. */
function toLine(p: Point, writeApi: WriteApi): string | undefined {
  const lp = new LinePoint(p.measurement)
  // The client leaves empty tag values out, as line protocol requires.
  for (const [k, v] of Object.entries(p.tags)) lp.tag(k, v)
  for (const [name, value] of Object.entries(p.fields)) {
    if (typeof value === 'string') lp.stringField(name, value)
    else if (typeof value === 'boolean') lp.booleanField(name, value)
    else if (p.ints?.includes(name)) lp.intField(name, value)
    else lp.floatField(name, value)
  }
  lp.timestamp(Math.floor(p.ts))
  return lp.toLineProtocol(writeApi)
}

/** Splits lines into requests of at most REQUEST_LINES lines and about REQUEST_BYTES. */
function* requests(lines: readonly string[]): Generator<string[]> {
  let batch: string[] = []
  let bytes = 0
  for (const line of lines) {
    const size = Buffer.byteLength(line) + 1
    if (batch.length > 0 && (batch.length >= REQUEST_LINES || bytes + size > REQUEST_BYTES)) {
      yield batch
      batch = []
      bytes = 0
    }
    batch.push(line)
    bytes += size
  }
  if (batch.length > 0) yield batch
}

/** The `message` of an InfluxDB 2.x JSON error body, else the body itself. */
function bodyMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: string; error?: string }
    return parsed.message ?? parsed.error ?? body
  } catch {
    return body
  }
}

export interface InfluxV2StoreDeps {
  config: Extract<InfluxConfig, { api: 'v2' }>
  logger: Logger
}

export function createInfluxV2Store(deps: InfluxV2StoreDeps): TelemetryStore {
  const { config, logger } = deps
  const { url, token, org, bucket } = config
  const client = new InfluxDB({ url, token, timeout: REQUEST_TIMEOUT_MS })
  const writeApi = client.getWriteApi(org, bucket, 'ms', {
    batchSize: REQUEST_LINES + 1,
    // Requests are cut by requests() below; the WriteApi must never cut (and send) one itself.
    maxBatchBytes: Number.MAX_SAFE_INTEGER,
    flushInterval: 0,
    maxRetries: 0,
    maxBufferLines: REQUEST_LINES,
    // Returning the rejection makes it the flush's result and keeps the client from logging
    // to the console; the pipeline logs store failures once.
    writeFailed: (error) => Promise.reject(error),
  })
  const influx = influxQLClient({ url, database: bucket, headers: { Authorization: `Token ${token}` } })
  let closed = false

  async function checkWrite(): Promise<void> {
    // An empty body passes through authentication, organization and bucket lookup and the
    // write permission check before InfluxDB looks at the (missing) lines.
    const target = `${url}/api/v2/write?org=${encodeURIComponent(org)}&bucket=${encodeURIComponent(bucket)}&precision=ms`
    let res: Response
    try {
      res = await fetch(target, {
        method: 'POST',
        headers: { Authorization: `Token ${token}`, 'Content-Type': 'text/plain; charset=utf-8' },
        body: '',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      })
    } catch (err) {
      throw new ConfigError('FC_INFLUX_URL', `cannot reach InfluxDB at ${url}: ${reason(err)}`)
    }
    const message = bodyMessage(await res.text())
    // 2xx, or 400 for the empty body: token, organization and bucket were all accepted.
    if (res.ok || res.status === 400) return
    if (res.status === 401) {
      throw new ConfigError('FC_INFLUX_TOKEN', `InfluxDB at ${url} refused the token: ${message}`)
    }
    if (res.status === 403) {
      throw new ConfigError(
        'FC_INFLUX_TOKEN',
        `the token may not write to bucket "${bucket}" on ${url}: ${message}`,
      )
    }
    if (res.status === 404 && /organi[sz]ation/i.test(message)) {
      throw new ConfigError('FC_INFLUX_ORG', `organization "${org}" does not exist on ${url}`)
    }
    if (res.status === 404 && /bucket|database/i.test(message)) {
      throw new ConfigError(
        'FC_INFLUX_BUCKET',
        `bucket "${bucket}" does not exist in organization "${org}" on ${url}`,
      )
    }
    throw new ConfigError(
      'FC_INFLUX_URL',
      `${url} refused a write to /api/v2/write (${res.status}): ${message}`,
    )
  }

  async function checkQuery(): Promise<void> {
    let raw: { results?: { error?: string }[]; error?: string }
    try {
      raw = await influx.queryRaw('SHOW MEASUREMENTS LIMIT 1', { database: bucket })
    } catch (err) {
      const code = (err as { res?: { statusCode?: number } }).res?.statusCode
      if (code === 401 || code === 403) {
        throw new ConfigError(
          'FC_INFLUX_TOKEN',
          `the token may not query bucket "${bucket}" on ${url}: ${reason(err)}`,
        )
      }
      throw new ConfigError('FC_INFLUX_URL', `${url} does not answer InfluxQL on /query: ${reason(err)}`)
    }
    const error = raw.error ?? raw.results?.[0]?.error
    if (error) {
      throw new ConfigError(
        'FC_INFLUX_BUCKET',
        `bucket "${bucket}" cannot be queried in InfluxQL on ${url} (on InfluxDB 2.x it needs a DBRP mapping): ${error}`,
      )
    }
  }

  return {
    name: 'influxdb-v2',

    async verify() {
      let res: Response
      try {
        res = await fetch(`${url}/ping`, {
          headers: { Authorization: `Token ${token}` },
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        })
        await res.arrayBuffer()
      } catch (err) {
        throw new ConfigError('FC_INFLUX_URL', `cannot reach InfluxDB at ${url}: ${reason(err)}`)
      }
      if (!res.ok && res.status !== 401) {
        throw new ConfigError('FC_INFLUX_URL', `${url}/ping answered ${res.status}: is this InfluxDB?`)
      }
      await checkWrite()
      await checkQuery()
      logger.info({ store: 'influxdb-v2', url, org, bucket }, 'telemetry goes to InfluxDB (v2 write API)')
    },

    async write(points) {
      if (closed) throw new Error('the telemetry store is closed')
      const lines: string[] = []
      for (const p of points) {
        const line = toLine(p, writeApi)
        if (line !== undefined) lines.push(line)
      }
      for (const batch of requests(lines)) {
        // writeRecords and flush run in one synchronous step: the batch is taken out of the
        // buffer before any other write() can add to it, and flush() settles with its request.
        writeApi.writeRecords(batch)
        try {
          await writeApi.flush()
        } catch (err) {
          if ((err as { statusCode?: number }).statusCode === 400) {
            throw new PointsRefusedError(`InfluxDB refused points: ${reason(err)}`)
          }
          throw err
        }
      }
    },

    ping: () => pingInflux(influx),

    queryTelemetry: (q) => queryTelemetryInfluxQL(influx, bucket, q),

    async close() {
      if (closed) return
      closed = true
      await writeApi.close().catch(() => {})
    },
  }
}
