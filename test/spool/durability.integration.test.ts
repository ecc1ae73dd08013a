/**
 * "A QoS 1 message that the broker has acknowledged is never lost" (docs/PROTOCOL.md), against a
 * real InfluxDB 1.x: not when InfluxDB stops mid-stream, not when the service is SIGKILLed
 * right after the PUBACKs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type InfluxHarness, startInfluxDB } from '../support/influxdb.ts'
import { connectAs } from '../support/mqtt.ts'
import {
  ADMIN_TOKEN,
  apiClient,
  registerDevice,
  registerDistrict,
  spawnService,
  startTestService,
  until,
} from '../support/service.ts'
import { tempDir } from '../support/tmp.ts'

let influx: InfluxHarness

beforeAll(async () => {
  influx = await startInfluxDB()
})
afterAll(async () => influx?.stop())

async function countIn(db: string, device: string): Promise<number> {
  const rows = await influx.query(
    `SELECT COUNT("temperature") AS n FROM "telemetry" WHERE "device" = '${device}'`,
    db,
  )
  return Number((rows[0] as { n?: number } | undefined)?.n ?? 0)
}

describe('durability', () => {
  it('keeps every acknowledged reading while InfluxDB is down and writes them when it returns', async () => {
    await influx.database('outage')
    const svc = await startTestService({ env: { FC_INFLUX_URL: influx.url, FC_INFLUX_DATABASE: 'outage' } })
    try {
      await registerDistrict(svc.api)
      const { secret } = await registerDevice(svc.api, { id: 'heat-9', kind: 'heat', building: 'factory-7' })
      const c = await connectAs(svc.mqttUrl, 'heat-9', secret)
      const t0 = Date.now() - 60_000
      const publish = (i: number) =>
        c.publishAsync(
          'dev/heat-9/telemetry',
          JSON.stringify({ ts: t0 + i, seq: i, values: { temperature: 20 + (i % 30) } }),
          { qos: 1 },
        )

      const acked: number[] = []
      for (let i = 0; i < 300; i++) {
        await publish(i)
        acked.push(i)
        if (i === 100) await influx.stop() // InfluxDB goes away mid-stream
      }
      const spooled = await until(async () => {
        const r = await fetch(`${svc.base}/readyz`)
        const body = (await r.json()) as { checks: { spool_depth: number; telemetry_store: boolean } }
        return r.status === 503 && !body.checks.telemetry_store && body.checks.spool_depth > 0
          ? body.checks.spool_depth
          : undefined
      }, 'readiness to report the store down with readings spooled')
      expect(spooled).toBeGreaterThan(0)

      await influx.start()
      await until(
        async () => (await countIn('outage', 'heat-9')) === acked.length,
        'every acknowledged reading in InfluxDB',
        30_000,
      )
      // Replays are idempotent: no reading counted twice.
      expect(await countIn('outage', 'heat-9')).toBe(300)
      await c.endAsync()
    } finally {
      await svc.stop()
    }
  })

  // Both layouts (issue #14): the spool on a thread of its own (the default) and on the node's one.
  it.each(['2', '1'])(
    'finds every acknowledged reading after a SIGKILL right after the PUBACKs (FC_THREADS=%s)',
    async (threads) => {
      const database = `killed_${threads}`
      await influx.database(database)
      const data = tempDir('firecircle-kill-')
      const env = {
        FC_DATA_DIR: data.dir,
        FC_ADMIN_TOKEN: ADMIN_TOKEN,
        FC_INFLUX_URL: influx.url,
        FC_INFLUX_DATABASE: database,
        FC_THREADS: threads,
      }
      try {
        const first = await spawnService(env)
        await first.ready()
        const api = apiClient(first.base, ADMIN_TOKEN)
        await registerDistrict(api)
        const { secret } = await registerDevice(api, { id: 'heat-k', kind: 'heat', building: 'factory-7' })
        const c = await connectAs(`mqtt://127.0.0.1:${first.mqttPort}`, 'heat-k', secret)
        // Keep InfluxDB from draining the spool before the kill: the readings must survive in the spool.
        await influx.stop()
        const t0 = Date.now() - 120_000
        const n = 1000
        await Promise.all(
          Array.from({ length: n }, (_, i) =>
            c.publishAsync(
              'dev/heat-k/telemetry',
              JSON.stringify({ ts: t0 + i, seq: i, values: { temperature: 25 } }),
              { qos: 1 },
            ),
          ),
        )
        first.child.kill('SIGKILL')
        const exit = await first.exited()
        expect(exit.signal).toBe('SIGKILL')
        c.end(true)
        await influx.start()

        const second = await spawnService({
          ...env,
          FC_HTTP_PORT: String(first.httpPort),
          FC_MQTT_PORT: String(first.mqttPort),
        })
        try {
          await second.ready()
          await until(
            async () => (await countIn(database, 'heat-k')) === n,
            'every acknowledged reading after the restart',
            30_000,
          )
          expect(await countIn(database, 'heat-k')).toBe(n)
        } finally {
          second.child.kill('SIGTERM')
          await second.exited()
        }
      } finally {
        data.cleanup()
      }
    },
  )

  it('sets aside readings InfluxDB refuses for good (a field type conflict) without holding up the others', async () => {
    await influx.database('conflict')
    // An analyst once wrote `temperature` as a string into this shard: every float
    // temperature in it is now a field type conflict for InfluxDB.
    const res = await fetch(`${influx.url}/write?db=conflict&precision=ms`, {
      method: 'POST',
      body: `telemetry,device=manual temperature="hot" ${Date.now() - 3_600_000}`,
    })
    expect(res.status).toBe(204)
    const svc = await startTestService({ env: { FC_INFLUX_URL: influx.url, FC_INFLUX_DATABASE: 'conflict' } })
    try {
      await registerDistrict(svc.api)
      const heat = await registerDevice(svc.api, { id: 'heat-p', kind: 'heat', building: 'factory-7' })
      const smoke = await registerDevice(svc.api, { id: 'smoke-p', kind: 'smoke', building: 'factory-7' })
      const h = await connectAs(svc.mqttUrl, 'heat-p', heat.secret)
      const sm = await connectAs(svc.mqttUrl, 'smoke-p', smoke.secret)
      const t0 = Date.now() - 60_000
      for (let i = 0; i < 5; i++) {
        await h.publishAsync(
          'dev/heat-p/telemetry',
          JSON.stringify({ ts: t0 + i, values: { temperature: 30 } }),
          { qos: 1 },
        )
        await sm.publishAsync(
          'dev/smoke-p/telemetry',
          JSON.stringify({ ts: t0 + i, values: { obscuration: 0.2 } }),
          { qos: 1 },
        )
      }
      await until(async () => {
        const rows = await influx.query(
          `SELECT COUNT("obscuration") AS n FROM "telemetry" WHERE "device" = 'smoke-p'`,
          'conflict',
        )
        return Number((rows[0] as { n?: number } | undefined)?.n ?? 0) === 5
      }, 'the smoke readings in InfluxDB')
      const refused = await until(async () => {
        const text = await (await fetch(`${svc.base}/metrics`)).text()
        const n = Number(/^firecircle_store_points_refused_total (\d+)/m.exec(text)?.[1] ?? 0)
        return n === 5 && /^firecircle_spool_depth 0$/m.test(text) ? n : undefined
      }, 'the refused readings set aside and the spool empty')
      expect(refused).toBe(5)
      await Promise.all([h.endAsync(), sm.endAsync()])
    } finally {
      await svc.stop()
    }
  })
})
