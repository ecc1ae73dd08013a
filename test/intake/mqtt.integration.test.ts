/**
 * The device side of the contract against the real service: Aedes on a free port, MQTT.js
 * clients as devices, the HTTP API as a user reads it.
 */
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closedByBroker, connectAs, refusalCode } from '../support/mqtt.ts'
import {
  registerDevice,
  registerDistrict,
  registerResponder,
  startTestService,
  type TestService,
  until,
} from '../support/service.ts'

let svc: TestService
const secrets: Record<string, string> = {}
const clients: MqttClient[] = []

async function device(id: string): Promise<MqttClient> {
  const c = await connectAs(svc.mqttUrl, id, secrets[id]!)
  clients.push(c)
  return c
}

async function metric(name: string, label?: string): Promise<number> {
  const text = await (await fetch(`${svc.base}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(name) && (label === undefined || l.includes(label)))
  return line ? Number(line.split(' ').pop()) : 0
}

beforeAll(async () => {
  svc = await startTestService()
  await registerDistrict(svc.api)
  for (const [id, kind, building, gateway] of [
    ['smoke-1', 'smoke', 'factory-7'],
    ['heat-1', 'heat', 'factory-7'],
    ['gw-1', 'gateway', 'factory-7'],
    ['heat-g1', 'heat', 'factory-7', 'gw-1'],
    ['heat-g2', 'heat', 'factory-7', 'gw-1'],
    ['smoke-off', 'smoke', 'shop-12'],
  ] as const) {
    secrets[id] = (
      await registerDevice(svc.api, { id, kind, building, ...(gateway ? { gateway } : {}) })
    ).secret
  }
  secrets['rsp-1'] = (
    await registerResponder(svc.api, {
      id: 'rsp-1',
      name: 'Zhang',
      type: 'grid_staff',
      mode: 'foot',
      onDuty: true,
    })
  ).secret
})

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})))
  await svc?.stop()
})

describe('who may connect', () => {
  it('refuses anonymous clients, unknown ids, wrong secrets and a client id that is not the username', async () => {
    expect([4, 5]).toContain(await refusalCode(svc.mqttUrl, { clientId: 'anon' }))
    expect(
      await refusalCode(svc.mqttUrl, { clientId: 'ghost', username: 'ghost', password: 'x'.repeat(32) }),
    ).toBe(4)
    expect(
      await refusalCode(svc.mqttUrl, { clientId: 'smoke-1', username: 'smoke-1', password: 'wrong-secret' }),
    ).toBe(4)
    expect(
      await refusalCode(svc.mqttUrl, {
        clientId: 'other',
        username: 'smoke-1',
        password: secrets['smoke-1']!,
      }),
    ).toBe(5)
    expect(
      await metric('firecircle_mqtt_connections_refused_total', 'reason="wrong_secret"'),
    ).toBeGreaterThanOrEqual(1)
  })

  it('refuses a disabled device and closes its open connection', async () => {
    const c = await device('smoke-off')
    const closed = closedByBroker(c)
    const res = await svc.api.request('PATCH', '/api/devices/smoke-off', { enabled: false })
    expect(res.status).toBe(200)
    await closed
    expect(
      await refusalCode(svc.mqttUrl, {
        clientId: 'smoke-off',
        username: 'smoke-off',
        password: secrets['smoke-off']!,
      }),
    ).toBe(5)
  })

  it('accepts a registered device with its secret', async () => {
    const c = await device('smoke-1')
    expect(c.connected).toBe(true)
  })
})

describe('what each may do', () => {
  it('closes the connection of a device publishing under another device', async () => {
    const c = await connectAs(svc.mqttUrl, 'heat-1', secrets['heat-1']!)
    const closed = closedByBroker(c)
    c.publish('dev/smoke-1/telemetry', JSON.stringify({ values: { obscuration: 9 } }), { qos: 0 })
    await closed
    const readings = await svc.api.get('/api/devices/smoke-1/telemetry?field=obscuration')
    expect(readings.body.points ?? []).not.toContainEqual(expect.objectContaining({ value: 9 }))
  })

  it('closes the connection of a device subscribing outside its prefix', async () => {
    const c = await connectAs(svc.mqttUrl, 'heat-1', secrets['heat-1']!)
    const closed = closedByBroker(c)
    c.subscribe('dev/+/cmd', { qos: 1 }, () => {})
    await closed
  })

  it('lets a device subscribe to its own commands', async () => {
    const c = await device('heat-1')
    const granted = await c.subscribeAsync('dev/heat-1/cmd', { qos: 1 })
    expect(granted[0]?.qos).toBe(1)
  })

  it('closes the connection of a responder app publishing a device topic', async () => {
    const c = await connectAs(svc.mqttUrl, 'rsp-1', secrets['rsp-1']!)
    const closed = closedByBroker(c)
    c.publish('dev/heat-1/telemetry', JSON.stringify({ values: { temperature: 99 } }), { qos: 0 })
    await closed
  })
})

describe('intake', () => {
  it('acknowledges a QoS 1 reading and stores it with its ts', async () => {
    const c = await device('heat-1')
    const ts = Date.now() - 2000
    await c.publishAsync(
      'dev/heat-1/telemetry',
      JSON.stringify({ ts, seq: 1, values: { temperature: 31.5, battery: 77 } }),
      { qos: 1 },
    )
    const body = await until(async () => {
      const r = await svc.api.get(
        `/api/devices/heat-1/telemetry?field=temperature&from=${ts - 1}&to=${ts + 1}`,
      )
      return r.status === 200 && r.body.points.length === 1 ? r.body : undefined
    }, 'the reading in the telemetry store')
    expect(body.points[0]).toEqual({ ts: new Date(ts).toISOString(), value: 31.5 })
    const dev = await svc.api.get('/api/devices/heat-1')
    expect(dev.body).toMatchObject({ id: 'heat-1', kind: 'heat', online: true, battery: 77 })
  })

  it('drops bad payloads, counts them by reason, shows the last on the device and keeps the connection', async () => {
    const c = await device('smoke-1')
    const before = {
      not_json: await metric('firecircle_intake_rejected_total', 'reason="not_json"'),
      unknown_value: await metric('firecircle_intake_rejected_total', 'reason="unknown_value"'),
      out_of_range: await metric('firecircle_intake_rejected_total', 'reason="out_of_range"'),
      oversize: await metric('firecircle_intake_rejected_total', 'reason="oversize"'),
    }
    // Each bad message is still acknowledged at QoS 1 (resending would not fix it).
    await c.publishAsync('dev/smoke-1/telemetry', 'this is not json', { qos: 1 })
    await c.publishAsync('dev/smoke-1/telemetry', JSON.stringify({ values: { smokiness: 3 } }), { qos: 1 })
    await c.publishAsync('dev/smoke-1/telemetry', JSON.stringify({ values: { obscuration: 1e6 } }), {
      qos: 1,
    })
    await c.publishAsync(
      'dev/smoke-1/telemetry',
      JSON.stringify({ values: { obscuration: 1 }, pad: 'x'.repeat(70_000) }),
      { qos: 1 },
    )
    expect(await metric('firecircle_intake_rejected_total', 'reason="not_json"')).toBe(before.not_json + 1)
    expect(await metric('firecircle_intake_rejected_total', 'reason="unknown_value"')).toBe(
      before.unknown_value + 1,
    )
    expect(await metric('firecircle_intake_rejected_total', 'reason="out_of_range"')).toBe(
      before.out_of_range + 1,
    )
    expect(await metric('firecircle_intake_rejected_total', 'reason="oversize"')).toBe(before.oversize + 1)

    const dev = await svc.api.get('/api/devices/smoke-1')
    expect(dev.body.lastRejection).toMatchObject({ reason: 'oversize', topic: 'dev/smoke-1/telemetry' })
    expect(dev.body.lastRejection.message).toMatch(/exceeds 65536/)

    // Still connected: a good reading goes through on the same connection.
    expect(c.connected).toBe(true)
    const ts = Date.now()
    await c.publishAsync('dev/smoke-1/telemetry', JSON.stringify({ ts, values: { obscuration: 0.4 } }), {
      qos: 1,
    })
    await until(async () => {
      const r = await svc.api.get(`/api/devices/smoke-1/telemetry?field=obscuration&from=${ts - 1}`)
      return r.body.points?.length === 1
    }, 'the good reading')
    const none = await svc.api.get(`/api/devices/smoke-1/telemetry?field=obscuration&from=${ts - 60_000}`)
    expect(none.body.points.map((p: { value: number }) => p.value)).toEqual([0.4])
  })

  it('stores a reading with an untrusted ts at receive time and flags it', async () => {
    const c = await device('smoke-1')
    const before = Date.now()
    await c.publishAsync(
      'dev/smoke-1/telemetry',
      JSON.stringify({ ts: before + 3_600_000, values: { obscuration: 0.7 } }),
      { qos: 1 },
    )
    const dev = await svc.api.get('/api/devices/smoke-1')
    expect(dev.body.lastClockWarning).toBeDefined()
    const r = await until(async () => {
      const x = await svc.api.get(
        `/api/devices/smoke-1/telemetry?field=obscuration&from=${before - 1}&to=${Date.now() + 1000}`,
      )
      return x.body.points?.find((p: { value: number }) => p.value === 0.7)
    }, 'the flagged reading')
    expect(Date.parse(r.ts)).toBeGreaterThanOrEqual(before)
    expect(Date.parse(r.ts)).toBeLessThan(before + 60_000)
  })

  it('takes a gateway batch for the devices assigned to it and rejects the others', async () => {
    const g = await device('gw-1')
    const ts = Date.now() - 1000
    await g.publishAsync(
      'gw/gw-1/telemetry',
      JSON.stringify({
        readings: [
          { device: 'heat-g1', ts, values: { temperature: 22 } },
          { device: 'heat-g2', ts, values: { temperature: 23 } },
          { device: 'heat-1', ts, values: { temperature: 99 } },
        ],
      }),
      { qos: 1 },
    )
    for (const [id, value] of [
      ['heat-g1', 22],
      ['heat-g2', 23],
    ] as const) {
      await until(async () => {
        const r = await svc.api.get(
          `/api/devices/${id}/telemetry?field=temperature&from=${ts - 1}&to=${ts + 1}`,
        )
        return r.body.points?.[0]?.value === value
      }, `${id}'s reading`)
    }
    const stray = await svc.api.get(
      `/api/devices/heat-1/telemetry?field=temperature&from=${ts - 1}&to=${ts + 1}`,
    )
    expect(stray.body.points).toEqual([])
    const gw = await svc.api.get('/api/devices/gw-1')
    expect(gw.body.lastRejection).toMatchObject({ reason: 'not_on_gateway' })
    expect(gw.body.online).toBe(true)
  })
})

