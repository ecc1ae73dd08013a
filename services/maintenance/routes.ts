/**
 * The monitoring centre's daily work over HTTP (docs/PROTOCOL.md §The monitoring centre's daily
 * work): the work-order queue and the loop (assign, done, verify, reopen), a hazard with its
 * photo, and test mode for a device or a building. An officer sees and acts inside the scope
 * only (403 outside, as the incident routes do); a transition the lifecycle refuses is a 409.
 */
import { type Static, Type } from 'typebox'
import {
  type ApiInstance,
  assertInScope,
  callerOf,
  errors,
  IdParams,
  IsoTime,
  iso,
  PageOf,
  scopedFilter,
} from '../api/kit.ts'
import type { Building, Caller, Device, Registry } from '../registry/index.ts'
import { DomainError, invalidInput, notRegistered } from '../shared/index.ts'
import { isOverdue, WORK_ORDER_ACTIONS, type WorkOrderAction } from './lifecycle.ts'
import type { Photo } from './repository.ts'
import type { Maintenance } from './stage.ts'
import { TEST_MODE_MAX_MINUTES } from './test-mode.ts'
import { WORK_ORDER_KINDS, WORK_ORDER_STATUSES, type WorkOrder } from './types.ts'
import { registerWindowRoutes } from './window-routes.ts'

export interface MaintenanceRoutesDeps {
  maintenance: Pick<
    Maintenance,
    'report' | 'act' | 'get' | 'list' | 'photo' | 'testModes' | 'windows' | 'settings'
  >
  registry: Pick<Registry, 'community' | 'device' | 'building'>
  clock: { now(): number }
}

const EntryOut = Type.Object({
  at: IsoTime,
  status: Type.Enum([...WORK_ORDER_STATUSES]),
  actor: Type.String({ description: '`engine`, `device`, `administrator` or `officer:<id>`' }),
  note: Type.Optional(Type.String()),
})

export const WorkOrderOut = Type.Object({
  id: Type.String(),
  kind: Type.Enum([...WORK_ORDER_KINDS]),
  status: Type.Enum([...WORK_ORDER_STATUSES]),
  building: Type.String(),
  community: Type.String(),
  street: Type.String(),
  device: Type.Optional(Type.String()),
  condition: Type.Optional(Type.String({ description: 'the device condition that raised it' })),
  reason: Type.String(),
  opened: IsoTime,
  due: IsoTime,
  assignee: Type.Optional(Type.String()),
  overdue: Type.Boolean({ description: 'past due and neither done nor verified' }),
  escalations: Type.Integer({
    description: 'levels told since it went overdue: community, street, district',
  }),
  photo: Type.Optional(Type.String({ description: 'where the hazard photo is served' })),
  history: Type.Array(EntryOut),
})

export function workOrderView(o: WorkOrder, now: number): Static<typeof WorkOrderOut> {
  return {
    id: o.id,
    kind: o.kind,
    status: o.status,
    building: o.building,
    community: o.community,
    street: o.street,
    ...(o.device !== undefined ? { device: o.device } : {}),
    ...(o.condition !== undefined ? { condition: o.condition } : {}),
    reason: o.reason,
    opened: iso(o.openedAt),
    due: iso(o.due),
    ...(o.assignee !== undefined ? { assignee: o.assignee } : {}),
    overdue: isOverdue(o, now),
    escalations: o.escalations,
    ...(o.photoType !== undefined ? { photo: `/api/work-orders/${o.id}/photo` } : {}),
    history: o.history.map((e) => ({
      at: iso(e.at),
      status: e.status,
      actor: e.actor,
      ...(e.note !== undefined ? { note: e.note } : {}),
    })),
  }
}

const ListQuery = Type.Object({
  status: Type.Optional(Type.Enum([...WORK_ORDER_STATUSES])),
  kind: Type.Optional(Type.Enum([...WORK_ORDER_KINDS])),
  community: Type.Optional(Type.String({ maxLength: 64 })),
  street: Type.Optional(Type.String({ maxLength: 200 })),
  building: Type.Optional(Type.String({ maxLength: 64 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'default 100' })),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
})

const HazardIn = Type.Object(
  {
    kind: Type.Enum(['hazard'], { description: 'orders of the other kinds open by themselves' }),
    building: Type.String({ minLength: 1, maxLength: 64 }),
    reason: Type.String({
      minLength: 1,
      maxLength: 1000,
      description: 'what was found (blocked exit, overloaded wiring, …)',
    }),
    photo: Type.Optional(
      Type.String({ minLength: 1, description: 'JPEG, PNG or WebP, base64 (or a data: URL); size-limited' }),
    ),
  },
  { additionalProperties: false },
)

