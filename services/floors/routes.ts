/**
 * Floor plans over HTTP (docs/PROTOCOL.md §Floor plans): `GET /api/buildings/{id}/floors`, `PUT /
 * GET / DELETE /api/buildings/{id}/floors/{floor}/plan` (the image itself as the body), `PUT /
 * DELETE /api/devices/{id}/placement`. The administrator or an officer in scope (outside it: the
 * very 403 a missing building gets). A plan is served with the type its bytes were checked as,
 * `nosniff`, and a CSP under which an SVG runs nothing.
 */
import { type Static, Type } from 'typebox'
import { type ApiInstance, assertInScope, callerOf, errors, IsoTime, iso } from '../api/kit.ts'
import type { Building, Caller, Device, Registry } from '../registry/index.ts'
import { DomainError, notRegistered } from '../shared/index.ts'
import { planImageOf } from './image.ts'
import type { Floors, FloorView } from './stage.ts'
import { FLOOR_MAX, FLOOR_MIN, type FloorPlan, PLAN_TYPES, type Placement } from './types.ts'

export interface FloorsRoutesDeps {
  floors: Floors
  registry: Pick<Registry, 'building' | 'device'>
}

const Floor = Type.Integer({
  minimum: FLOOR_MIN,
  maximum: FLOOR_MAX,
  description: `${FLOOR_MIN}–${FLOOR_MAX}`,
})
const Fraction = Type.Number({ minimum: 0, maximum: 1 })
const BuildingParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })
const FloorParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), floor: Floor })

const PlanOut = Type.Object({
  type: Type.Enum([...PLAN_TYPES]),
  bytes: Type.Integer(),
  width: Type.Optional(Type.Integer({ description: 'pixels (PNG) or viewBox units (SVG), when known' })),
  height: Type.Optional(Type.Integer()),
  url: Type.String({ description: 'where the image is served' }),
  updated: IsoTime,
  actor: Type.String(),
})

const PlacedOut = Type.Object({ x: Fraction, y: Fraction, updated: IsoTime, actor: Type.String() })

const FloorDeviceOut = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  enabled: Type.Boolean(),
  placement: Type.Optional(PlacedOut),
})

const FloorOut = Type.Object({
  floor: Type.Integer(),
  plan: Type.Optional(PlanOut),
  devices: Type.Array(FloorDeviceOut),
})

const FloorsOut = Type.Object({
  building: Type.String(),
  floors: Type.Array(FloorOut, { description: 'every floor with a plan or a device, lowest first' }),
  unplaced: Type.Array(FloorDeviceOut, { description: 'devices with no floor yet' }),
  limits: Type.Object({ planBytes: Type.Integer(), plansPerBuilding: Type.Integer() }),
})

const PlacementIn = Type.Object(
  {
    floor: Floor,
    x: { ...Fraction, description: 'from the plan’s left edge (0) to its right edge (1)' },
    y: { ...Fraction, description: 'from the plan’s top edge (0) to its bottom edge (1)' },
  },
  { additionalProperties: false },
)

const PlacementOut = Type.Object({
  device: Type.String(),
  building: Type.String(),
  floor: Type.Integer(),
  x: Fraction,
  y: Fraction,
  updated: IsoTime,
  actor: Type.String(),
})

const PLAN_ROUTE = '/buildings/:id/floors/:floor/plan'

const planUrl = (building: string, floor: number) =>
  `/api/buildings/${encodeURIComponent(building)}/floors/${floor}/plan`

function planView(p: FloorPlan): Static<typeof PlanOut> {
  return {
    type: p.type,
    bytes: p.bytes,
    ...(p.width !== undefined && p.height !== undefined ? { width: p.width, height: p.height } : {}),
    url: planUrl(p.building, p.floor),
    updated: iso(p.updatedAt),
    actor: p.actor,
  }
}

function deviceView(d: Device, p?: Placement): Static<typeof FloorDeviceOut> {
  return {
    id: d.id,
    kind: d.kind,
    enabled: d.enabled,
    ...(p !== undefined ? { placement: { x: p.x, y: p.y, updated: iso(p.updatedAt), actor: p.actor } } : {}),
  }
}

function floorView(f: FloorView): Static<typeof FloorOut> {
  return {
    floor: f.floor,
    ...(f.plan !== undefined ? { plan: planView(f.plan) } : {}),
    devices: f.devices.map((d) => deviceView(d.device, d.placement)),
  }
}

const placementView = (p: Placement): Static<typeof PlacementOut> => ({
  device: p.device,
  building: p.building,
  floor: p.floor,
  x: p.x,
  y: p.y,
  updated: iso(p.updatedAt),
  actor: p.actor,
})

const actorOf = (caller: Caller) =>
  caller.role === 'administrator' ? 'administrator' : `officer:${caller.officer.id}`

/** A plan's image may be an SVG: nothing in it runs, loads or navigates. */
const PLAN_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"

