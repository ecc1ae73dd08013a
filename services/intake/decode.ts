/**
 * Decoding and validating what devices, gateways and responder apps publish, against the
 * contract ([docs/PROTOCOL.md §MQTT]) and the device catalogue. Pure: the topic, the payload, the
 * registry's view of the sender and the receive time in; a decoded message or a rejection
 * with a reason out.
 */
import { Type } from 'typebox'
import Compile from 'typebox/compile'
import { checkValue, EVENT_TYPES, type ValueName } from '../../devices/catalogue.ts'
import type { RejectionReason } from '../liveness/index.ts'
import type { Device, Responder } from '../registry/index.ts'
import type { DeviceEvent, DevicePlace, Reading } from './types.ts'

export interface DecodeContext {
  device(id: string): Device | undefined
  responder(id: string): Responder | undefined
  /** Receive time, ms. */
  now: number
  tsFutureMs: number
  tsPastMs: number
  maxPayloadBytes: number
}

export interface DecodeRejection {
  /** The device the rejection is recorded on, when known. */
  device?: string
  reason: RejectionReason
  message: string
}

export interface CommandAck {
  device: string
  id: string
  ok: boolean
  detail?: string
  receivedAt: number
}

export interface ResponderLocation {
  responder: string
  ts: number
  receivedAt: number
  lon: number
  lat: number
}

export interface ResponderReply {
  responder: string
  incident: string
  answer: 'accept' | 'decline' | 'en_route' | 'on_scene'
  receivedAt: number
}

export type Decoded =
  | { type: 'telemetry'; readings: Reading[]; rejections: DecodeRejection[] }
  | { type: 'event'; event: DeviceEvent }
  | { type: 'status'; device: string; status: 'online' | 'offline'; receivedAt: number }
  | { type: 'cmd_ack'; ack: CommandAck }
  | { type: 'location'; location: ResponderLocation }
  | { type: 'reply'; reply: ResponderReply }
  | { type: 'duty'; duty: { responder: string; onDuty: boolean } }
  | { type: 'rejected'; rejection: DecodeRejection }

const Ts = Type.Number({ description: 'ms since the epoch' })
const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
const Values = Type.Record(Type.String(), Type.Unknown())

const TelemetrySchema = Type.Object(
  { ts: Type.Optional(Ts), seq: Type.Optional(Seq), values: Values },
  { additionalProperties: false },
)
const EventSchema = Type.Object(
  {
    ts: Type.Optional(Ts),
    type: Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))),
    detail: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
)
const GatewaySchema = Type.Object(
  {
    readings: Type.Array(
      Type.Object(
        {
          device: Type.String({ minLength: 1 }),
          ts: Type.Optional(Ts),
          seq: Type.Optional(Seq),
          values: Values,
        },
        { additionalProperties: false },
      ),
      { maxItems: 10_000 },
    ),
  },
  { additionalProperties: false },
)
const AckSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 128 }),
    ok: Type.Boolean(),
    detail: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
)
const LocationSchema = Type.Object(
  {
    ts: Type.Optional(Ts),
    lon: Type.Number({ minimum: -180, maximum: 180 }),
    lat: Type.Number({ minimum: -90, maximum: 90 }),
  },
  { additionalProperties: false },
)
const ReplySchema = Type.Object(
  {
    incident: Type.String({ minLength: 1, maxLength: 128 }),
    answer: Type.Union([
      Type.Literal('accept'),
      Type.Literal('decline'),
      Type.Literal('en_route'),
      Type.Literal('on_scene'),
    ]),
  },
  { additionalProperties: false },
)

const DutySchema = Type.Object({ onDuty: Type.Boolean() }, { additionalProperties: false })

const telemetryCheck = Compile(TelemetrySchema)
const eventCheck = Compile(EventSchema)
const gatewayCheck = Compile(GatewaySchema)
const ackCheck = Compile(AckSchema)
const locationCheck = Compile(LocationSchema)
const replyCheck = Compile(ReplySchema)
const dutyCheck = Compile(DutySchema)

interface Checker {
  Check(v: unknown): boolean
  Errors(v: unknown): { instancePath: string; message: string; params?: unknown }[]
}