const Note = Type.Optional(Type.String({ maxLength: 1000 }))
const ActionBodies: Record<WorkOrderAction, ReturnType<typeof Type.Object>> = {
  assign: Type.Object(
    {
      assignee: Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'a maintenance party or an officer',
      }),
      note: Note,
    },
    { additionalProperties: false },
  ),
  done: Type.Object({ note: Note }, { additionalProperties: false }),
  verify: Type.Object({ note: Note }, { additionalProperties: false }),
  reopen: Type.Object({ note: Note }, { additionalProperties: false }),
}
/** A note is optional, and so is the body (none, or `null`, as the incident actions take). */
const optionalBody = (action: WorkOrderAction) =>
  action === 'assign' ? ActionBodies[action] : Type.Optional(Type.Union([ActionBodies[action], Type.Null()]))

const MAGIC: { type: string; test: (b: Buffer) => boolean }[] = [
  { type: 'image/jpeg', test: (b) => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  {
    type: 'image/png',
    test: (b) =>
      b.length > 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  },
  {
    type: 'image/webp',
    test: (b) =>
      b.length > 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP',
  },
]

/** The photo as sent: size-limited (413) and typed by its first bytes, not by what it claims (415). */
export function photoOf(text: string, maxBytes: number): Photo {
  const base64 = text.startsWith('data:') ? text.slice(text.indexOf(',') + 1) : text
  if (!/^[A-Za-z0-9+/\r\n]*={0,2}$/.test(base64)) throw invalidInput('body.photo is not base64')
  const data = Buffer.from(base64, 'base64')
  if (data.length > maxBytes)
    throw new DomainError('too_large', `body.photo is ${data.length} bytes; at most ${maxBytes} are accepted`)
  const type = MAGIC.find((m) => m.test(data))?.type
  if (type === undefined)
    throw new DomainError('unsupported_type', 'body.photo must be a JPEG, PNG or WebP image')
  return { type, data }
}

const actorOf = (caller: Caller) =>
  caller.role === 'administrator' ? 'administrator' : `officer:${caller.officer.id}`

export function registerMaintenanceRoutes(api: ApiInstance, deps: MaintenanceRoutesDeps): void {
  const { maintenance, registry, clock } = deps
  const streetOf = (community: string) => registry.community(community)?.street
  const inScope = async (request: Parameters<typeof callerOf>[0], id: string) => {
    const o = await maintenance.get(id)
    const missing = `work order ${id} does not exist`
    if (o === undefined) throw notRegistered(missing)
    assertInScope(callerOf(request), o, missing)
    return o
  }

  api.get(
    '/work-orders',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['maintenance'],
        summary: 'Work orders in the caller’s scope, overdue first, then by deadline',
        querystring: ListQuery,
        response: {
          200: PageOf(WorkOrderOut),
          ...errors(400, 401, 403),
        },
      },
    },
    async (request) => {
      const q = request.query
      const where = scopedFilter(callerOf(request), { community: q.community, street: q.street }, streetOf)
      const page = { limit: q.limit ?? 100, offset: q.offset ?? 0 }
      const { items, total } = await maintenance.list(
        {
          ...where,
          ...(q.status !== undefined ? { status: q.status } : {}),
          ...(q.kind !== undefined ? { kind: q.kind } : {}),
          ...(q.building !== undefined ? { building: q.building } : {}),
        },
        page,
      )
      const now = clock.now()
      const views = items.map((o) => workOrderView(o, now))
      views.sort((a, b) => Number(b.overdue) - Number(a.overdue) || a.due.localeCompare(b.due))
      return { items: views, total, ...page }
    },
  )

  api.get(
    '/work-orders/:id',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['maintenance'],
        summary: 'One work order with its history',
        params: IdParams,
        response: { 200: WorkOrderOut, ...errors(401, 403, 404) },
      },
    },
    async (request) => workOrderView(await inScope(request, request.params.id), clock.now()),
  )

  api.get(
    '/work-orders/:id/photo',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['maintenance'],
        summary: 'The hazard photo of a work order (image/jpeg, image/png or image/webp)',
        params: IdParams,
        response: { 200: Type.Unknown({ description: 'the image' }), ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await inScope(request, request.params.id)
      const p = await maintenance.photo(request.params.id)
      if (p === undefined) throw notRegistered(`work order ${request.params.id} has no photo`)
      return reply.header('content-type', p.type).header('x-content-type-options', 'nosniff').send(p.data)
    },
  )

  api.post(
    '/work-orders',
    {
      config: { role: 'officer' },
      // Room for the largest photo in base64 (4 bytes per 3) and the rest of the body.
      bodyLimit: Math.ceil((maintenance.settings.photoMaxBytes * 4) / 3) + 64 * 1024,
      schema: {
        tags: ['maintenance'],
        summary: 'Report a hazard (a grid inspector’s finding): a work order of kind hazard',
        body: HazardIn,
        response: { 201: WorkOrderOut, ...errors(400, 401, 403, 404, 413, 415) },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request)
      const b = registry.building(request.body.building)
      const missing = `building ${request.body.building} is not registered`
      if (b === undefined) throw notRegistered(missing)
      assertInScope(caller, b, missing)
      const photo =
        request.body.photo === undefined
          ? undefined
          : photoOf(request.body.photo, maintenance.settings.photoMaxBytes)
      const o = await maintenance.report(
        { building: b.id, reason: request.body.reason },
        actorOf(caller),
        photo,
      )
      return reply.status(201).send(workOrderView(o, clock.now()))
    },
  )

  for (const action of WORK_ORDER_ACTIONS) {
    api.post(
      `/work-orders/:id/${action}`,
      {
        config: { role: 'officer' },
        schema: {
          tags: ['maintenance'],
          summary: `The loop: ${action} (a transition the lifecycle refuses is a 409)`,
          params: IdParams,
          body: optionalBody(action),
          response: { 200: WorkOrderOut, ...errors(400, 401, 403, 404, 409) },
        },
      },
      async (request) => {
        const o = await inScope(request, request.params.id)
        const body = (request.body ?? {}) as { assignee?: string; note?: string }
        const next = await maintenance.act(o.id, action, actorOf(callerOf(request)), body)
        return workOrderView(next, clock.now())
      },
    )
  }

  registerTestModeRoutes(api, deps)
  registerWindowRoutes(api, deps)
}

