/**
 * The embedded telemetry store (SQLite in FC_DATA_DIR): InfluxDB's semantics without a
 * server. Identity is measurement + tags + ts, so replays and late fields merge.
 */
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createLogger } from '../../services/shared/log.ts'
import { createTelemetryStore, type Point, type TelemetryStore } from '../../services/store/index.ts'
import { tempDir } from '../support/tmp.ts'

const logger = createLogger('silent')
const T0 = Date.UTC(2026, 0, 15, 8, 0, 0)

function reading(device: string, ts: number, values: Record<string, number>, seq?: number): Point {
  return {
    measurement: 'telemetry',
    tags: { device, kind: 'heat', building: 'factory-7', community: 'xixiang-3', street: 'xixiang' },
    fields: { ...values, ...(seq !== undefined ? { seq } : {}) },
    ...(seq !== undefined ? { ints: ['seq'] } : {}),
    ts,
  }
}

let tmp: ReturnType<typeof tempDir>
let store: TelemetryStore

beforeEach(async () => {
  tmp = tempDir('firecircle-store-')
  store = createTelemetryStore({ config: undefined, dataDir: tmp.dir, logger })
  await store.verify()
})
afterEach(async () => {
  await store.close()
  tmp.cleanup()
})

const all = (device: string, field: 'temperature' | 'battery' | 'obscuration' = 'temperature') =>
  store.queryTelemetry({ device, field, from: 0, to: T0 + 10 * 86_400_000, limit: 1_000_000 })