/** A short human reason from the first schema error, naming the field. */
function schemaReason(check: Checker, value: unknown): string {
  const errors = check.Errors(value)
  const specific =
    errors.find((e) => e.instancePath !== '' || !/schema is false/.test(e.message)) ?? errors[0]
  if (!specific) return 'does not match the contract'
  const where = specific.instancePath === '' ? 'payload' : specific.instancePath.slice(1).replaceAll('/', '.')
  const params = specific.params as { additionalProperties?: string[] } | undefined
  if (params?.additionalProperties?.length)
    return `${where}: unexpected field "${params.additionalProperties[0]}"`
  return `${where}: ${specific.message}`
}

function parseJson(payload: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(payload.toString('utf8')) }
  } catch {
    return { ok: false }
  }
}

const MAX_DATE_MS = 8.64e15

function place(d: Device): DevicePlace {
  return { device: d.id, kind: d.kind, building: d.building, community: d.community, street: d.street }
}

/** The time to record: the device's `ts` when within the trusted window, else receive time. */
function trustedTime(ts: number | undefined, ctx: DecodeContext): { ts: number; deviceTs?: number } {
  if (ts === undefined) return { ts: ctx.now }
  if (!Number.isFinite(ts) || ts > ctx.now + ctx.tsFutureMs || ts < ctx.now - ctx.tsPastMs) {
    // Kept as the device said it, within the range a Date can show (±8.64e15 ms).
    return { ts: ctx.now, deviceTs: Math.max(-MAX_DATE_MS, Math.min(MAX_DATE_MS, Math.trunc(ts))) }
  }
  return { ts: Math.trunc(ts) }
}

function valueRejection(device: Device, values: Record<string, unknown>): DecodeRejection | undefined {
  const names = Object.keys(values)
  if (names.length === 0)
    return { device: device.id, reason: 'schema', message: 'values: must name at least one value' }
  for (const name of names) {
    const why = checkValue(device.kind, name, values[name])
    if (why !== undefined) {
      const reason: RejectionReason =
        why.startsWith('unknown value') || why.includes('does not report')
          ? 'unknown_value'
          : why.includes('finite')
            ? 'not_finite'
            : why.includes('outside') || why.includes('whole number')
              ? 'out_of_range'
              : 'schema'
      return { device: device.id, reason, message: `values.${why}` }
    }
  }
  return undefined
}

function reading(
  device: Device,
  raw: { ts?: number; seq?: number; values: Record<string, unknown> },
  ctx: DecodeContext,
  via?: string,
): Reading {
  const t = trustedTime(raw.ts, ctx)
  // One object literal, not `{ ...place(device), … }`: on this path (every reading) V8's
  // object spread followed by added properties cost ~5 µs a reading (issue #8 profile).
  const r: Reading = {
    device: device.id,
    kind: device.kind,
    building: device.building,
    community: device.community,
    street: device.street,
    ts: t.ts,
    receivedAt: ctx.now,
    values: raw.values as Partial<Record<ValueName, number>>,
  }
  if (raw.seq !== undefined) r.seq = raw.seq
  if (t.deviceTs !== undefined) r.deviceTs = t.deviceTs
  if (via !== undefined) r.via = via
  return r
}

const reject = (reason: RejectionReason, message: string, device?: string): Decoded => ({
  type: 'rejected',
  rejection: device === undefined ? { reason, message } : { device, reason, message },
})

/**
 * Decode one message published by an authenticated principal on a topic the ACL allowed.
 * `topic` is split as `<root>/<id>/<channel>`.
 */
