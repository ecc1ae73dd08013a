/**
 * A fire panel's UITD over a real TCP socket to the whole service: the worked example of
 * GB26875.md (hand-written bytes) is confirmed with the document's own confirm once spooled,
 * becomes an incident in `alarm` on the SSE stream, an offer to the responder's app, and a
 * call to 119 on the officer's confirm; the component shows on the device with its GB18030
 * description; unknown addresses are denied and counted, garbage is dropped and counted.
 */
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adu, componentStatus, connectUitd, type UitdClient, uitdFrame } from '../../devices/uitd.ts'
import { createManualClock } from '../../services/shared/clock.ts'
import { type Receiver, startReceiver } from '../support/http-receiver.ts'
import { connectAs } from '../support/mqtt.ts'
import {
  ADMIN_TOKEN,
  must,
  registerDistrict,
  registerResponder,
  startTestService,
  type TestService,
  until,
} from '../support/service.ts'
import { openStream, type SseStream } from '../support/sse.ts'

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const EXAMPLE = hex(`
40 40 01 00 01 01 1E 14 0A 01 0C 1A 56 34 12 00 00 00 01 00 00 00 00 00 30 00 02
02 01 01 01 2A 05 01 00 00 03 00 33 B2 E3 D7 DF C0 C8 D1 CC B8 D0 ${'00 '.repeat(20)}
1E 14 0A 01 0C 1A FB 23 23`)
const EXAMPLE_CONFIRM = '4040010001011f140a010c1a010000000000563412000000000003072323'
/** 2026-12-01 10:20:31 in Asia/Shanghai: the centre's time in GB26875.md's confirm. */
const CONFIRM_AT = Date.UTC(2026, 11, 1, 2, 20, 31)
const UITD = '000000123456'
const CENTRE = '000000000001'
const LABEL = [31, 20, 10, 1, 12, 26]

let svc: TestService
let centre119: Receiver
let stream: SseStream
let app: MqttClient
const offers: { incident: string }[] = []
const clock = createManualClock(CONFIRM_AT)

const metric = async (result: string) => {
  const text = (await (await fetch(`${svc.base}/metrics`)).text()).split('\n')
  const line = text.find((l) => l.startsWith(`firecircle_gb26875_frames_total{result="${result}"}`))
  return line === undefined ? 0 : Number(line.split(' ').at(-1))
}
const port = () => svc.service.gb26875Port!

beforeAll(async () => {
  centre119 = await startReceiver()
  svc = await startTestService({
    clock,
    env: {
      FC_GB26875_PORT: '0',
      FC_FIRE_CENTRE_URL: centre119.url,
      FC_WEBHOOK_SECRET: 'test-webhook-secret-0123456789',
    },
  })
  await registerDistrict(svc.api)
  must(
    await svc.api.post('/api/devices', {
      id: 'f7-panel',
      kind: 'uitd',
      building: 'factory-7',
      address: UITD,
    }),
    201,
  )
  const r = await registerResponder(svc.api, {
    id: 'g-f7',
    name: 'Grid staff near factory-7',
    type: 'grid_staff',
    mode: 'foot',
    onDuty: true,
    location: [113.8655, 22.5752],
  })
  app = await connectAs(svc.mqttUrl, 'g-f7', r.secret)
  await app.subscribeAsync('rsp/g-f7/offer', { qos: 1 })
  app.on('message', (_t, payload) => offers.push(JSON.parse(payload.toString())))
  stream = await openStream(`${svc.base}/api/stream`, ADMIN_TOKEN)
}, 30_000)

afterAll(async () => {
  stream?.close()
  await app?.endAsync().catch(() => {})
  await svc?.stop()
  await centre119?.close()
})

