/**
 * The telemetry store against a real InfluxDB 1.x (Debian's influxd, test/support/influxdb.ts):
 * the v1 store natively, the v2 store through an InfluxDB 2.x-style front
 * (test/support/influx-v2-proxy.ts). What lands is read back in InfluxQL the way dashboards
 * and analysts read it ([docs/PROTOCOL.md §InfluxDB]).
 */
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConfigError, InfluxConfig } from '../../services/config/index.ts'
import { createLogger } from '../../services/shared/log.ts'
import { createTelemetryStore, type Point, type TelemetryStore } from '../../services/store/index.ts'
import { REQUEST_TIMEOUT_MS } from '../../services/store/influx-v1.ts'
import { startV2Proxy, type V2Proxy } from '../support/influx-v2-proxy.ts'
import { type InfluxHarness, startInfluxDB } from '../support/influxdb.ts'
import { freePort } from '../support/ports.ts'
import { tempDir } from '../support/tmp.ts'

const logger = createLogger('silent')
const T0 = Date.UTC(2026, 0, 15, 8, 0, 0)
const TOKEN = 'fc-test-token-1f3a9c'
const ORG = 'firecircle'

const data = tempDir('firecircle-store-influx-')
const store = (config: InfluxConfig): TelemetryStore =>
  createTelemetryStore({ config, dataDir: data.dir, logger })

function reading(device: string, ts: number, values: Record<string, number>, seq?: number): Point {
  return {
    measurement: 'telemetry',
    tags: { device, kind: 'heat', building: 'factory-7', community: 'xixiang-3', street: 'xixiang' },
    fields: { ...values, ...(seq !== undefined ? { seq } : {}) },
    ...(seq !== undefined ? { ints: ['seq'] } : {}),
    ts,
  }
}

function series(device: string, n: number, from = T0): Point[] {
  return Array.from({ length: n }, (_, i) =>
    reading(device, from + i * 1000, { temperature: 20 + (i % 10) / 4 }, i),
  )
}

async function count(db: string, device: string, field = 'temperature'): Promise<number> {
  const rows = await influx.query(
    `SELECT COUNT("${field}") AS n FROM "telemetry" WHERE "device" = '${device}'`,
    db,
  )
  return Number(rows[0]?.['n'] ?? 0)
}

async function fieldTypes(db: string, measurement: string): Promise<Record<string, unknown>> {
  const rows = await influx.query(`SHOW FIELD KEYS FROM "${measurement}"`, db)
  return Object.fromEntries(rows.map((r) => [r['fieldKey'], r['fieldType']]))
}

/** The ConfigError that verify() throws, or a failure if it resolves. */
async function verifyError(s: TelemetryStore): Promise<ConfigError> {
  try {
    await s.verify()
  } catch (err) {
    return err as ConfigError
  } finally {
    await s.close()
  }
  throw new Error('verify() accepted a wrong setting')
}

/** How long a promise took to settle, and how. */
async function timed<T>(p: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const started = Date.now()
  try {
    const value = await p
    return { ms: Date.now() - started, value }
  } catch (error) {
    return { ms: Date.now() - started, error }
  }
}

/** A TCP server that accepts connections and never answers: an InfluxDB that hangs. */
async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const srv = net.createServer((s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const port = (srv.address() as net.AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        srv.close(() => resolve())
      }),
  }
}

let influx: InfluxHarness

beforeAll(async () => {
  influx = await startInfluxDB()
  await influx.database('fire_v1')
  await influx.database('fire_v2')
})
afterAll(async () => {
  await influx?.stop()
  data.cleanup()
})

