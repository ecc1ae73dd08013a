/**
 * LoRaWAN and NB-IoT detectors through their network server: ChirpStack v4's HTTP integration
 * (JSON marshaler) posts each event to `POST /api/integrations/chirpstack?event=…` with the
 * integration's own token (FC_CHIRPSTACK_TOKENS, as an `Authorization: Bearer` header set in
 * the integration). A registered device carries the `devEui` ChirpStack names it by; what its
 * codec decoded becomes the kind's values and events (./mapping.ts), its battery the `status`
 * event's, its signal the best gateway's RSSI, all through the same intake and spool as MQTT:
 * the answer leaves once they are on disk, so a failed write is retried by ChirpStack.
 */
import { timingSafeEqual } from 'node:crypto'
import type { Registry as MetricsRegistry } from 'prom-client'
import client from 'prom-client'
import { type Static, Type } from 'typebox'
import type { ApiInstance } from '../api/kit.ts'
import { errors } from '../api/kit.ts'
import type { Intake, IntakeMessage } from '../intake/index.ts'
import type { Device, RegistryEvents } from '../registry/index.ts'
import {
  type Clock,
  type EventBus,
  invalidInput,
  type Logger,
  notAuthenticated,
  notRegistered,
} from '../shared/index.ts'
import { EMPTY_MAPPING, type FieldMapping, type MappingTable, mapWithTable } from './mapping.ts'

type EventType = 'alarm' | 'fault' | 'tamper' | 'test'

export {
  EVENT_FIELDS,
  type MappingTable,
  mapObject,
  parseMappingTable,
  VALUE_FIELDS,
} from './mapping.ts'

export interface ChirpstackDeps {
  intake: Pick<Intake, 'accept' | 'seen'>
  /** FC_CHIRPSTACK_MAPPING: codec fields per device and per device profile (./mapping.ts). */
  mapping?: MappingTable
  registry: { allDevices(): Iterable<Device>; device(id: string): Device | undefined }
  /** FC_CHIRPSTACK_TOKENS: integration name → its token. */
  tokens: ReadonlyMap<string, string>
  /** The registry's changes: a device registered or changed makes the DevEUI index stale. */
  events?: Pick<EventBus<RegistryEvents>, 'on'>
  clock: Clock
  logger: Logger
  metrics: MetricsRegistry
}

const EVENTS = ['up', 'status', 'join', 'ack', 'txack', 'log', 'location', 'integration'] as const
const Query = Type.Object({ event: Type.Enum([...EVENTS]) })
const Body = Type.Object(
  {
    deduplicationId: Type.Optional(Type.String({ maxLength: 64 })),
    time: Type.Optional(Type.String({ maxLength: 64 })),
    deviceInfo: Type.Object({
      devEui: Type.String({ pattern: '^[0-9a-fA-F]{16}$' }),
      deviceProfileId: Type.Optional(Type.String({ maxLength: 64 })),
      deviceProfileName: Type.Optional(Type.String({ maxLength: 200 })),
    }),
    acknowledged: Type.Optional(Type.Boolean()),
    object: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    rxInfo: Type.Optional(Type.Array(Type.Object({ rssi: Type.Optional(Type.Number()) }), { maxItems: 64 })),
    batteryLevel: Type.Optional(Type.Number()),
    batteryLevelUnavailable: Type.Optional(Type.Boolean()),
    externalPowerSource: Type.Optional(Type.Boolean()),
  },
  { description: 'a ChirpStack v4 integration event (JSON marshaler); other fields are ignored' },
)
const Accepted = Type.Object({ device: Type.String(), messages: Type.Integer(), duplicate: Type.Boolean() })

/** Deduplication ids remembered (ChirpStack retries; several integrations may share a device). */
const SEEN_IDS = 100_000
const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i

/** DevEUI → device, rebuilt when a device is registered or changed (or once a second for an unknown one). */
function devEuiIndex(deps: Pick<ChirpstackDeps, 'registry' | 'events' | 'clock'>) {
  const { registry } = deps
  let index = new Map<string, string>()
  let indexedAt = Number.NEGATIVE_INFINITY
  let stale = true
  deps.events?.on({ stage: 'lpwan' }, 'registry.changed', (c) => {
    if (c.entity === 'device') stale = true
  })
  return function deviceOf(eui: string): Device | undefined {
    let id = index.get(eui)
    if (id === undefined && (stale || deps.clock.now() - indexedAt >= 1000)) {
      stale = false
      index = new Map()
      for (const d of registry.allDevices()) if (d.devEui) index.set(d.devEui, d.id)
      indexedAt = deps.clock.now()
      id = index.get(eui)
    }
    const d = id === undefined ? undefined : registry.device(id)
    return d?.enabled && d.devEui === eui ? d : undefined
  }
}