export function decodeMessage(topic: string, payload: Buffer, ctx: DecodeContext): Decoded {
  const first = topic.indexOf('/')
  const second = topic.indexOf('/', first + 1)
  const root = topic.slice(0, first)
  const id = topic.slice(first + 1, second)
  const channel = topic.slice(second + 1)
  const deviceId = root === 'dev' || root === 'gw' ? id : undefined

  if (payload.length > ctx.maxPayloadBytes) {
    return reject('oversize', `payload of ${payload.length} bytes exceeds ${ctx.maxPayloadBytes}`, deviceId)
  }

  if (root === 'dev' && channel === 'status') {
    const text = payload.toString('utf8').trim()
    const status =
      text === 'online' || text === '"online"'
        ? 'online'
        : text === 'offline' || text === '"offline"'
          ? 'offline'
          : undefined
    if (status === undefined) return reject('bad_status', 'status must be "online" or "offline"', id)
    return { type: 'status', device: id, status, receivedAt: ctx.now }
  }

  const parsed = parseJson(payload)
  if (!parsed.ok) return reject('not_json', 'payload is not JSON', deviceId ?? undefined)
  const body = parsed.value

  if (root === 'dev') {
    const device = ctx.device(id)
    if (device === undefined) return reject('unknown_device', `device "${id}" is not registered`)
    switch (channel) {
      case 'telemetry': {
        if (!telemetryCheck.Check(body)) return reject('schema', schemaReason(telemetryCheck, body), id)
        const raw = body as { ts?: number; seq?: number; values: Record<string, unknown> }
        const bad = valueRejection(device, raw.values)
        if (bad) return { type: 'rejected', rejection: bad }
        return { type: 'telemetry', readings: [reading(device, raw, ctx)], rejections: [] }
      }
      case 'event': {
        if (!eventCheck.Check(body)) return reject('schema', schemaReason(eventCheck, body), id)
        const raw = body as { ts?: number; type: DeviceEvent['type']; detail?: string }
        const t = trustedTime(raw.ts, ctx)
        const event: DeviceEvent = { ...place(device), ts: t.ts, receivedAt: ctx.now, type: raw.type }
        if (raw.detail !== undefined) event.detail = raw.detail
        if (t.deviceTs !== undefined) event.deviceTs = t.deviceTs
        return { type: 'event', event }
      }
      case 'cmd/ack': {
        if (!ackCheck.Check(body)) return reject('schema', schemaReason(ackCheck, body), id)
        const raw = body as { id: string; ok: boolean; detail?: string }
        const ack: CommandAck = { device: id, id: raw.id, ok: raw.ok, receivedAt: ctx.now }
        if (raw.detail !== undefined) ack.detail = raw.detail
        return { type: 'cmd_ack', ack }
      }
    }
    return reject('schema', `topic channel "${channel}" is not part of the contract`, id)
  }

  if (root === 'gw') {
    if (channel !== 'telemetry')
      return reject('schema', `topic channel "${channel}" is not part of the contract`, id)
    if (!gatewayCheck.Check(body)) return reject('schema', schemaReason(gatewayCheck, body), id)
    const batch = body as {
      readings: { device: string; ts?: number; seq?: number; values: Record<string, unknown> }[]
    }
    const readings: Reading[] = []
    const rejections: DecodeRejection[] = []
    for (const [i, raw] of batch.readings.entries()) {
      const device = ctx.device(raw.device)
      if (device === undefined) {
        rejections.push({
          device: id,
          reason: 'unknown_device',
          message: `readings[${i}]: device "${raw.device}" is not registered`,
        })
        continue
      }
      if (device.gateway !== id) {
        rejections.push({
          device: id,
          reason: 'not_on_gateway',
          message: `readings[${i}]: device "${raw.device}" is not assigned to gateway "${id}"`,
        })
        continue
      }
      const bad = valueRejection(device, raw.values)
      if (bad) {
        rejections.push({ ...bad, message: `readings[${i}].${bad.message}` })
        continue
      }
      readings.push(reading(device, raw, ctx, id))
    }
    return { type: 'telemetry', readings, rejections }
  }

  if (root === 'rsp') {
    if (ctx.responder(id) === undefined)
      return reject('unknown_device', `responder "${id}" is not registered`)
    if (channel === 'location') {
      if (!locationCheck.Check(body)) return reject('schema', schemaReason(locationCheck, body))
      const raw = body as { ts?: number; lon: number; lat: number }
      const t = trustedTime(raw.ts, ctx)
      return {
        type: 'location',
        location: { responder: id, ts: t.ts, receivedAt: ctx.now, lon: raw.lon, lat: raw.lat },
      }
    }
    if (channel === 'reply') {
      if (!replyCheck.Check(body)) return reject('schema', schemaReason(replyCheck, body))
      const raw = body as { incident: string; answer: ResponderReply['answer'] }
      return {
        type: 'reply',
        reply: { responder: id, incident: raw.incident, answer: raw.answer, receivedAt: ctx.now },
      }
    }
    if (channel === 'duty') {
      if (!dutyCheck.Check(body)) return reject('schema', schemaReason(dutyCheck, body))
      return { type: 'duty', duty: { responder: id, onDuty: (body as { onDuty: boolean }).onDuty } }
    }
    return reject('schema', `topic channel "${channel}" is not part of the contract`)
  }
  return reject('schema', `topic "${topic}" is not part of the contract`)
}
