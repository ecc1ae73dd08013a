/**
 * A building's scheduled maintenance windows over HTTP (docs/PROTOCOL.md §The monitoring
 * centre's daily work): `POST/GET /api/buildings/{id}/maintenance-windows`, `DELETE
 * …/{windowId}`, by the administrator or an officer in scope (outside it: the very 404 a missing
 * building gets, as test mode answers).
 */
import { type Static, Type } from 'typebox'
import { type ApiInstance, assertInScope, callerOf, errors, IsoTime, iso } from '../api/kit.ts'
import type { Building, Caller, Registry } from '../registry/index.ts'
import { invalidInput, notRegistered } from '../shared/index.ts'
import type { Maintenance } from './stage.ts'
import { type MaintenanceWindow, nextSpan, openSpan, WINDOW_MAX_MINUTES } from './windows.ts'

const WindowIn = Type.Object(
  {
    weekday: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 7, description: 'weekly: 1 = Monday … 7 = Sunday' }),
    ),
    dayOfMonth: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 31, description: 'monthly: 1–31 (a shorter month: its last day)' }),
    ),
    start: Type.String({
      pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$',
      description: 'local HH:MM in FC_TIME_ZONE',
    }),
    minutes: Type.Integer({
      minimum: 1,
      maximum: WINDOW_MAX_MINUTES,
      description: `1-${WINDOW_MAX_MINUTES}`,
    }),
    devices: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
        minItems: 1,
        maxItems: 1000,
        description: 'only these devices of the building (default: all of them)',
      }),
    ),
  },
  { additionalProperties: false },
)

const SpanOut = Type.Object({ from: IsoTime, until: IsoTime })

const WindowOut = Type.Object({
  id: Type.String(),
  building: Type.String(),
  weekday: Type.Optional(Type.Integer()),
  dayOfMonth: Type.Optional(Type.Integer()),
  start: Type.String(),
  minutes: Type.Integer(),
  devices: Type.Optional(Type.Array(Type.String())),
  timeZone: Type.String({ description: 'FC_TIME_ZONE, the zone of `start`' }),
  open: Type.Boolean({ description: 'the window is open now: its devices are in test mode' }),
  next: Type.Optional(SpanOut),
  created: IsoTime,
  actor: Type.String(),
})

const WindowParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  windowId: Type.String({ minLength: 1, maxLength: 64 }),
})
const BuildingParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })

function windowView(w: MaintenanceWindow, now: number, timeZone: string): Static<typeof WindowOut> {
  const next = nextSpan(w, now, timeZone)
  return {
    id: w.id,
    building: w.building,
    ...(w.weekday !== undefined ? { weekday: w.weekday } : {}),
    ...(w.dayOfMonth !== undefined ? { dayOfMonth: w.dayOfMonth } : {}),
    start: w.start,
    minutes: w.minutes,
    ...(w.devices !== undefined ? { devices: w.devices } : {}),
    timeZone,
    open: openSpan(w, now, timeZone) !== undefined,
    ...(next !== undefined ? { next: { from: iso(next.from), until: iso(next.until) } } : {}),
    created: iso(w.createdAt),
    actor: w.actor,
  }
}

const actorOf = (caller: Caller) =>
  caller.role === 'administrator' ? 'administrator' : `officer:${caller.officer.id}`

export function registerWindowRoutes(
  api: ApiInstance,
  deps: {
    maintenance: Pick<Maintenance, 'windows'>
    registry: Pick<Registry, 'building' | 'device'>
    clock: { now(): number }
  },
): void {
  const { maintenance, registry, clock } = deps
  const { windows } = maintenance
  const buildingIn = (request: Parameters<typeof callerOf>[0], id: string): Building => {
    const b = registry.building(id)
    const missing = `building ${id} is not registered`
    if (b === undefined) throw notRegistered(missing)
    assertInScope(callerOf(request), b, missing)
    return b
  }
  const tags = ['maintenance']

  api.post(
    '/buildings/:id/maintenance-windows',
    {
      config: { role: 'officer' },
      schema: {
        tags,
        summary:
          'Schedule a weekly or monthly maintenance window: its devices are in test mode while it is open',
        params: BuildingParams,
        body: WindowIn,
        response: { 201: WindowOut, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const b = buildingIn(request, request.params.id)
      const body = request.body
      if ((body.weekday === undefined) === (body.dayOfMonth === undefined))
        throw invalidInput('body needs exactly one of weekday (weekly) and dayOfMonth (monthly)')
      for (const id of body.devices ?? [])
        if (registry.device(id)?.building !== b.id)
          throw invalidInput(`body.devices: ${id} is not a device of building ${b.id}`)
      const w = await windows.add(b, body, actorOf(callerOf(request)))
      return reply.status(201).send(windowView(w, clock.now(), windows.timeZone))
    },
  )

  api.get(
    '/buildings/:id/maintenance-windows',
    {
      config: { role: 'officer' },
      schema: {
        tags,
        summary: 'The building’s maintenance windows, each with whether it is open and its next occurrence',
        params: BuildingParams,
        response: { 200: Type.Object({ items: Type.Array(WindowOut) }), ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const b = buildingIn(request, request.params.id)
      const now = clock.now()
      return { items: windows.list(b.id).map((w) => windowView(w, now, windows.timeZone)) }
    },
  )

  api.delete(
    '/buildings/:id/maintenance-windows/:windowId',
    {
      config: { role: 'officer' },
      schema: {
        tags,
        summary: 'Cancel a maintenance window (an open one ends now)',
        params: WindowParams,
        response: { 200: Type.Object({ deleted: Type.Boolean() }), ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const b = buildingIn(request, request.params.id)
      if (!(await windows.remove(b, request.params.windowId)))
        throw notRegistered(`building ${b.id} has no maintenance window ${request.params.windowId}`)
      return { deleted: true }
    },
  )
}