describe('a UITD registered by address', () => {
  it('refuses a uitd without an address, and a second device with the same address', async () => {
    expect(
      (await svc.api.post('/api/devices', { id: 'p2', kind: 'uitd', building: 'factory-7' })).status,
    ).toBe(400)
    const again = await svc.api.post('/api/devices', {
      id: 'p3',
      kind: 'uitd',
      building: 'shop-12',
      address: '000000123456',
    })
    expect(again.status).toBe(409)
    const d = must(await svc.api.get('/api/devices/f7-panel'), 200)
    expect(d).toMatchObject({ kind: 'uitd', address: UITD, heartbeatS: 30, components: [] })
  })

  let uitd: UitdClient
  it('sets the UITD clock on connect (type 90, command 1, local time)', async () => {
    uitd = await connectUitd('127.0.0.1', port())
    // The centre learns who is on the line from the first frame: a heartbeat.
    uitd.send(uitdFrame({ serial: 7, command: 2, source: UITD, destination: CENTRE, time: LABEL }))
    const sync = await uitd.next((f) => f.command === 1)
    expect(sync.adu.toString('hex')).toBe(Buffer.from([0x5a, 0x01, ...LABEL]).toString('hex'))
    expect(sync.destination).toBe(UITD)
    const beat = await uitd.next((f) => f.command === 3 && f.serial === 7)
    expect(beat.source).toBe(CENTRE)
    expect(await metric('confirmed')).toBe(1)
  })

  it("confirms GB26875.md's worked example with the document's confirm, split over two segments", async () => {
    uitd.send(EXAMPLE.subarray(0, 40))
    await new Promise((r) => setImmediate(r))
    uitd.send(EXAMPLE.subarray(40))
    const confirm = await uitd.next((f) => f.command === 3 && f.serial === 1)
    expect(confirm.bytes.toString('hex')).toBe(EXAMPLE_CONFIRM)
  })

  it('opens the incident in alarm at once, offers it, and calls 119 on the officer’s confirm', async () => {
    const opened = await stream.next((e) => e.event === 'incident' && e.data.change === 'opened')
    expect(opened.data.incident).toMatchObject({ building: 'factory-7', status: 'alarm' })
    const id = opened.data.incident.id as string
    await until(() => offers.find((o) => o.incident === id), 'the offer to the grid staff')
    const device = must(await svc.api.get('/api/devices/f7-panel'), 200)
    expect(device.components).toEqual([
      {
        system: 1,
        systemAddress: 1,
        type: 42,
        address: '00000105',
        description: '3层走廊烟感',
        conditions: ['alarm'],
      },
    ])
    const signals = must(await svc.api.get('/api/devices/f7-panel/signals'), 200).signals
    expect(signals.map((s: { condition: string }) => s.condition)).toEqual(['device_alarm'])
    expect(centre119.requests).toEqual([])
    must(await svc.api.post(`/api/incidents/${id}/confirm`, { reason: 'the panel and a guard' }), 200)
    const call = await until(() => centre119.requests[0], 'the 119 call')
    expect(call.json).toMatchObject({ incident: id })
  })

  it('restores the component when its fire bit clears', async () => {
    const desc = hex('33 B2 E3 D7 DF C0 C8 D1 CC B8 D0')
    const obj = componentStatus({
      component: 42,
      address: 0x105,
      status: 0x0001,
      description: desc,
      time: LABEL,
    })
    uitd.send(
      uitdFrame({
        serial: 2,
        command: 2,
        source: UITD,
        destination: CENTRE,
        time: LABEL,
        adu: adu(2, [obj]),
      }),
    )
    await uitd.next((f) => f.command === 3 && f.serial === 2)
    const device = must(await svc.api.get('/api/devices/f7-panel'), 200)
    expect(device.components[0]).toMatchObject({ description: '3层走廊烟感', conditions: [] })
    await until(
      async () => must(await svc.api.get('/api/devices/f7-panel/signals'), 200).signals.length === 0,
      'the device alarm restored',
    )
  })

  it('keeps a component analog value (type 3) as the UITD telemetry, in the catalogue unit', async () => {
    // One object: system 1 #1, component 18 (electrical-fire temperature) at 0x00000301,
    // analog type 3 (temperature, 0.1 °C) value 231 → 23.1 °C, time 10:20:31.
    const analog = hex('03 01 01 01 12 01 03 00 00 03 e7 00 1f 14 0a 01 0c 1a')
    uitd.send(
      uitdFrame({ serial: 3, command: 2, source: UITD, destination: CENTRE, time: LABEL, adu: analog }),
    )
    await uitd.next((f) => f.command === 3 && f.serial === 3)
    const series = await until(async () => {
      const r = must(
        await svc.api.get(`/api/devices/f7-panel/telemetry?field=temperature&to=${CONFIRM_AT + 60_000}`),
        200,
      )
      return r.points?.length > 0 ? r : undefined
    }, 'the temperature stored')
    expect(series.points.map((p: { value: number }) => p.value)).toEqual([23.1])
  })

  it('drops a bad checksum and bad end bytes, counted, and answers nothing', async () => {
    const bad = Buffer.from(EXAMPLE)
    bad[bad.length - 3] = 0x00
    const badEnd = Buffer.from(EXAMPLE)
    badEnd[badEnd.length - 2] = 0x00
    const before = uitd.received.length
    uitd.send(Buffer.concat([bad, badEnd]))
    await until(
      async () => (await metric('checksum')) === 1 && (await metric('end')) === 1,
      'the drops counted',
    )
    // A good heartbeat after them is still answered, and it is the only answer.
    uitd.send(uitdFrame({ serial: 8, command: 2, source: UITD, destination: CENTRE, time: LABEL }))
    await uitd.next((f) => f.command === 3 && f.serial === 8)
    expect(uitd.received.slice(before).map((f) => f.serial)).toEqual([8])
  })

  it('denies a frame from an unregistered address, counts it and closes the connection', async () => {
    const stranger = await connectUitd('127.0.0.1', port())
    stranger.send(
      uitdFrame({ serial: 1, command: 2, source: '00000000beef', destination: CENTRE, time: LABEL }),
    )
    const deny = await stranger.next((f) => f.command === 6)
    expect(deny.destination).toBe('00000000beef')
    await stranger.closed
    expect(await metric('unknown_address')).toBe(1)
    expect(stranger.received.some((f) => f.command === 3 || f.command === 1)).toBe(false)
  })

  it('sets the UITD clock again every day it stays connected (beating every hour)', async () => {
    must(
      await svc.api.post('/api/devices', {
        id: 'f7-panel-slow',
        kind: 'uitd',
        building: 'factory-7',
        address: '000000654321',
        heartbeatS: 3600,
      }),
      201,
    )
    const slow = await connectUitd('127.0.0.1', port())
    const beat = async (serial: number) => {
      slow.send(uitdFrame({ serial, command: 2, source: '000000654321', destination: CENTRE, time: LABEL }))
      await slow.next((f) => f.command === 3 && f.serial === serial)
    }
    await beat(1)
    await slow.next((f) => f.command === 1)
    // A day in steps of 3 h, within its idle allowance (3 × 3600 s + 10 s), a beat after each.
    for (let h = 1; h <= 8; h++) {
      clock.advance(3 * 3600_000)
      await beat(1 + h)
    }
    const syncs = slow.received.filter((f) => f.command === 1)
    expect(syncs).toHaveLength(2)
    expect(syncs[1]!.adu.toString('hex')).toBe(
      Buffer.from([0x5a, 0x01, 31, 20, 10, 2, 12, 26]).toString('hex'),
    )
    slow.close()
    // The day closed the idle first connection; the panel connects again, as a UITD does.
    await uitd.closed
    uitd = await connectUitd('127.0.0.1', port())
    uitd.send(uitdFrame({ serial: 20, command: 2, source: UITD, destination: CENTRE, time: LABEL }))
    await uitd.next((f) => f.command === 3 && f.serial === 20)
  })

  it('declares the UITD offline after 3 × heartbeatS without a frame', async () => {
    expect(must(await svc.api.get('/api/devices/f7-panel'), 200).online).toBe(true)
    clock.advance(3 * 30_000 + 1000)
    await until(async () => must(await svc.api.get('/api/devices/f7-panel'), 200).online === false, 'offline')
    // A heartbeat brings it back.
    uitd.send(uitdFrame({ serial: 9, command: 2, source: UITD, destination: CENTRE, time: LABEL }))
    await uitd.next((f) => f.command === 3 && f.serial === 9)
    expect(must(await svc.api.get('/api/devices/f7-panel'), 200).online).toBe(true)
  })

  it('counts an oversize ADU as a bad length', async () => {
    const head = hex('40 40 09 00 01 01 00 00 00 01 0c 1a 56 34 12 00 00 00 01 00 00 00 00 00 01 04 02')
    uitd.send(head)
    await until(async () => (await metric('length')) === 1, 'the oversize frame counted')
  })

  it('closes a connection that says nothing for 60 s, and a known UITD’s after 3 heartbeats and 10 s', async () => {
    const silent = await connectUitd('127.0.0.1', port())
    const other = await connectUitd('127.0.0.1', port())
    other.send(uitdFrame({ serial: 1, command: 2, source: UITD, destination: CENTRE, time: LABEL }))
    await other.next((f) => f.command === 3 && f.serial === 1)
    clock.advance(60_000)
    await silent.closed
    expect(other.received.length).toBeGreaterThan(0)
    clock.advance(3 * 30_000 + 10_000 - 60_000 - 1)
    let closed = false
    void other.closed.then(() => {
      closed = true
    })
    await new Promise((r) => setImmediate(r))
    expect(closed).toBe(false)
    clock.advance(1)
    await other.closed
  })
})