export function registerFloorsRoutes(api: ApiInstance, deps: FloorsRoutesDeps): void {
  const { floors, registry } = deps
  type Request = Parameters<typeof callerOf>[0]
  const buildingIn = (request: Request, id: string): Building => {
    const b = registry.building(id)
    const missing = `building ${id} is not registered`
    if (b === undefined) throw notRegistered(missing)
    assertInScope(callerOf(request), b, missing)
    return b
  }
  const deviceIn = (request: Request, id: string): Device => {
    const d = registry.device(id)
    const missing = `device ${id} is not registered`
    if (d === undefined) throw notRegistered(missing)
    assertInScope(callerOf(request), d, missing)
    return d
  }
  // The plan is the body itself; its type is decided by its bytes (./image.ts), so every image
  // type a client may name arrives as a buffer (and application/json is refused there: 415).
  // Only the plan's route takes them: any other route answers such a body 415 as before, and
  // never validates a buffer against its JSON schema. The route's bodyLimit bounds the read.
  const planRoute = `${api.prefix}${PLAN_ROUTE}`
  for (const type of ['image/png', 'image/svg+xml', 'application/octet-stream'])
    if (!api.hasContentTypeParser(type))
      api.addContentTypeParser(type, { parseAs: 'buffer' }, (request, body, done) =>
        request.routeOptions.url === planRoute
          ? done(null, body)
          : done(new DomainError('unsupported_type', 'send the body as application/json')),
      )
  const tags = ['floors']

  api.get(
    '/buildings/:id/floors',
    {
      config: { role: 'officer' },
      schema: {
        tags,
        summary:
          'The building’s floors: each one’s plan (meta and URL) and its devices with their placements',
        params: BuildingParams,
        response: { 200: FloorsOut, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const b = buildingIn(request, request.params.id)
      const { floors: list, unplaced } = await floors.floorsOf(b)
      return {
        building: b.id,
        floors: list.map(floorView),
        unplaced: unplaced.map((d) => deviceView(d)),
        limits: { planBytes: floors.maxBytes, plansPerBuilding: floors.plansPerBuilding },
      }
    },
  )

  api.put(
    PLAN_ROUTE,
    {
      config: { role: 'officer' },
      bodyLimit: floors.maxBytes,
      schema: {
        tags,
        summary: 'Upload (or replace) a floor’s plan: the PNG or SVG itself as the body',
        description:
          'The type is decided by the bytes (a PNG signature, an SVG root element); an SVG with script, event handlers or a DOCTYPE is refused.',
        params: FloorParams,
        response: { 200: PlanOut, ...errors(400, 401, 403, 404, 409, 413, 415) },
      },
    },
    async (request) => {
      const b = buildingIn(request, request.params.id)
      const image = planImageOf(request.body, floors.maxBytes)
      return planView(await floors.putPlan(b, request.params.floor, image, actorOf(callerOf(request))))
    },
  )

  api.get(
    '/buildings/:id/floors/:floor/plan',
    {
      config: { role: 'officer' },
      schema: {
        tags,
        summary: 'A floor’s plan image (image/png or image/svg+xml)',
        params: FloorParams,
        response: { 200: Type.Unknown({ description: 'the image' }), ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const b = buildingIn(request, request.params.id)
      const p = await floors.plan(b.id, request.params.floor)
      if (p === undefined)
        throw notRegistered(`floor ${request.params.floor} of building ${b.id} has no plan`)
      return reply
        .header('content-type', p.type)
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', PLAN_CSP)
        .header('cache-control', 'private, no-cache')
        .send(p.data)
    },
  )

  api.delete(
    '/buildings/:id/floors/:floor/plan',
    {
      config: { role: 'officer' },
      schema: {
        tags,
        summary:
          'Delete a floor’s plan (its devices keep their floor; their placements show again with a new plan)',
        params: FloorParams,
        response: { 200: Type.Object({ deleted: Type.Boolean() }), ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const b = buildingIn(request, request.params.id)
      if (!(await floors.removePlan(b, request.params.floor)))
        throw notRegistered(`floor ${request.params.floor} of building ${b.id} has no plan`)
      return { deleted: true }
    },
  )

  registerPlacementRoutes(api, floors, deviceIn, tags)
}

/** `PUT / DELETE /api/devices/{id}/placement`: a device on its floor's plan. */
function registerPlacementRoutes(
  api: ApiInstance,
  floors: Floors,
  deviceIn: (request: Parameters<typeof callerOf>[0], id: string) => Device,
  tags: string[],
): void {
  api.put(
    '/devices/:id/placement',
    {
      config: { role: 'officer' },
      schema: {
        tags,
        summary:
          'Place a device on a floor’s plan (the floor must have a plan); the device’s floor becomes it',
        params: BuildingParams,
        body: PlacementIn,
        response: { 200: PlacementOut, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const d = deviceIn(request, request.params.id)
      return placementView(await floors.place(d, request.body, actorOf(callerOf(request))))
    },
  )

  api.delete(
    '/devices/:id/placement',
    {
      config: { role: 'officer' },
      schema: {
        tags,
        summary: 'Take a device off its floor’s plan (it keeps its floor)',
        params: BuildingParams,
        response: { 200: Type.Object({ deleted: Type.Boolean() }), ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const d = deviceIn(request, request.params.id)
      if (!(await floors.unplace(d))) throw notRegistered(`device ${d.id} is not placed on a plan`)
      return { deleted: true }
    },
  )
}
