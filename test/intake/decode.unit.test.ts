import { describe, expect, it } from 'vitest'
import { type DecodeContext, decodeMessage } from '../../services/intake/decode.ts'
import type { Device, Responder } from '../../services/registry/types.ts'

const NOW = Date.UTC(2026, 10, 29, 3, 0, 0)

const devices: Record<string, Device> = {
  s1: {
    id: 's1',
    kind: 'smoke',
    building: 'b1',
    community: 'c1',
    street: 'xixiang',
    enabled: true,
    createdAt: 0,
  },
  h1: {
    id: 'h1',
    kind: 'heat',
    building: 'b1',
    community: 'c1',
    street: 'xixiang',
    gateway: 'g1',
    enabled: true,
    createdAt: 0,
  },
  h2: {
    id: 'h2',
    kind: 'heat',
    building: 'b2',
    community: 'c1',
    street: 'xixiang',
    enabled: true,
    createdAt: 0,
  },
  g1: {
    id: 'g1',
    kind: 'gateway',
    building: 'b1',
    community: 'c1',
    street: 'xixiang',
    enabled: true,
    createdAt: 0,
  },
}
const responders: Record<string, Responder> = {
  r1: { id: 'r1', name: 'Li', type: 'grid_staff', mode: 'foot', onDuty: true, enabled: true, createdAt: 0 },
}

const ctx: DecodeContext = {
  device: (id) => devices[id],
  responder: (id) => responders[id],
  now: NOW,
  tsFutureMs: 600_000,
  tsPastMs: 7 * 24 * 3600_000,
  maxPayloadBytes: 64 * 1024,
}

const decode = (topic: string, payload: unknown) =>
  decodeMessage(
    topic,
    Buffer.isBuffer(payload)
      ? payload
      : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
    ctx,
  )

describe('telemetry', () => {
  it('accepts a reading with the device tags, its ts and seq', () => {
    const d = decode('dev/s1/telemetry', {
      ts: NOW - 1000,
      seq: 7,
      values: { obscuration: 3.2, battery: 88 },
    })
    expect(d).toEqual({
      type: 'telemetry',
      rejections: [],
      readings: [
        {
          device: 's1',
          kind: 'smoke',
          building: 'b1',
          community: 'c1',
          street: 'xixiang',
          ts: NOW - 1000,
          receivedAt: NOW,
          seq: 7,
          values: { obscuration: 3.2, battery: 88 },
        },
      ],
    })
  })

  it('uses the receive time when ts is absent', () => {
    const d = decode('dev/s1/telemetry', { values: { obscuration: 0.1 } })
    expect(d.type === 'telemetry' && d.readings[0]?.ts).toBe(NOW)
  })

  it.each([
    ['more than 10 minutes ahead', NOW + 600_001],
    ['more than 7 days behind', NOW - 7 * 24 * 3600_000 - 1],
    ['zero', 0],
    ['absurdly large', 1e300],
  ])('does not trust a ts %s: receive time is used and the reading flagged', (_why, ts) => {
    const d = decode('dev/s1/telemetry', { ts, values: { obscuration: 0.1 } })
    expect(d.type).toBe('telemetry')
    if (d.type !== 'telemetry') return
    expect(d.readings[0]?.ts).toBe(NOW)
    expect(d.readings[0]?.deviceTs).toBe(Math.min(ts, 8.64e15))
    expect(() => new Date(d.readings[0]!.deviceTs!).toISOString()).not.toThrow()
  })

  it('trusts a ts just inside the window', () => {
    const d = decode('dev/s1/telemetry', { ts: NOW + 600_000, values: { obscuration: 0.1 } })
    expect(d.type === 'telemetry' && d.readings[0]).toMatchObject({ ts: NOW + 600_000 })
    expect(d.type === 'telemetry' && d.readings[0]?.deviceTs).toBeUndefined()
  })

  it.each([
    ['not JSON', '{"values":', 'not_json', /not JSON/],
    ['an array', [1, 2], 'schema', /payload/],
    ['values missing', { ts: NOW }, 'schema', /values/],
    ['values not an object', { values: 5 }, 'schema', /values/],
    ['no values at all', { values: {} }, 'schema', /at least one value/],
    ['an unknown value name', { values: { smokiness: 1 } }, 'unknown_value', /smokiness/],
    ['a value of another kind', { values: { temperature: 20 } }, 'unknown_value', /temperature/],
    ['a string number', { values: { obscuration: '3' } }, 'schema', /obscuration.*number/],
    ['an impossible number', { values: { obscuration: 250 } }, 'out_of_range', /outside 0\.\.100/],
    ['a negative battery', { values: { obscuration: 1, battery: -3 } }, 'out_of_range', /battery/],
    ['ts as a string', { ts: '2026-01-01', values: { obscuration: 1 } }, 'schema', /ts/],
    ['a negative seq', { seq: -1, values: { obscuration: 1 } }, 'schema', /seq/],
    ['an unexpected field', { values: { obscuration: 1 }, extra: true }, 'schema', /extra/],
    ['null', null, 'schema', /payload/],
  ])('rejects %s, naming why', (_why, payload, reason, message) => {
    const d = decode('dev/s1/telemetry', payload)
    expect(d.type).toBe('rejected')
    if (d.type !== 'rejected') return
    expect(d.rejection.reason).toBe(reason)
    expect(d.rejection.message).toMatch(message)
    expect(d.rejection.device).toBe('s1')
  })

  it('rejects non-finite numbers hidden in JSON (1e999 parses as Infinity)', () => {
    const d = decode('dev/s1/telemetry', '{"values":{"obscuration":1e999}}')
    expect(d.type === 'rejected' && d.rejection.reason).toBe('not_finite')
  })

  it('rejects an oversize payload before parsing it', () => {
    const big = Buffer.alloc(64 * 1024 + 1, 0x20)
    const d = decode('dev/s1/telemetry', big)
    expect(d.type === 'rejected' && d.rejection).toMatchObject({ reason: 'oversize', device: 's1' })
  })

  it('rejects a device that is not registered', () => {
    const d = decode('dev/ghost/telemetry', { values: { obscuration: 1 } })
    expect(d.type === 'rejected' && d.rejection.reason).toBe('unknown_device')
  })
})