describe('liveness', () => {
  it('shows birth, then the last will when the connection drops', async () => {
    const c = await connectAs(svc.mqttUrl, 'heat-g1', secrets['heat-g1']!, {
      will: { topic: 'dev/heat-g1/status', payload: Buffer.from('offline'), qos: 1, retain: true },
    })
    await c.publishAsync('dev/heat-g1/status', 'online', { qos: 1, retain: true })
    let dev = await svc.api.get('/api/devices/heat-g1')
    expect(dev.body).toMatchObject({ online: true })
    expect(Date.parse(dev.body.lastSeen)).toBeGreaterThan(Date.now() - 10_000)

    // The device vanishes without a DISCONNECT: the broker publishes its will.
    c.stream.destroy()
    dev = await until(async () => {
      const r = await svc.api.get('/api/devices/heat-g1')
      return r.body.online === false ? r : undefined
    }, 'the last will')
    expect(dev.body.cause).toBe('last_will')
  })

  it('accepts MQTT over WebSocket at /mqtt on the HTTP port', async () => {
    const c = await connectAs(`ws://127.0.0.1:${svc.service.httpPort}/mqtt`, 'heat-g2', secrets['heat-g2']!)
    clients.push(c)
    const ts = Date.now() - 500
    await c.publishAsync('dev/heat-g2/telemetry', JSON.stringify({ ts, values: { temperature: 40.25 } }), {
      qos: 1,
    })
    await until(async () => {
      const r = await svc.api.get(
        `/api/devices/heat-g2/telemetry?field=temperature&from=${ts - 1}&to=${ts + 1}`,
      )
      return r.body.points?.[0]?.value === 40.25
    }, 'the WebSocket reading')
  })
})
