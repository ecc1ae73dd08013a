/**
 * The registry over HTTP: communities, buildings, devices, responders, duty officers.
 * Writes need the administrator; reads are for the administrator or an officer, who sees
 * only what lies inside the scope (403 outside it).
 */
import { Type } from 'typebox'
import type { DeviceStates } from '../../liveness/index.ts'
import type { Registry } from '../../registry/index.ts'
import { notRegistered } from '../../shared/index.ts'
import { assertInScope, callerOf, canSee, scopedFilter } from '../auth.ts'
import {
  BuildingIn,
  BuildingOut,
  BuildingPage,
  BuildingQuery,
  CommunityCollection,
  CommunityFeature,
  CommunityOut,
  CommunityQuery,
  CommunitySummary,
  DeviceCreated,
  DeviceIn,
  DeviceOut,
  DevicePage,
  DevicePatchIn,
  DeviceQuery,
  errors,
  IdParams,
  Me,
  OfficerCreated,
  OfficerIn,
  OfficerOut,
  ResponderCreated,
  ResponderIn,
  ResponderOut,
  ResponderPage,
  ResponderPatchIn,
  ResponderQuery,
} from '../schemas.ts'
import type { ApiInstance } from '../types.ts'
import {
  buildingView,
  communityFeature,
  communitySummary,
  deviceView,
  officerView,
  responderView,
} from '../views.ts'

export interface RegistryRoutesDeps {
  registry: Registry
  deviceStates: DeviceStates
}

const DEFAULT_LIMIT = 100
/** GeoJSON boundaries of a community can be large; other bodies stay under Fastify's 1 MiB. */
const COMMUNITY_BODY_LIMIT = 8 * 1024 * 1024

const page = (q: { limit?: number | undefined; offset?: number | undefined }) => ({
  limit: q.limit ?? DEFAULT_LIMIT,
  offset: q.offset ?? 0,
})