describe('InfluxDB 1.x through the v1 API', () => {
  let v1: TelemetryStore
  beforeAll(async () => {
    v1 = store({ api: 'v1', url: influx.url, database: 'fire_v1' })
    await v1.verify()
  })
  afterAll(async () => v1?.close())

  it('writes readings that InfluxQL reads back at their own timestamps', async () => {
    expect(v1.name).toBe('influxdb-v1')
    await v1.write([
      reading('heat-1', T0, { temperature: 21.5, battery: 97 }, 1),
      reading('heat-1', T0 + 60_000, { temperature: 23, battery: 97 }, 2),
    ])
    const rows = await influx.query(
      `SELECT "temperature", "battery", "seq", "building", "street" FROM "telemetry" WHERE "device" = 'heat-1'`,
      'fire_v1',
    )
    expect(rows).toEqual([
      { time: T0, temperature: 21.5, battery: 97, seq: 1, building: 'factory-7', street: 'xixiang' },
      { time: T0 + 60_000, temperature: 23, battery: 97, seq: 2, building: 'factory-7', street: 'xixiang' },
    ])
    expect(
      await v1.queryTelemetry({
        device: 'heat-1',
        field: 'temperature',
        from: T0,
        to: T0 + 60_000,
        limit: 10,
      }),
    ).toEqual([
      { ts: T0, value: 21.5 },
      { ts: T0 + 60_000, value: 23 },
    ])
  })

  it('writes seq as an integer and whole-number readings as floats', async () => {
    await v1.write([reading('heat-2', T0, { temperature: 20, pressed: 1 }, 7)])
    expect(await fieldTypes('fire_v1', 'telemetry')).toMatchObject({
      seq: 'integer',
      temperature: 'float',
      pressed: 'float',
      battery: 'float',
    })
  })

  it('writes a replayed batch as the same points (count unchanged)', async () => {
    const batch = series('heat-3', 300)
    await v1.write(batch)
    expect(await count('fire_v1', 'heat-3')).toBe(300)
    await v1.write(batch)
    await v1.write(batch.slice(50, 150))
    expect(await count('fire_v1', 'heat-3')).toBe(300)
  })

  it('writes device events with a string detail and incident events with integer counts', async () => {
    const detail = 'smoke in "kitchen" \\ it\'s rising,\nsecond line'
    await v1.write([
      {
        measurement: 'device_event',
        tags: {
          device: 'smoke-9',
          kind: 'smoke',
          building: 'tower-1',
          community: 'xixiang-3',
          street: '',
          type: 'alarm',
        },
        fields: { detail },
        ts: T0,
      },
      {
        measurement: 'incident_event',
        tags: { incident: 'inc-1', community: 'xixiang-3', street: 'xixiang', status: 'alarm' },
        fields: { responders_inside: 4, eta_first_s: 95.5, verified: true },
        ints: ['responders_inside'],
        ts: T0 + 5,
      },
    ])
    expect(await fieldTypes('fire_v1', 'device_event')).toEqual({ detail: 'string' })
    const events = await influx.query(`SELECT * FROM "device_event" WHERE "device" = 'smoke-9'`, 'fire_v1')
    // The empty street is left out (line protocol has no empty tag values): no such tag.
    expect(events).toEqual([
      {
        time: T0,
        detail,
        device: 'smoke-9',
        kind: 'smoke',
        building: 'tower-1',
        community: 'xixiang-3',
        type: 'alarm',
      },
    ])
    expect(await fieldTypes('fire_v1', 'incident_event')).toEqual({
      responders_inside: 'integer',
      eta_first_s: 'float',
      verified: 'boolean',
    })
  })

  it('answers a device query within from..to, oldest first, at most limit', async () => {
    await v1.write(series('heat-4', 60))
    const q = { device: 'heat-4', field: 'temperature' as const }
    const window = await v1.queryTelemetry({ ...q, from: T0 + 10_000, to: T0 + 19_000, limit: 100 })
    expect(window.map((s) => s.ts)).toEqual(Array.from({ length: 10 }, (_, i) => T0 + (10 + i) * 1000))
    const limited = await v1.queryTelemetry({ ...q, from: T0 + 10_000, to: T0 + 19_000, limit: 3 })
    expect(limited.map((s) => s.ts)).toEqual([T0 + 10_000, T0 + 11_000, T0 + 12_000])
    expect(await v1.queryTelemetry({ ...q, field: 'co', from: T0, to: T0 + 60_000, limit: 10 })).toEqual([])
    // Quotes and backslashes in a device id are escaped, not executed.
    expect(
      await v1.queryTelemetry({ ...q, device: "heat-4' OR '1'='1\\", from: 0, to: T0 * 2, limit: 10 }),
    ).toEqual([])
  })

  it('refuses a database that does not exist, naming FC_INFLUX_DATABASE, and does not create it', async () => {
    const err = await verifyError(store({ api: 'v1', url: influx.url, database: 'no_such_db' }))
    expect(err.setting).toBe('FC_INFLUX_DATABASE')
    expect(err.message).toBe(`FC_INFLUX_DATABASE: database "no_such_db" does not exist on ${influx.url}`)
    const dbs = await influx.query('SHOW DATABASES')
    expect(dbs.map((r) => r['name'])).not.toContain('no_such_db')
  })

  it('refuses an unreachable URL, naming FC_INFLUX_URL and the reason', async () => {
    const url = `http://127.0.0.1:${await freePort()}`
    const err = await verifyError(store({ api: 'v1', url, database: 'fire_v1' }))
    expect(err.setting).toBe('FC_INFLUX_URL')
    expect(err.message).toMatch(new RegExp(`^FC_INFLUX_URL: cannot reach InfluxDB at ${url}: .*ECONNREFUSED`))
  })

  it('answers ping false within 2 s and rejects a write within seconds when InfluxDB hangs', async () => {
    const hung = await silentServer()
    const s = store({ api: 'v1', url: hung.url, database: 'fire_v1' })
    try {
      const [ping, write] = await Promise.all([timed(s.ping()), timed(s.write(series('heat-5', 3)))])
      expect(ping).toMatchObject({ value: false })
      expect(ping.ms).toBeLessThan(2_500)
      expect(String(write.error)).toMatch(/timed out/)
      expect(write.ms).toBeLessThan(REQUEST_TIMEOUT_MS + 1_500)
    } finally {
      await s.close()
      await hung.close()
    }
  })
})