describe('gateway batches', () => {
  it('keeps the good readings and rejects the bad ones one by one', () => {
    const d = decode('gw/g1/telemetry', {
      readings: [
        { device: 'h1', ts: NOW - 5, values: { temperature: 24 } },
        { device: 'h2', values: { temperature: 24 } },
        { device: 'ghost', values: { temperature: 24 } },
        { device: 'h1', values: { temperature: 5000 } },
      ],
    })
    expect(d.type).toBe('telemetry')
    if (d.type !== 'telemetry') return
    expect(d.readings).toHaveLength(1)
    expect(d.readings[0]).toMatchObject({ device: 'h1', ts: NOW - 5, via: 'g1', values: { temperature: 24 } })
    expect(d.rejections.map((r) => r.reason)).toEqual(['not_on_gateway', 'unknown_device', 'out_of_range'])
    expect(d.rejections[0]?.message).toMatch(/readings\[1\].*not assigned to gateway "g1"/)
  })

  it('rejects a batch that is not a batch', () => {
    const d = decode('gw/g1/telemetry', { values: { temperature: 1 } })
    expect(d.type === 'rejected' && d.rejection).toMatchObject({ reason: 'schema', device: 'g1' })
  })
})

describe('events, status, acks, responders', () => {
  it('accepts a device event', () => {
    const d = decode('dev/s1/event', { type: 'fault', detail: 'chamber dirty' })
    expect(d.type === 'event' && d.event).toMatchObject({
      device: 's1',
      type: 'fault',
      detail: 'chamber dirty',
      ts: NOW,
    })
  })

  it('rejects an unknown event type', () => {
    const d = decode('dev/s1/event', { type: 'explode' })
    expect(d.type === 'rejected' && d.rejection.reason).toBe('schema')
  })

  it.each([
    ['online', 'online'],
    ['offline', 'offline'],
    ['"online"', 'online'],
  ])('reads status %s', (payload, status) => {
    const d = decode('dev/s1/status', payload)
    expect(d.type === 'status' && d.status).toBe(status)
  })

  it('rejects another status word', () => {
    const d = decode('dev/s1/status', 'sleeping')
    expect(d.type === 'rejected' && d.rejection.reason).toBe('bad_status')
  })

  it('reads command acknowledgements', () => {
    const d = decode('dev/s1/cmd/ack', { id: 'c-1', ok: true })
    expect(d.type === 'cmd_ack' && d.ack).toMatchObject({ device: 's1', id: 'c-1', ok: true })
  })

  it('reads a responder location and refuses coordinates out of range', () => {
    const ok = decode('rsp/r1/location', { lon: 113.85, lat: 22.6 })
    expect(ok.type === 'location' && ok.location).toMatchObject({
      responder: 'r1',
      lon: 113.85,
      lat: 22.6,
      ts: NOW,
    })
    const bad = decode('rsp/r1/location', { lon: 213.85, lat: 22.6 })
    expect(bad.type === 'rejected' && bad.rejection.message).toMatch(/lon/)
  })

  it('reads a responder reply', () => {
    const d = decode('rsp/r1/reply', { incident: 'i1', answer: 'accept' })
    expect(d.type === 'reply' && d.reply).toMatchObject({ responder: 'r1', incident: 'i1', answer: 'accept' })
    expect(decode('rsp/r1/reply', { incident: 'i1', answer: 'maybe' }).type).toBe('rejected')
  })

  it('reads a responder going on or off duty (rsp/{id}/duty)', () => {
    const d = decode('rsp/r1/duty', { onDuty: true })
    expect(d.type === 'duty' && d.duty).toEqual({ responder: 'r1', onDuty: true })
    expect(decode('rsp/r1/duty', { onDuty: 'yes' }).type).toBe('rejected')
    expect(decode('rsp/r1/duty', { onDuty: false, extra: 1 }).type).toBe('rejected')
  })

  it('rejects a channel that is not in the contract', () => {
    const d = decode('dev/s1/selfie', { a: 1 })
    expect(d.type === 'rejected' && d.rejection.message).toMatch(/not part of the contract/)
  })
})
