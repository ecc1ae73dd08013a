/**
 * Fire first (docs/DOMAIN.md): an alarm never waits behind routine telemetry. With InfluxDB down
 * and a large backlog in the spool, a fire still opens an incident at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type InfluxHarness, startInfluxDB } from '../support/influxdb.ts'
import { connectAs } from '../support/mqtt.ts'
import { ADMIN_TOKEN, registerDevice, registerDistrict, startTestService, until } from '../support/service.ts'
import { openStream } from '../support/sse.ts'

let influx: InfluxHarness
beforeAll(async () => {
  influx = await startInfluxDB()
})
afterAll(async () => influx?.stop())

describe('fire first', () => {
  it('opens an incident at once while InfluxDB is down and 30,000 readings wait in the spool', async () => {
    await influx.database('firstfire')
    const svc = await startTestService({
      env: { FC_INFLUX_URL: influx.url, FC_INFLUX_DATABASE: 'firstfire' },
    })
    try {
      await registerDistrict(svc.api)
      const routine = await registerDevice(svc.api, {
        id: 'gw-routine',
        kind: 'gateway',
        building: 'shop-12',
      })
      const sensors = 100
      for (let i = 0; i < sensors; i++)
        await registerDevice(svc.api, {
          id: `t-${i}`,
          kind: 'heat',
          building: 'shop-12',
          gateway: 'gw-routine',
        })
      const heat = await registerDevice(svc.api, { id: 'f7-heat', kind: 'heat', building: 'factory-7' })

      await influx.stop()
      const gw = await connectAs(svc.mqttUrl, 'gw-routine', routine.secret)
      const t0 = Date.now() - 3_600_000
      const batches = 300
      for (let b = 0; b < batches; b++) {
        const readings = Array.from({ length: sensors }, (_, i) => ({
          device: `t-${i}`,
          ts: t0 + b * 1000,
          values: { temperature: 22 },
        }))
        await gw.publishAsync('gw/gw-routine/telemetry', JSON.stringify({ readings }), { qos: 1 })
      }
      const backlog = await until(async () => {
        const r = (await (await fetch(`${svc.base}/readyz`)).json()) as { checks: { spool_depth: number } }
        return r.checks.spool_depth >= batches * sensors ? r.checks.spool_depth : undefined
      }, 'the backlog in the spool')
      expect(backlog).toBeGreaterThanOrEqual(30_000)

      const stream = await openStream(`${svc.base}/api/stream`, ADMIN_TOKEN)
      const c = await connectAs(svc.mqttUrl, 'f7-heat', heat.secret)
      await c.publishAsync('dev/f7-heat/telemetry', JSON.stringify({ values: { temperature: 88 } }), {
        qos: 1,
      })
      const opened = await stream.next((e) => e.event === 'incident' && e.data.change === 'opened', 2000)
      expect(opened.data.incident).toMatchObject({ building: 'factory-7', status: 'alarm' })
      // The backlog is still waiting for InfluxDB: the alarm did not go through it.
      const r = (await (await fetch(`${svc.base}/readyz`)).json()) as { checks: { spool_depth: number } }
      expect(r.checks.spool_depth).toBeGreaterThanOrEqual(30_000)
      stream.close()
      await Promise.all([gw.endAsync(), c.endAsync()])
      await influx.start()
    } finally {
      await svc.stop()
    }
  })
})