describe('InfluxDB 1.x with authentication', () => {
  let secured: InfluxHarness
  const admin = { username: 'fc_admin', password: "s3cret'pw" }
  beforeAll(async () => {
    secured = await startInfluxDB({ auth: admin })
    await secured.database('fire')
    await secured.query(`CREATE USER "reader" WITH PASSWORD 'read-only'`)
    await secured.query(`GRANT READ ON "fire" TO "reader"`)
  })
  afterAll(async () => secured?.stop())

  it('accepts the right credentials and writes', async () => {
    const s = store({ api: 'v1', url: secured.url, database: 'fire', ...admin })
    await s.verify()
    await s.write(series('heat-6', 5))
    await s.close()
    const rows = await secured.query(`SELECT COUNT("seq") AS n FROM "telemetry"`, 'fire')
    expect(rows[0]?.['n']).toBe(5)
  })

  it('names FC_INFLUX_USERNAME when credentials are missing, wrong, or may not write', async () => {
    const missing = await verifyError(store({ api: 'v1', url: secured.url, database: 'fire' }))
    expect(missing.setting).toBe('FC_INFLUX_USERNAME')
    expect(missing.message).toMatch(/requires credentials: set FC_INFLUX_USERNAME and FC_INFLUX_PASSWORD/)

    const wrong = await verifyError(
      store({ api: 'v1', url: secured.url, database: 'fire', username: admin.username, password: 'nope' }),
    )
    expect(wrong.setting).toBe('FC_INFLUX_USERNAME')
    expect(wrong.message).toMatch(
      /refused user "fc_admin" \(check FC_INFLUX_USERNAME and FC_INFLUX_PASSWORD\)/,
    )

    const reader = await verifyError(
      store({ api: 'v1', url: secured.url, database: 'fire', username: 'reader', password: 'read-only' }),
    )
    expect(reader.setting).toBe('FC_INFLUX_USERNAME')
    expect(reader.message).toMatch(/user "reader" may not write to database "fire"/)
  })
})