export function registerRegistryRoutes(
  api: ApiInstance,
  { registry, deviceStates }: RegistryRoutesDeps,
): void {
  const streetOf = (community: string) => registry.community(community)?.street

  // ---- who am I

  api.get(
    '/me',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['access'],
        summary: 'The caller of this token: administrator, or an officer with a scope',
        response: { 200: Me, ...errors(401) },
      },
    },
    async (request) => {
      const caller = callerOf(request)
      return caller.role === 'administrator'
        ? { role: 'administrator' as const }
        : { role: 'officer' as const, officer: officerView(caller.officer) }
    },
  )

  // ---- communities

  api.post(
    '/communities',
    {
      bodyLimit: COMMUNITY_BODY_LIMIT,
      schema: {
        tags: ['registry'],
        summary: 'Register a community (a GeoJSON Feature, Polygon or MultiPolygon)',
        body: CommunityFeature,
        response: { 201: CommunitySummary, ...errors(400, 401, 403, 409, 413) },
      },
    },
    async (request, reply) => {
      const { properties, geometry } = request.body
      const c = registry.addCommunity({ ...properties, geometry })
      return reply.status(201).send(communitySummary(c, registry))
    },
  )

  api.get(
    '/communities',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['registry'],
        summary: 'Communities inside the caller’s scope, as a GeoJSON FeatureCollection',
        querystring: CommunityQuery,
        response: { 200: CommunityCollection, ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const caller = callerOf(request)
      const features = registry
        .communities()
        .filter((c) => request.query.street === undefined || c.street === request.query.street)
        .filter((c) => canSee(caller, { community: c.id, street: c.street }))
        .map((c) => communityFeature(c, registry))
      return { type: 'FeatureCollection' as const, features }
    },
  )

  api.get(
    '/communities/:id',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['registry'],
        summary: 'One community, as a GeoJSON Feature',
        params: IdParams,
        response: { 200: CommunityOut, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const c = registry.community(request.params.id)
      if (c === undefined) throw notRegistered(`community ${request.params.id} is not registered`)
      assertInScope(callerOf(request), { community: c.id, street: c.street }, `community ${c.id}`)
      return communityFeature(c, registry)
    },
  )

  // ---- buildings

  api.post(
    '/buildings',
    {
      schema: {
        tags: ['registry'],
        summary: 'Register a building; its community is found by point-in-polygon',
        body: BuildingIn,
        response: { 201: BuildingOut, ...errors(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const { id, name, location, responsible } = request.body
      const b = registry.addBuilding({
        id,
        name,
        location: [location[0] as number, location[1] as number],
        responsible,
      })
      return reply.status(201).send(buildingView(b))
    },
  )

  api.get(
    '/buildings',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['registry'],
        summary: 'Buildings inside the caller’s scope, paged',
        querystring: BuildingQuery,
        response: { 200: BuildingPage, ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const filter = scopedFilter(callerOf(request), request.query, streetOf)
      const p = registry.listBuildings(filter, page(request.query))
      return { ...p, items: p.items.map(buildingView) }
    },
  )

  api.get(
    '/buildings/:id',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['registry'],
        summary: 'One building',
        params: IdParams,
        response: { 200: BuildingOut, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const b = registry.building(request.params.id)
      if (b === undefined) throw notRegistered(`building ${request.params.id} is not registered`)
      assertInScope(callerOf(request), b, `building ${b.id}`)
      return buildingView(b)
    },
  )

  // ---- devices

  api.post(
    '/devices',
    {
      schema: {
        tags: ['registry'],
        summary: 'Register a device; its MQTT secret is in the answer, and only there',
        body: DeviceIn,
        response: { 201: DeviceCreated, ...errors(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const { location, ...rest } = request.body
      const { device, secret } = await registry.addDevice({
        ...rest,
        ...(location ? { location: [location[0] as number, location[1] as number] } : {}),
      })
      reply.header('cache-control', 'no-store')
      return reply.status(201).send({ id: device.id, secret, community: device.community })
    },
  )

  api.get(
    '/devices',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['registry'],
        summary: 'Devices inside the caller’s scope, paged, each with its live state',
        querystring: DeviceQuery,
        response: { 200: DevicePage, ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const caller = callerOf(request)
      const { building, kind, gateway } = request.query
      if (building !== undefined) {
        const b = registry.building(building)
        if (b) assertInScope(caller, b, `building ${b.id}`)
      }
      const filter = { ...scopedFilter(caller, request.query, streetOf), building, kind, gateway }
      const p = registry.listDevices(filter, page(request.query))
      return { ...p, items: p.items.map((d) => deviceView(d, deviceStates.get(d.id))) }
    },
  )

  api.get(
    '/devices/:id',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['registry'],
        summary: 'A device’s record and live state (online, last seen, battery, last rejection)',
        params: IdParams,
        response: { 200: DeviceOut, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const d = registry.device(request.params.id)
      if (d === undefined) throw notRegistered(`device ${request.params.id} is not registered`)
      assertInScope(callerOf(request), d, `device ${d.id}`)
      return deviceView(d, deviceStates.get(d.id))
    },
  )

  api.patch(
    '/devices/:id',
    {
      schema: {
        tags: ['registry'],
        summary: 'Change thresholds, floor, location, or enable / disable a device',
        description: 'Disabling closes the device’s MQTT connection and refuses it at CONNECT until enabled.',
        params: IdParams,
        body: DevicePatchIn,
        response: { 200: DeviceOut, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { location, ...rest } = request.body
      const d = registry.updateDevice(request.params.id, {
        ...rest,
        ...(location !== undefined
          ? { location: location === null ? null : [location[0] as number, location[1] as number] }
          : {}),
      })
      return deviceView(d, deviceStates.get(d.id))
    },
  )

  // ---- responders

  api.post(
    '/responders',
    {
      schema: {
        tags: ['registry'],
        summary: 'Register a responder; the app’s MQTT secret is in the answer, and only there',
        body: ResponderIn,
        response: { 201: ResponderCreated, ...errors(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const { location, ...rest } = request.body
      const { responder, secret } = await registry.addResponder({
        ...rest,
        ...(location ? { location: [location[0] as number, location[1] as number] } : {}),
      })
      reply.header('cache-control', 'no-store')
      return reply.status(201).send({ id: responder.id, secret })
    },
  )

  api.get(
    '/responders',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['registry'],
        summary: 'Responders inside the caller’s scope (by building, else registered location), paged',
        querystring: ResponderQuery,
        response: { 200: ResponderPage, ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const caller = callerOf(request)
      const { type, building } = request.query
      const filter = { ...scopedFilter(caller, request.query, streetOf), type, building }
      const p = registry.listResponders(filter, page(request.query))
      return { ...p, items: p.items.map(responderView) }
    },
  )

  api.get(
    '/responders/:id',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['registry'],
        summary: 'One responder',
        params: IdParams,
        response: { 200: ResponderOut, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const r = registry.responder(request.params.id)
      if (r === undefined) throw notRegistered(`responder ${request.params.id} is not registered`)
      assertInScope(callerOf(request), r, `responder ${r.id}`)
      return responderView(r)
    },
  )

  api.patch(
    '/responders/:id',
    {
      schema: {
        tags: ['registry'],
        summary: 'Change duty, travel mode, registered location, or enable / disable a responder',
        params: IdParams,
        body: ResponderPatchIn,
        response: { 200: ResponderOut, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { location, ...rest } = request.body
      const r = registry.updateResponder(request.params.id, {
        ...rest,
        ...(location !== undefined
          ? { location: location === null ? null : [location[0] as number, location[1] as number] }
          : {}),
      })
      return responderView(r)
    },
  )

  // ---- officers (administrator only)

  api.post(
    '/officers',
    {
      schema: {
        tags: ['access'],
        summary: 'Register a duty officer; the bearer token is in the answer, and only there',
        body: OfficerIn,
        response: { 201: OfficerCreated, ...errors(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const { officer, token } = await registry.addOfficer(request.body)
      reply.header('cache-control', 'no-store')
      return reply.status(201).send({ id: officer.id, token })
    },
  )

  api.get(
    '/officers',
    {
      schema: {
        tags: ['access'],
        summary: 'Every duty officer',
        response: { 200: Type.Array(OfficerOut), ...errors(401, 403) },
      },
    },
    async () => registry.officers().map(officerView),
  )

  api.get(
    '/officers/:id',
    {
      schema: {
        tags: ['access'],
        summary: 'One duty officer',
        params: IdParams,
        response: { 200: OfficerOut, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const o = registry.officer(request.params.id)
      if (o === undefined) throw notRegistered(`officer ${request.params.id} is not registered`)
      return officerView(o)
    },
  )
}
