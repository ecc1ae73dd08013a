/**
 * Fire first under overload (issue #14, README "Overload"): the node is offered more than its
 * telemetry store takes (InfluxDB down, a small FC_SPOOL_MAX_POINTS) and sheds in the stated
 * order — QoS 0 telemetry first (evaluated, not stored, counted), /readyz not ready before the
 * bound, QoS 1 telemetry by withheld PUBACKs at the bound — while a call point's alarm is
 * acknowledged and opens its incident at once. When the store is back, every withheld reading
 * is acknowledged and every acknowledged reading is in InfluxDB. Ordering and loss, not timing.
 */
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type InfluxHarness, startInfluxDB } from '../support/influxdb.ts'
import { connectAs } from '../support/mqtt.ts'
import {
  ADMIN_TOKEN,
  registerDevice,
  registerDistrict,
  startTestService,
  type TestService,
  until,
} from '../support/service.ts'
import { openStream } from '../support/sse.ts'

const DB = 'overload'
const BOUND = 200
let influx: InfluxHarness
let svc: TestService

beforeAll(async () => {
  influx = await startInfluxDB()
  await influx.database(DB)
  svc = await startTestService({
    env: { FC_INFLUX_URL: influx.url, FC_INFLUX_DATABASE: DB, FC_SPOOL_MAX_POINTS: String(BOUND) },
  })
  await registerDistrict(svc.api)
}, 60_000)

afterAll(async () => {
  await svc?.stop()
  await influx?.destroy()
})

async function metric(name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${svc.base}/metrics`)).text()
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}${labels} `) || l.startsWith(`${name}{${labels}`))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}
const readyz = async () => {
  const res = await fetch(`${svc.base}/readyz`)
  return { status: res.status, checks: ((await res.json()) as { checks: Record<string, unknown> }).checks }
}
const depth = async () => (await readyz()).checks['spool_depth'] as number

/** Publish `n` QoS 1 readings, one a message, each with its own ts; resolve when all are acknowledged. */
function publishReadings(c: MqttClient, device: string, from: number, n: number, qos: 0 | 1) {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      c.publishAsync(
        `dev/${device}/telemetry`,
        JSON.stringify({ ts: from + i, values: { temperature: 21 + (i % 3) } }),
        { qos },
      ),
    ),
  )
}

describe('overload: the shedding order', () => {
  it('sheds QoS 0, turns unready before the bound, withholds QoS 1 PUBACKs at it, and never holds back a call point', async () => {
    const heat = await registerDevice(svc.api, { id: 'ov-heat', kind: 'heat', building: 'shop-12' })
    const cold = await registerDevice(svc.api, { id: 'ov-heat-0', kind: 'heat', building: 'shop-12' })
    const cp = await registerDevice(svc.api, { id: 'ov-cp', kind: 'call_point', building: 'factory-7' })
    await influx.stop()
    const c1 = await connectAs(svc.mqttUrl, 'ov-heat', heat.secret)
    const c0 = await connectAs(svc.mqttUrl, 'ov-heat-0', cold.secret)
    const t0 = Date.now() - 600_000

    // 1. Up to half the bound everything is kept.
    await publishReadings(c1, 'ov-heat', t0, 100, 1)
    await until(async () => (await depth()) >= 100, 'the first 100 readings in the spool')
    const shedBefore = await metric('firecircle_intake_shed_total', 'qos="0"')
    expect(shedBefore).toBe(0)

    // 2. From half the bound, QoS 0 telemetry is shed (counted), not spooled.
    await publishReadings(c0, 'ov-heat-0', t0, 30, 0)
    await until(
      async () => (await metric('firecircle_intake_shed_total', 'qos="0"')) >= 30,
      '30 QoS 0 readings shed',
    )
    expect(await depth()).toBe(100)

    // 3. From 80 % of the bound /readyz says not ready for want of spool room.
    expect((await readyz()).checks['spool_room']).toBe(true)
    await publishReadings(c1, 'ov-heat', t0 + 100, 60, 1)
    const unready = await until(async () => {
      const r = await readyz()
      return r.checks['spool_room'] === false ? r : undefined
    }, 'not ready for want of spool room')
    expect(unready.status).toBe(503)

    // 4. At the bound QoS 1 telemetry waits: its PUBACKs are withheld.
    await publishReadings(c1, 'ov-heat', t0 + 160, 40, 1)
    expect(await depth()).toBeGreaterThanOrEqual(BOUND)
    let withheldAcked = 0
    const withheld = Array.from({ length: 20 }, (_, i) =>
      c1
        .publishAsync(
          'dev/ov-heat/telemetry',
          JSON.stringify({ ts: t0 + 200 + i, values: { temperature: 22 } }),
          { qos: 1 },
        )
        .then(() => {
          withheldAcked++
        }),
    )
    await until(
      async () => (await metric('firecircle_spool_waiting_messages')) === 20,
      '20 QoS 1 messages waiting for room',
    )

    // 5. Meanwhile a call point is acknowledged and its incident opens; the telemetry still waits.
    const stream = await openStream(`${svc.base}/api/stream`, ADMIN_TOKEN)
    const cpClient = await connectAs(svc.mqttUrl, 'ov-cp', cp.secret)
    await cpClient.publishAsync('dev/ov-cp/event', JSON.stringify({ type: 'manual' }), { qos: 1 })
    const opened = await stream.next((e) => e.event === 'incident' && e.data.change === 'opened', 5000)
    expect(opened.data.incident).toMatchObject({ building: 'factory-7' })
    expect(withheldAcked).toBe(0)
    expect(await metric('firecircle_spool_waiting_messages')).toBe(20)
    stream.close()

    // 6. The store is back: the spool drains, the withheld readings are acknowledged, the node is
    //    ready again, and every acknowledged reading is in InfluxDB (QoS 0 ones were shed).
    await influx.start()
    await Promise.all(withheld)
    expect(withheldAcked).toBe(20)
    await until(async () => (await readyz()).status === 200, 'ready again', 30_000)
    await until(async () => (await depth()) === 0, 'the spool drained', 30_000)
    const rows = await influx.query(
      `SELECT COUNT("temperature") AS n FROM "telemetry" WHERE "device" = 'ov-heat'`,
      DB,
    )
    expect(rows[0]?.['n']).toBe(220)
    // The call point's event, kept at once though the spool was full, is stored too.
    const events = await influx.query(`SELECT * FROM "device_event" WHERE "device" = 'ov-cp'`, DB)
    expect(events.map((e) => e['type'])).toEqual(['manual'])
    await Promise.all([c1.endAsync(), c0.endAsync(), cpClient.endAsync()])
  })
})
