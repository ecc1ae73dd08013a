/**
 * The live stream stage. GET /api/stream: Server-Sent Events of what happens, as it happens: incidents (opened,
 * status, devices joining), device signals (alarm, warning, supervisory, trouble), device
 * state (online/offline, battery), offers and replies, linked alerts and escalations, each filtered by the
 * caller's scope. Every event has an id; a client that reconnects with Last-Event-ID gets
 * what it missed from a bounded history. A client that stops reading is cut off rather than allowed to grow memory.
 */
import type { ServerResponse } from 'node:http'
import { Type } from 'typebox'
import { incidentView, timelineEntryView } from '../alarms/index.ts'
import { type ApiInstance, callerOf, canSee, errors, iso } from '../api/kit.ts'
import { dutyCheckView } from '../duty/index.ts'
import type { EventBus } from '../events/index.ts'
import { workOrderView } from '../maintenance/index.ts'
import type { Place, Registry } from '../registry/index.ts'
import type { Logger } from '../shared/index.ts'

export interface StreamDeps {
  events: EventBus
  registry: Pick<Registry, 'device'>
  logger: Logger
  /** Events kept for Last-Event-ID replay. */
  history?: number
  /** Bytes a client may leave unread before it is cut off. */
  maxBufferedBytes?: number
  heartbeatMs?: number
}

export const STREAM_EVENT_TYPES = [
  'incident',
  'signal',
  'device',
  'offer',
  'reply',
  'linkage',
  'escalation',
  'work_order',
  'test',
  'duty_check',
  'duty_check_missed',
  'coverage',
] as const
type StreamEventType = (typeof STREAM_EVENT_TYPES)[number]

interface StreamEvent {
  id: number
  type: StreamEventType
  place: Place
  data: string
  /** Only these officers (and the administrator) get it; everyone in scope without it. */
  officers?: readonly string[]
}

export interface Stream {
  clients(): number
  close(): void
}

/** Incidents as they change: a transition (with its timeline entry) or their handling clocks. */
function streamIncidents(
  events: EventBus,
  owner: object,
  publish: (type: StreamEventType, place: Place, payload: unknown) => void,
): void {
  events.on(owner, 'incident', (e) => {
    publish('incident', e.incident, {
      change: e.change,
      incident: incidentView(e.incident),
      entry: timelineEntryView(e.entry),
    })
  })
  events.on(owner, 'incident.clocks', (e) => {
    publish('incident', e.incident, { change: 'clock', incident: incidentView(e.incident) })
  })
}

/**
 * The monitoring centre's daily work on the stream: work orders opened, moved and escalated,
 * and test signals (a device in test mode, or a device's own `test` event).
 */
function streamMaintenance(
  events: EventBus,
  owner: object,
  publish: (type: StreamEventType, place: Place, payload: unknown) => void,
): void {
  events.on(owner, 'work_order', (e) => {
    publish('work_order', e.order, {
      change: e.change,
      order: workOrderView(e.order, e.entry.at),
      entry: { ...e.entry, at: iso(e.entry.at) },
      ...(e.audience !== undefined ? { audience: e.audience, officers: e.officers ?? [] } : {}),
    })
  })
  events.on(owner, 'test.signal', (s) => {
    publish('test', s, { ...s, signal: s.condition, at: iso(s.at) })
  })
  events.on(owner, 'device.event', (e) => {
    if (e.type !== 'test') return
    const { device, kind, building, community, street } = e
    publish('test', e, { device, kind, building, community, street, signal: 'test', at: iso(e.receivedAt) })
  })
}

/**
 * Duty checks: `duty_check` (sent, answered, missed, a panel's answer) to the checked
 * officers, `duty_check_missed` to the officers one level up; the administrator gets both.
 */
function streamDuty(
  events: EventBus,
  owner: object,
  publish: (type: StreamEventType, place: Place, payload: unknown, officers?: readonly string[]) => void,
): void {
  events.on(owner, 'duty.check', (e) => {
    const place = { community: e.check.community ?? '', street: e.check.street ?? '' }
    const payload = { change: e.change, check: dutyCheckView(e.check), at: iso(e.at) }
    publish('duty_check', place, payload, e.officers)
    if (e.change === 'missed') publish('duty_check_missed', place, payload, e.check.escalatedTo ?? [])
  })
}

/** Device state (online/offline, battery), placed where the registry has the device. */
function streamDevices(
  deps: Pick<StreamDeps, 'events' | 'registry'>,
  owner: object,
  publish: (type: StreamEventType, place: Place, payload: unknown) => void,
): void {
  deps.events.on(owner, 'device.state', (s) => {
    const d = deps.registry.device(s.device)
    if (d === undefined) return
    publish('device', d, {
      device: s.device,
      online: s.online,
      ...(s.cause !== undefined ? { cause: s.cause } : {}),
      ...(s.since !== undefined ? { since: iso(s.since) } : {}),
      ...(s.lastSeen !== undefined ? { lastSeen: iso(s.lastSeen) } : {}),
      ...(s.battery !== undefined ? { battery: s.battery } : {}),
      building: d.building,
      community: d.community,
      street: d.street,
    })
  })
}