describe('InfluxDB 2.x write API (through the 2.x-style front)', () => {
  let proxy: V2Proxy
  let v2: TelemetryStore
  const v2config = (over: Partial<Extract<InfluxConfig, { api: 'v2' }>> = {}): InfluxConfig => ({
    api: 'v2',
    url: proxy.url,
    token: TOKEN,
    org: ORG,
    bucket: 'fire_v2',
    ...over,
  })
  beforeAll(async () => {
    proxy = await startV2Proxy(influx.url, { token: TOKEN, org: ORG, bucket: 'fire_v2' })
    v2 = store(v2config())
    await v2.verify()
  })
  afterAll(async () => {
    await v2?.close()
    await proxy?.close()
  })

  it('writes readings that InfluxQL reads back, seq as an integer', async () => {
    expect(v2.name).toBe('influxdb-v2')
    await v2.write([
      reading('heat-21', T0, { temperature: 30, co: 12.5 }, 41),
      reading('heat-21', T0 + 1, { temperature: 31 }, 42),
    ])
    expect(
      await influx.query(
        `SELECT "temperature", "co", "seq" FROM "telemetry" WHERE "device" = 'heat-21'`,
        'fire_v2',
      ),
    ).toEqual([
      { time: T0, temperature: 30, co: 12.5, seq: 41 },
      { time: T0 + 1, temperature: 31, co: null, seq: 42 },
    ])
    expect(await fieldTypes('fire_v2', 'telemetry')).toMatchObject({
      seq: 'integer',
      temperature: 'float',
      co: 'float',
    })
    expect(
      await v2.queryTelemetry({ device: 'heat-21', field: 'temperature', from: T0, to: T0 + 1, limit: 10 }),
    ).toEqual([
      { ts: T0, value: 30 },
      { ts: T0 + 1, value: 31 },
    ])
  })

  it('resolves write() only once every point of a large batch is stored, and replays idempotently', async () => {
    const batch = series('heat-22', 12_000)
    await v2.write(batch)
    // No polling: the points are there when write() resolves.
    expect(await count('fire_v2', 'heat-22')).toBe(12_000)
    expect(proxy.requests['/api/v2/write']).toBeGreaterThanOrEqual(3)
    await v2.write(batch)
    expect(await count('fire_v2', 'heat-22')).toBe(12_000)
  })

  it('writes device events with a string detail', async () => {
    await v2.write([
      {
        measurement: 'device_event',
        tags: {
          device: 'gas-3',
          kind: 'gas',
          building: 'canteen',
          community: 'xixiang-3',
          street: 'xixiang',
          type: 'fault',
        },
        fields: { detail: 'sensor "B" drift' },
        ts: T0,
      },
    ])
    expect(await fieldTypes('fire_v2', 'device_event')).toEqual({ detail: 'string' })
    expect(await influx.query(`SELECT "detail", "type" FROM "device_event"`, 'fire_v2')).toEqual([
      { time: T0, detail: 'sensor "B" drift', type: 'fault' },
    ])
  })

  it('names FC_INFLUX_TOKEN for a wrong token, and write() rejects with it', async () => {
    const err = await verifyError(store(v2config({ token: 'wrong-token' })))
    expect(err.setting).toBe('FC_INFLUX_TOKEN')
    expect(err.message).toMatch(new RegExp(`^FC_INFLUX_TOKEN: InfluxDB at ${proxy.url} refused the token`))
    const s = store(v2config({ token: 'wrong-token' }))
    await expect(s.write(series('heat-23', 2))).rejects.toThrow(/unauthorized/)
    await s.close()
    expect(await count('fire_v2', 'heat-23')).toBe(0)
  })

  it('names FC_INFLUX_ORG, FC_INFLUX_BUCKET and FC_INFLUX_URL for the setting that is wrong', async () => {
    const org = await verifyError(store(v2config({ org: 'other-org' })))
    expect(org.message).toBe(`FC_INFLUX_ORG: organization "other-org" does not exist on ${proxy.url}`)
    const bucket = await verifyError(store(v2config({ bucket: 'no_bucket' })))
    expect(bucket.message).toBe(
      `FC_INFLUX_BUCKET: bucket "no_bucket" does not exist in organization "${ORG}" on ${proxy.url}`,
    )
    const url = `http://127.0.0.1:${await freePort()}`
    const unreachable = await verifyError(store(v2config({ url })))
    expect(unreachable.setting).toBe('FC_INFLUX_URL')
    expect(unreachable.message).toMatch(
      new RegExp(`^FC_INFLUX_URL: cannot reach InfluxDB at ${url}: .*ECONNREFUSED`),
    )
  })

  it('answers ping false within 2 s and rejects a write within seconds when InfluxDB hangs', async () => {
    const hung = await silentServer()
    const s = store(v2config({ url: hung.url }))
    try {
      const [ping, write] = await Promise.all([timed(s.ping()), timed(s.write(series('heat-24', 3)))])
      expect(ping).toMatchObject({ value: false })
      expect(ping.ms).toBeLessThan(2_500)
      expect(write.error).toBeInstanceOf(Error)
      expect(write.ms).toBeLessThan(REQUEST_TIMEOUT_MS + 1_500)
    } finally {
      await s.close()
      await hung.close()
    }
  })

  it('rejects writes promptly while InfluxDB is stopped and writes again after it is back', async () => {
    const v1 = store({ api: 'v1', url: influx.url, database: 'fire_v1' })
    await influx.stop()
    try {
      expect(await v2.ping()).toBe(false)
      expect(await v1.ping()).toBe(false)
      let started = Date.now()
      await expect(v2.write(series('heat-25', 10))).rejects.toThrow(/unavailable|ECONNREFUSED/)
      expect(Date.now() - started).toBeLessThan(3_000)
      started = Date.now()
      await expect(v1.write(series('heat-25', 10))).rejects.toThrow(/ECONNREFUSED/)
      expect(Date.now() - started).toBeLessThan(3_000)
    } finally {
      await influx.start()
    }
    expect(await v2.ping()).toBe(true)
    expect(await v1.ping()).toBe(true)
    await v2.write(series('heat-25', 10))
    await v1.write(series('heat-25', 10))
    expect(await count('fire_v2', 'heat-25')).toBe(10)
    expect(await count('fire_v1', 'heat-25')).toBe(10)
    // Data written before the outage is still there (same data dir, same port).
    expect(await count('fire_v2', 'heat-22')).toBe(12_000)
    await v1.close()
  })

  it('rejects writes after close()', async () => {
    const s = store(v2config())
    await s.close()
    await expect(s.write(series('heat-26', 1))).rejects.toThrow(/closed/)
  })
})
