/**
 * The device clients (devices/) against a bare Aedes broker on a free port, watched by an
 * observer client: what they put on the wire is what docs/PROTOCOL.md says. The service's own
 * handling of the same traffic is covered by the end-to-end simulator test.
 */
import net from 'node:net'
import { Aedes } from 'aedes'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createDeviceClient,
  createGatewayClient,
  createResponderApp,
  InvalidPayload,
} from '../../devices/index.ts'
import { generateDistrict } from '../../simulator/district.ts'
import { createRng } from '../../simulator/prng.ts'
import { createCrowd, haversineM } from '../../simulator/responders.ts'
import { until } from '../support/service.ts'

let broker: Aedes
let server: net.Server
let url: string
let observer: MqttClient
const seen: { topic: string; payload: string; retain: boolean }[] = []
const closers: (() => unknown)[] = []

beforeAll(async () => {
  broker = await Aedes.createBroker()
  server = net.createServer((s) => broker.handle(s))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`
  observer = await mqtt.connectAsync(url, { clientId: 'observer', reconnectPeriod: 0 })
  observer.on('message', (topic, payload, packet) =>
    seen.push({ topic, payload: payload.toString(), retain: packet.retain }),
  )
  await observer.subscribeAsync(['dev/#', 'gw/#', 'rsp/#'], { qos: 1 })
})

afterEach(async () => {
  for (const c of closers.splice(0)) await c()
  seen.length = 0
})

afterAll(async () => {
  await observer.endAsync()
  await new Promise<void>((r) => broker.close(() => r()))
  await new Promise<void>((r) => server.close(() => r()))
})

const on = (topic: string) => seen.filter((m) => m.topic === topic)
const json = (topic: string) => on(topic).map((m) => JSON.parse(m.payload))

describe('device client', () => {
  it('connects as id = username with a birth, sends validated telemetry with seq, events, and answers commands', async () => {
    let connectedAs: { clientId?: string; username?: string } = {}
    broker.once('client', (c) => {
      connectedAs = { clientId: c.id }
    })
    const d = createDeviceClient({
      url,
      id: 'smoke-1',
      secret: 's3cret',
      kind: 'smoke',
      clock: { now: () => 1_700_000_000_000 },
    })
    closers.push(() => d.close())
    await d.connect()
    expect(connectedAs.clientId).toBe('smoke-1')
    await until(() => on('dev/smoke-1/status').length > 0, 'the birth')
    expect(on('dev/smoke-1/status')[0]!.payload).toBe('online')

    await d.telemetry({ obscuration: 0.4, battery: 97 })
    await d.telemetry({ obscuration: 0.5 }, { ts: 1_700_000_001_000 })
    expect(() => d.telemetry({ temperature: 20 })).toThrow(InvalidPayload)
    expect(() => d.telemetry({ obscuration: 140 })).toThrow(/"obscuration" = 140 is outside 0..100/)
    expect(() => d.telemetry({})).toThrow(/at least one value/)
    await d.event('test', 'monthly test')
    expect(() => d.event('explode' as never)).toThrow(/not one of/)
    await until(() => on('dev/smoke-1/event').length > 0, 'the event')
    expect(json('dev/smoke-1/telemetry')).toEqual([
      { ts: 1_700_000_000_000, seq: 1, values: { obscuration: 0.4, battery: 97 } },
      { ts: 1_700_000_001_000, seq: 2, values: { obscuration: 0.5 } },
    ])
    expect(json('dev/smoke-1/event')).toEqual([
      { ts: 1_700_000_000_000, type: 'test', detail: 'monthly test' },
    ])

    d.onCommand((cmd) => ({ ok: true, detail: `did ${cmd.action}` }))
    await observer.publishAsync('dev/smoke-1/cmd', JSON.stringify({ id: 'c1', action: 'selftest' }), {
      qos: 1,
    })
    await observer.publishAsync('dev/smoke-1/cmd', JSON.stringify({ id: 'c2', action: 'valve.close' }), {
      qos: 1,
    })
    await until(() => on('dev/smoke-1/cmd/ack').length === 2, 'two acks')
    const acks = json('dev/smoke-1/cmd/ack')
    expect(acks[0]).toEqual({ id: 'c1', ok: true, detail: 'did selftest' })
    expect(acks[1]).toMatchObject({ id: 'c2', ok: false })
    expect(acks[1].detail).toMatch(/does not take "valve.close"/)
  })

  it('reports on an interval, and drop() makes the broker send the retained offline will', async () => {
    const d = createDeviceClient({ url, id: 'heat-1', secret: 'x', kind: 'heat' })
    await d.connect()
    let t = 20
    const stop = d.startReporting(() => ({ temperature: t++ }), 50, { firstAfterMs: 0 })
    await until(() => on('dev/heat-1/telemetry').length >= 3, 'three reports')
    stop()
    d.drop()
    await until(() => on('dev/heat-1/status').some((m) => m.payload === 'offline'), 'the will')
    expect(d.connected).toBe(false)
    // The will is retained: a newcomer sees it.
    const late = await mqtt.connectAsync(url, { clientId: 'late', reconnectPeriod: 0 })
    const retained = new Promise<string>((r) => late.on('message', (_t, p) => r(p.toString())))
    await late.subscribeAsync('dev/heat-1/status', { qos: 1 })
    expect(await retained).toBe('offline')
    await late.endAsync()
  })

  it('refuses to connect with the CONNACK code when the broker says no', async () => {
    broker.authenticate = (_c, _u, _p, done) => {
      const err = Object.assign(new Error('bad'), { returnCode: 4 })
      done(err as never, false)
    }
    try {
      const d = createDeviceClient({
        url,
        id: 'smoke-9',
        secret: 'wrong',
        kind: 'smoke',
        mqtt: { reconnectPeriod: 0 },
      })
      await expect(d.connect()).rejects.toMatchObject({ name: 'ConnectRefused', code: 4 })
    } finally {
      broker.authenticate = (_c, _u, _p, done) => done(null, true)
    }
  })
})

describe('gateway client', () => {
  it('batches carried readings by size and by time, validated by the carried kind', async () => {
    const gw = createGatewayClient({
      url,
      id: 'gw-1',
      secret: 'x',
      devices: [
        ['smoke-7', 'smoke'],
        ['heat-7', 'heat'],
      ],
      batchSize: 3,
      flushIntervalMs: 100,
      clock: { now: () => 42 },
    })
    closers.push(() => gw.close())
    await gw.connect()
    for (let i = 0; i < 4; i++) gw.reading('smoke-7', { obscuration: i / 10 })
    gw.reading('heat-7', { temperature: 30 })
    expect(() => gw.reading('heat-7', { obscuration: 1 })).toThrow(/does not report "obscuration"/)
    expect(() => gw.reading('nobody', { obscuration: 1 })).toThrow(/not carried/)
    await until(() => on('gw/gw-1/telemetry').length === 2, 'two batches (one full, one by time)')
    const batches = json('gw/gw-1/telemetry')
    expect(batches[0].readings).toHaveLength(3)
    expect(batches[1].readings).toEqual([
      { device: 'smoke-7', ts: 42, values: { obscuration: 0.3 } },
      { device: 'heat-7', ts: 42, values: { temperature: 30 } },
    ])
    await until(() => gw.stats().readings === 5, 'acknowledged')
    // Its own status as a device.
    expect(on('dev/gw-1/status')[0]?.payload).toBe('online')
  })

  it('splits a batch so that its payload stays under maxBatchBytes', async () => {
    const gw = createGatewayClient({
      url,
      id: 'gw-2',
      secret: 'x',
      devices: [['smoke-8', 'smoke']],
      batchSize: 1000,
      maxBatchBytes: 600,
    })
    closers.push(() => gw.close())
    await gw.connect()
    for (let i = 0; i < 40; i++) gw.reading('smoke-8', { obscuration: 0.1, battery: 90, rssi: -70 })
    await gw.flush()
    await until(
      () => on('gw/gw-2/telemetry').flatMap((m) => JSON.parse(m.payload).readings).length === 40,
      'every reading',
    )
    const msgs = on('gw/gw-2/telemetry')
    expect(msgs.length).toBeGreaterThan(1)
    for (const m of msgs) expect(Buffer.byteLength(m.payload)).toBeLessThanOrEqual(600)
    expect(msgs.flatMap((m) => JSON.parse(m.payload).readings)).toHaveLength(40)
  })
})

describe('responder app and simulated responders', () => {
  it('reports location, parses offers, replies', async () => {
    const offers: unknown[] = []
    const app = createResponderApp({ url, id: 'r-1', secret: 'x', onOffer: (o) => offers.push(o) })
    closers.push(() => app.close())
    await app.connect()
    await app.location(113.87, 22.58, { ts: 5 })
    await observer.publishAsync('rsp/r-1/offer', 'not json', { qos: 1 })
    await observer.publishAsync(
      'rsp/r-1/offer',
      JSON.stringify({ incident: 'inc-1', location: [113.871, 22.581], eta_s: 120, building: 'b-1' }),
      { qos: 1 },
    )
    await until(() => offers.length === 1, 'the offer')
    expect(offers[0]).toMatchObject({
      incident: 'inc-1',
      location: [113.871, 22.581],
      eta_s: 120,
      building: 'b-1',
    })
    await app.accept('inc-1')
    expect(() => app.reply('inc-1', 'maybe' as never)).toThrow(/not one of/)
    await until(() => on('rsp/r-1/reply').length === 1, 'the reply')
    expect(json('rsp/r-1/location')).toEqual([{ ts: 5, lon: 113.87, lat: 22.58 }])
    expect(json('rsp/r-1/reply')).toEqual([{ incident: 'inc-1', answer: 'accept' }])
  })

  it('accepts an offer, reports en_route, travels toward the incident and reports on_scene; declines when busy', async () => {
    const district = generateDistrict({ seed: 3, communities: 1, streets: 1, devices: 40, responders: 40 })
    const r = district.responders.find((x) => x.mode === 'bicycle')!
    const secrets = new Map(district.responders.map((x) => [x.id, 'x']))
    const crowd = createCrowd({
      district,
      secrets,
      mqttUrl: url,
      rng: createRng(1),
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      speedup: 200,
      travelReportMs: 50,
    })
    closers.push(() => crowd.close())
    await crowd.connect([r.id])
    const target: [number, number] = [r.location[0] + 0.003, r.location[1] + 0.002]
    await observer.publishAsync(
      `rsp/${r.id}/offer`,
      JSON.stringify({ incident: 'inc-9', location: target, eta_s: 200 }),
      { qos: 1 },
    )
    await until(() => crowd.journeys()[0]?.state === 'on_scene', 'on scene', 15_000)
    await observer.publishAsync(
      `rsp/${r.id}/offer`,
      JSON.stringify({ incident: 'inc-10', location: target, eta_s: 100 }),
      { qos: 1 },
    )
    await until(() => on(`rsp/${r.id}/reply`).length === 4, 'four replies')
    expect(json(`rsp/${r.id}/reply`).map((x) => `${x.incident}:${x.answer}`)).toEqual([
      'inc-9:accept',
      'inc-9:en_route',
      'inc-9:on_scene',
      'inc-10:decline',
    ])
    const path = json(`rsp/${r.id}/location`)
    const last = path[path.length - 1]
    expect(haversineM([last.lon, last.lat], target)).toBeLessThan(1)
    // Moving: more than two positions between the start and the scene.
    expect(path.length).toBeGreaterThan(3)
    const j = crowd.journeys()[0]!
    expect(j.distanceM).toBeCloseTo(haversineM(r.location, target), 0)
    expect(j.onSceneAt! - j.enRouteAt!).toBeGreaterThan(0)
  })
})