/** Dispatch on the stream: offers, replies, the circle widened, and coverage warnings. */
function streamDispatch(
  events: EventBus,
  owner: object,
  publish: (type: StreamEventType, place: Place, payload: unknown) => void,
): void {
  events.on(owner, 'dispatch.offer', (e) => {
    publish('offer', e, {
      change: e.change,
      incident: e.offer.incident,
      responder: e.offer.responder,
      state: e.offer.state,
      eta_s: Math.round(e.offer.eta_s * 10) / 10,
      distance_m: Math.round(e.offer.distance_m * 10) / 10,
      at: iso(e.at),
    })
  })
  events.on(owner, 'dispatch.reply', (e) => {
    publish('reply', e, {
      incident: e.offer.incident,
      responder: e.offer.responder,
      answer: e.answer,
      state: e.offer.state,
      actor: e.actor,
      at: iso(e.at),
    })
  })
  events.on(owner, 'dispatch.escalation', (e) => {
    publish('escalation', e, { ...e, kind: 'circle_widened', at: iso(e.at) })
  })
  events.on(owner, 'dispatch.coverage', (e) => {
    publish('coverage', e, { ...e, at: iso(e.at) })
  })
}

export function registerStreamRoute(api: ApiInstance, deps: StreamDeps): Stream {
  const historySize = deps.history ?? 2048
  const maxBuffered = deps.maxBufferedBytes ?? 4 * 1024 * 1024
  const history: StreamEvent[] = []
  let nextId = 1
  /** The stream's listeners on the bus, removed at close(). */
  const owner = { stage: 'stream' }
  const clients = new Set<{
    res: ServerResponse
    sees: (p: Place) => boolean
    meant: (officers: readonly string[] | undefined) => boolean
    wants: Set<StreamEventType>
  }>()

  function publish(
    type: StreamEvent['type'],
    place: Place,
    payload: unknown,
    officers?: readonly string[],
  ): void {
    const e: StreamEvent = {
      id: nextId++,
      type,
      place,
      data: JSON.stringify(payload),
      ...(officers !== undefined ? { officers } : {}),
    }
    history.push(e)
    if (history.length > historySize) history.shift()
    if (clients.size === 0) return
    const frame = `id: ${e.id}\nevent: ${e.type}\ndata: ${e.data}\n\n`
    for (const c of clients) {
      if (!c.wants.has(type) || !c.sees(place) || !c.meant(e.officers)) continue
      if (c.res.writableLength > maxBuffered) {
        deps.logger.warn('SSE client is not reading; closing its stream')
        c.res.destroy()
        clients.delete(c)
        continue
      }
      c.res.write(frame)
    }
  }

  streamIncidents(deps.events, owner, publish)
  deps.events.on(owner, 'signal', (s) => {
    publish('signal', s, { ...s, at: iso(s.at) })
  })
  deps.events.on(owner, 'linkage.notification', (n) => {
    publish('linkage', n.place, { ...n, at: iso(n.at) })
  })
  deps.events.on(owner, 'linkage.escalation', (e) => {
    publish('escalation', e, { ...e, at: iso(e.at) })
  })
  streamDispatch(deps.events, owner, publish)
  streamMaintenance(deps.events, owner, publish)
  streamDuty(deps.events, owner, publish)
  streamDevices(deps, owner, publish)

  const heartbeat = setInterval(() => {
    for (const c of clients) c.res.write(': keep-alive\n\n')
  }, deps.heartbeatMs ?? 15_000)
  heartbeat.unref()

  api.get(
    '/stream',
    {
      config: { role: 'officer', queryToken: true },
      schema: {
        tags: ['stream'],
        summary:
          'Server-Sent Events: `incident`, `signal`, `device`, `offer`, `reply`, `linkage`, `escalation`, `work_order`, `test`, `coverage`, `duty_check` (to the checked officers) and `duty_check_missed` (to the officers one level up) events in the caller’s scope. Browsers may pass the token as ?access_token= (EventSource cannot set headers). Reconnect with Last-Event-ID to get missed events.',
        querystring: Type.Object({
          access_token: Type.Optional(Type.String({ maxLength: 512 })),
          events: Type.Optional(
            Type.String({
              pattern: `^(${STREAM_EVENT_TYPES.join('|')})(,(${STREAM_EVENT_TYPES.join('|')}))*$`,
              description:
                'only these event types, comma-separated (default all); e.g. a console that shows no live device state leaves out `device`, the busiest',
            }),
          ),
        }),
        response: { ...errors(401, 403) },
      },
    },
    (request, reply) => {
      const caller = callerOf(request)
      const sees = (p: Place) => canSee(caller, p)
      const meant = (officers: readonly string[] | undefined) =>
        officers === undefined || caller.role === 'administrator' || officers.includes(caller.officer.id)
      const wants = new Set<StreamEventType>(
        (request.query.events?.split(',') as StreamEventType[] | undefined) ?? STREAM_EVENT_TYPES,
      )
      const lastId = Number(request.headers['last-event-id'])
      reply.hijack()
      const res = reply.raw
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      })
      res.write('retry: 2000\n\n')
      if (Number.isInteger(lastId) && lastId >= 0) {
        for (const e of history) {
          if (e.id > lastId && wants.has(e.type) && sees(e.place) && meant(e.officers))
            res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${e.data}\n\n`)
        }
      }
      const client = { res, sees, meant, wants }
      clients.add(client)
      const done = () => clients.delete(client)
      request.raw.on('close', done)
      res.on('error', done)
    },
  )

  return {
    clients: () => clients.size,
    close() {
      clearInterval(heartbeat)
      deps.events.removeListeners(owner)
      for (const c of clients) c.res.end()
      clients.clear()
    },
  }
}