describe('embedded telemetry store', () => {
  it('is chosen when FC_INFLUX_URL is unset and answers ping', async () => {
    expect(store.name).toBe('embedded')
    expect(await store.ping()).toBe(true)
  })

  it('reads back what it wrote, oldest first, in the telemetry.db of the data dir', async () => {
    await store.write([
      reading('heat-1', T0 + 2000, { temperature: 22.5 }, 3),
      reading('heat-1', T0, { temperature: 21 }, 1),
      reading('heat-1', T0 + 1000, { temperature: 21.75 }, 2),
    ])
    expect(await all('heat-1')).toEqual([
      { ts: T0, value: 21 },
      { ts: T0 + 1000, value: 21.75 },
      { ts: T0 + 2000, value: 22.5 },
    ])
    // The same file opened again holds the same points.
    await store.close()
    store = createTelemetryStore({ config: undefined, dataDir: tmp.dir, logger })
    expect(await all('heat-1')).toHaveLength(3)
    const again = createTelemetryStore({
      config: undefined,
      dataDir: path.join(tmp.dir, 'elsewhere'),
      logger,
    })
    expect(
      await again.queryTelemetry({ device: 'heat-1', field: 'temperature', from: 0, to: T0 * 2, limit: 10 }),
    ).toEqual([])
    await again.close()
  })

  it('writes the same points twice as one (idempotent replay)', async () => {
    const batch = Array.from({ length: 500 }, (_, i) =>
      reading('heat-2', T0 + i * 1000, { temperature: 20 + (i % 7) }, i),
    )
    await store.write(batch)
    await store.write(batch)
    await store.write(batch.slice(100, 200))
    const rows = await all('heat-2')
    expect(rows).toHaveLength(500)
    expect(rows[499]).toEqual({ ts: T0 + 499_000, value: 20 + (499 % 7) })
  })

  it('merges fields written at the same identity and overwrites a changed value', async () => {
    await store.write([reading('multi-1', T0, { temperature: 30 })])
    await store.write([reading('multi-1', T0, { battery: 87 })])
    await store.write([reading('multi-1', T0, { temperature: 31.5 })])
    expect(await all('multi-1', 'temperature')).toEqual([{ ts: T0, value: 31.5 }])
    expect(await all('multi-1', 'battery')).toEqual([{ ts: T0, value: 87 }])
    // A different tag set is a different series, as in InfluxDB: both points are kept.
    await store.write([
      { ...reading('multi-1', T0, { temperature: 40 }), tags: { device: 'multi-1', kind: 'multi' } },
    ])
    expect((await all('multi-1', 'temperature')).map((s) => s.value).sort()).toEqual([31.5, 40])
  })

  it('keeps from..to inclusive and returns at most limit, oldest first', async () => {
    await store.write(
      Array.from({ length: 100 }, (_, i) => reading('heat-3', T0 + i * 60_000, { temperature: i })),
    )
    const q = { device: 'heat-3', field: 'temperature' as const }
    const window = await store.queryTelemetry({
      ...q,
      from: T0 + 10 * 60_000,
      to: T0 + 20 * 60_000,
      limit: 1000,
    })
    expect(window.map((s) => s.value)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])
    const limited = await store.queryTelemetry({
      ...q,
      from: T0 + 10 * 60_000,
      to: T0 + 20 * 60_000,
      limit: 3,
    })
    expect(limited.map((s) => s.value)).toEqual([10, 11, 12])
    expect(await store.queryTelemetry({ ...q, from: T0 + 30, to: T0 + 59_999, limit: 10 })).toEqual([])
    expect(await store.queryTelemetry({ ...q, from: T0, to: T0 + 99 * 60_000, limit: 0 })).toEqual([])
    // A field the device never sent is an empty series, not an error.
    expect(await store.queryTelemetry({ ...q, field: 'co', from: 0, to: T0 * 2, limit: 10 })).toEqual([])
  })

  it('merges the series of a device whose tags changed, in time order', async () => {
    await store.write([
      reading('heat-4', T0, { temperature: 1 }),
      reading('heat-4', T0 + 2000, { temperature: 3 }),
    ])
    const moved = (ts: number, v: number): Point => ({
      ...reading('heat-4', ts, { temperature: v }),
      tags: {
        device: 'heat-4',
        kind: 'heat',
        building: 'warehouse-2',
        community: 'xixiang-3',
        street: 'xixiang',
      },
    })
    await store.write([moved(T0 + 1000, 2), moved(T0 + 3000, 4)])
    expect((await all('heat-4')).map((s) => s.value)).toEqual([1, 2, 3, 4])
    const firstTwo = await store.queryTelemetry({
      device: 'heat-4',
      field: 'temperature',
      from: 0,
      to: T0 * 2,
      limit: 2,
    })
    expect(firstTwo.map((s) => s.value)).toEqual([1, 2])
  })

  it("keeps many devices apart, and one device's range query does not scan the others", async () => {
    const devices = 2000
    const perDevice = 50
    for (let d = 0; d < devices; d += 100) {
      const batch: Point[] = []
      for (let k = d; k < d + 100; k++) {
        for (let i = 0; i < perDevice; i++) {
          batch.push(reading(`smoke-${k}`, T0 + i * 30_000, { temperature: k + i / 100, battery: 90 }, i))
        }
      }
      await store.write(batch)
    }
    for (const k of [0, 777, 1999]) {
      const rows = await all(`smoke-${k}`)
      expect(rows).toHaveLength(perDevice)
      expect(rows[0]).toEqual({ ts: T0, value: k })
      expect(rows[perDevice - 1]).toEqual({
        ts: T0 + (perDevice - 1) * 30_000,
        value: k + (perDevice - 1) / 100,
      })
    }
    expect(await all('smoke-2000')).toEqual([])
    // 300,000 stored values: a scan costs ~20 ms a query, an indexed range ~0.1 ms. Compared
    // side by side with scans of the same file, so a loaded machine slows both alike.
    const file = new Database(path.join(tmp.dir, 'telemetry.db'), { readonly: true })
    const scanStarted = performance.now()
    for (let k = 0; k < 5; k++) file.prepare('SELECT count(*) FROM sample WHERE value > ?').pluck().get(k)
    const scanMs = (performance.now() - scanStarted) / 5
    file.close()
    const started = performance.now()
    for (let k = 0; k < 100; k++) {
      const rows = await store.queryTelemetry({
        device: `smoke-${(k * 37) % devices}`,
        field: 'temperature',
        from: T0 + 10 * 30_000,
        to: T0 + 19 * 30_000,
        limit: 100,
      })
      expect(rows).toHaveLength(10)
    }
    const queryMs = (performance.now() - started) / 100
    expect(queryMs).toBeLessThan(scanMs / 5)
  })

  it('stores device events with a string detail beside readings without mixing them up', async () => {
    const event: Point = {
      measurement: 'device_event',
      tags: {
        device: 'heat-5',
        kind: 'heat',
        building: 'factory-7',
        community: 'xixiang-3',
        street: '',
        type: 'alarm',
      },
      fields: { detail: 'it\'s "hot"\nsecond line', device_ts: 1 },
      ints: ['device_ts'],
      ts: T0,
    }
    await store.write([event, event, reading('heat-5', T0, { temperature: 64 })])
    expect(await all('heat-5')).toEqual([{ ts: T0, value: 64 }])
  })

  it('writes a batch in one transaction: a failing batch leaves nothing behind', async () => {
    const bad = {
      ...reading('heat-6', T0 + 1, { temperature: 1 }),
      fields: { temperature: 1, junk: { no: 1 } as never },
    }
    await expect(store.write([reading('heat-6', T0, { temperature: 1 }), bad])).rejects.toThrow()
    expect(await all('heat-6')).toEqual([])
    // The store still works afterwards, series ids included.
    await store.write([reading('heat-6', T0, { temperature: 2 })])
    expect(await all('heat-6')).toEqual([{ ts: T0, value: 2 }])
  })

  it('names FC_DATA_DIR when the data dir cannot hold the store', async () => {
    const blocker = path.join(tmp.dir, 'a-file')
    fs.writeFileSync(blocker, '')
    expect(() =>
      createTelemetryStore({ config: undefined, dataDir: path.join(blocker, 'data'), logger }),
    ).toThrow(/^FC_DATA_DIR: cannot open the embedded telemetry store/)
  })
})