export function createChirpstack(deps: ChirpstackDeps) {
  const { intake, logger } = deps
  const counter = new client.Counter({
    name: 'firecircle_chirpstack_events_total',
    help: 'ChirpStack integration events, by event type and result',
    labelNames: ['event', 'result'],
    registers: [deps.metrics],
  })
  const seenIds = new Set<string>()
  const remember = (id: string) => {
    seenIds.add(id)
    if (seenIds.size > SEEN_IDS) seenIds.delete(seenIds.values().next().value as string)
  }
  // Per device, the events its codec last said were on: a field going off restores them.
  const raised = new Map<string, Set<EventType>>()

  const deviceOf = devEuiIndex(deps)

  function integrationOf(header: string | undefined): string | undefined {
    const token = header === undefined ? undefined : BEARER.exec(header)?.[1]
    if (token === undefined) return undefined
    const given = Buffer.from(token)
    for (const [name, t] of deps.tokens) {
      const want = Buffer.from(t)
      if (want.length === given.length && timingSafeEqual(want, given)) return name
    }
    return undefined
  }

  const table = deps.mapping ?? EMPTY_MAPPING
  const mappingOf = (eui: string, info: Static<typeof Body>['deviceInfo']): FieldMapping | undefined =>
    table.devices.get(eui) ??
    (info.deviceProfileId === undefined ? undefined : table.profiles.get(info.deviceProfileId)) ??
    (info.deviceProfileName === undefined ? undefined : table.profiles.get(info.deviceProfileName))

  function messagesOf(event: string, d: Device, body: Static<typeof Body>): IntakeMessage[] {
    const parsed = body.time === undefined ? Number.NaN : Date.parse(body.time)
    const ts = Number.isFinite(parsed) ? { ts: parsed } : {}
    const msg = (channel: string, payload: unknown): IntakeMessage => ({
      topic: `dev/${d.id}/${channel}`,
      payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
      qos: 1,
      principal: d.id,
    })
    if (event === 'join') return [msg('status', 'online')]
    const values: Record<string, number> = {}
    const out: IntakeMessage[] = []
    if (event === 'status') {
      if (body.batteryLevel !== undefined && !body.batteryLevelUnavailable && !body.externalPowerSource)
        values['battery'] = body.batteryLevel
    } else {
      const m = mapWithTable(d.kind, body.object ?? {}, mappingOf(d.devEui!, body.deviceInfo))
      Object.assign(values, m.values)
      const rssi = Math.max(...(body.rxInfo ?? []).map((r) => r.rssi ?? Number.NEGATIVE_INFINITY))
      if (Number.isFinite(rssi)) values['rssi'] = rssi
      const was = raised.get(d.id) ?? new Set<EventType>()
      for (const type of m.on)
        if (!was.has(type)) out.push(msg('event', { ...ts, type, detail: `ChirpStack ${type}` }))
      const still = new Set([...was].filter((t) => !m.off.has(t)))
      for (const t of m.on) still.add(t)
      if ([...was].some((t) => m.off.has(t) && t !== 'test') && ![...still].some((t) => t !== 'test'))
        out.push(msg('event', { ...ts, type: 'restore', detail: 'ChirpStack: the detector reports normal' }))
      raised.set(d.id, still)
    }
    if (Object.keys(values).length > 0) out.unshift(msg('telemetry', { ...ts, values }))
    // Nothing to say but that it is there: seen, as a birth.
    if (out.length === 0) out.push(msg('status', 'online'))
    return out
  }

  return {
    routes(api: ApiInstance): void {
      api.post(
        '/integrations/chirpstack',
        {
          config: { role: 'integration' },
          schema: {
            tags: ['integrations'],
            summary: 'A ChirpStack v4 HTTP integration event (up, status, join, ack; others are ignored)',
            description:
              'Authorization: Bearer <the integration token of FC_CHIRPSTACK_TOKENS>. Answered once the readings and events are durably kept.',
            querystring: Query,
            body: Body,
            response: {
              200: Accepted,
              202: Type.Object({ ignored: Type.String() }),
              ...errors(400, 401, 404),
            },
          },
        },
        async (request, reply) => {
          const event = request.query.event
          const integration = integrationOf(request.headers.authorization)
          if (integration === undefined) {
            counter.inc({ event, result: 'unauthorized' })
            throw notAuthenticated(
              'a ChirpStack integration needs its token as Authorization: Bearer <token>',
            )
          }
          const body = request.body
          if (event !== 'up' && event !== 'status' && event !== 'join' && event !== 'ack') {
            counter.inc({ event, result: 'ignored' })
            return reply.status(202).send({ ignored: event })
          }
          const eui = body.deviceInfo.devEui.toLowerCase()
          const d = deviceOf(eui)
          if (d === undefined) {
            counter.inc({ event, result: 'unknown_device' })
            logger.warn({ devEui: eui, integration }, 'ChirpStack event for an unregistered devEui')
            throw notRegistered(`no enabled device has devEui ${eui}`)
          }
          const dedup = body.deduplicationId === undefined ? undefined : `${event}/${body.deduplicationId}`
          if (dedup !== undefined && seenIds.has(dedup)) {
            counter.inc({ event, result: 'duplicate' })
            return { device: d.id, messages: 0, duplicate: true }
          }
          if (body.object !== undefined && JSON.stringify(body.object).length > 16_384)
            throw invalidInput('object is larger than 16 KiB')
          // An ack (the device confirmed a downlink): heard from, nothing to keep.
          const messages = event === 'ack' ? [] : messagesOf(event, d, body)
          // Remembered before the write, so that a retry arriving meanwhile is not a second copy.
          if (dedup !== undefined) remember(dedup)
          try {
            if (event === 'ack') await intake.seen(d.id)
            await Promise.all(messages.map((m) => intake.accept(m)))
          } catch (err) {
            if (dedup !== undefined) seenIds.delete(dedup)
            throw err
          }
          counter.inc({ event, result: 'accepted' })
          return { device: d.id, messages: messages.length, duplicate: false }
        },
      )
    },
  }
}

/** FC_CHIRPSTACK_TOKENS as a map (validated by services/config). */
export type ChirpstackTokens = ReadonlyMap<string, string>