const TestModeIn = Type.Object(
  {
    minutes: Type.Integer({
      minimum: 1,
      maximum: TEST_MODE_MAX_MINUTES,
      description: `1-${TEST_MODE_MAX_MINUTES}`,
    }),
  },
  { additionalProperties: false },
)

function registerTestModeRoutes(api: ApiInstance, { maintenance, registry }: MaintenanceRoutesDeps): void {
  const places: {
    path: 'devices' | 'buildings'
    find: (id: string) => { device: Device } | { building: Building }
  }[] = [
    {
      path: 'devices',
      find: (id) => {
        const device = registry.device(id)
        if (device === undefined) throw notRegistered(`device ${id} is not registered`)
        return { device }
      },
    },
    {
      path: 'buildings',
      find: (id) => {
        const building = registry.building(id)
        if (building === undefined) throw notRegistered(`building ${id} is not registered`)
        return { building }
      },
    },
  ]
  for (const { path, find } of places) {
    const what = path === 'devices' ? 'device' : 'building'
    const target = (request: Parameters<typeof callerOf>[0], id: string) => {
      const t = find(id)
      const place = 'device' in t ? t.device : t.building
      // The very message a missing one gets: nothing says it exists elsewhere (issue #12).
      assertInScope(callerOf(request), place, `${what} ${id} is not registered`)
      return t
    }
    api.post(
      `/${path}/:id/test-mode`,
      {
        config: { role: 'officer' },
        schema: {
          tags: ['maintenance'],
          summary: `Put a ${what} in test mode: its signals are recorded as tests and alarm no one, until it ends by itself`,
          params: IdParams,
          body: TestModeIn,
          response: { 200: Type.Object({ until: IsoTime }), ...errors(400, 401, 403, 404) },
        },
      },
      async (request) => {
        const m = await maintenance.testModes.set(
          target(request, request.params.id),
          request.body.minutes,
          actorOf(callerOf(request)),
        )
        return { until: iso(m.until) }
      },
    )
    api.delete(
      `/${path}/:id/test-mode`,
      {
        config: { role: 'officer' },
        schema: {
          tags: ['maintenance'],
          summary: `End a ${what}'s test mode early`,
          params: IdParams,
          response: {
            200: Type.Object({ ended: Type.Boolean({ description: 'false: it was not in test mode' }) }),
            ...errors(401, 403, 404),
          },
        },
      },
      async (request) => ({ ended: await maintenance.testModes.end(target(request, request.params.id)) }),
    )
  }
}
