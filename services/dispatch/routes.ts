/**
 * The dispatch stage's geometry, wired: the responder index fed from the registry and the
 * event bus, `GET /api/responders/nearby`, and the fire circle as GeoJSON.
 *
 * The composition root builds it once and hands `routes` to createApi:
 *
 *     const geometry = createDispatchGeometry({ registry, events, clock, logger })
 *     createApi({ ..., routes: [geometry.routes] })
 *     // on stop: geometry.close()
 *
 * Where positions come from: the registry's registered location (at start, and when an
 * administrator changes it) and the apps' `rsp/{id}/location` (intake → 'responder.location').
 * The newest wins, by time: a registered location counts from when it was set, a live one
 * from its `ts`. A disabled responder leaves the index; an unknown one is ignored.
 */
import type { Static } from 'typebox'
import { Type } from 'typebox'
import { type ApiInstance, callerOf, canSee, errors, LonLat } from '../api/kit.ts'
import type { IntakeEvents, ResponderLocation } from '../intake/index.ts'
import type { Registry, RegistryEvents } from '../registry/index.ts'
import { RESPONDER_TYPES, type Responder, TRAVEL_MODES } from '../registry/index.ts'
import type { RoadNetwork } from '../roads/index.ts'
import type { EventBus, Logger } from '../shared/index.ts'
import { type Clock, iso } from '../shared/index.ts'
import { type FireCircle, fireCircle, roadCircle, tenth } from './circle.ts'
import { DEFAULT_POSITION_MAX_AGE_MS, registerCoverageRoute } from './coverage.ts'
import { type EtaParams, type EtaParamsInput, etaParams } from './eta.ts'
import {
  createResponderIndex,
  type NearbyResponder,
  type ResponderIndex,
  type ResponderInfo,
  validLonLat,
  type WithinFilter,
} from './responder-index.ts'
import { registerRoadsRoute } from './roads-route.ts'

// ---- feeding the index

export interface ResponderFeedDeps {
  registry: Pick<Registry, 'allResponders' | 'responder'>
  events: Pick<EventBus<RegistryEvents & IntakeEvents>, 'on' | 'removeListeners'>
  /** The time a registered location is set, when an administrator changes it. */
  clock: Pick<Clock, 'now'>
}

function infoOf(r: Responder, locationTs: number | undefined): ResponderInfo {
  const info: ResponderInfo = { id: r.id, name: r.name, type: r.type, mode: r.mode, onDuty: r.onDuty }
  if (r.building !== undefined) info.building = r.building
  if (r.community !== undefined) info.community = r.community
  if (r.street !== undefined) info.street = r.street
  if (r.location !== undefined && locationTs !== undefined) {
    info.location = { lon: r.location[0], lat: r.location[1], ts: locationTs }
  }
  return info
}

const keyOf = (r: Responder) => (r.location === undefined ? '' : `${r.location[0]},${r.location[1]}`)

/**
 * Load every enabled responder from the registry into `index`, then keep it current from
 * 'responder.changed' and 'responder.location'. Returns the function that stops listening.
 */
export function feedResponderIndex(index: ResponderIndex, deps: ResponderFeedDeps): () => void {
  const { registry, events, clock } = deps
  /** The registered location last applied per responder, to tell a changed one from a re-sent one. */
  const registered = new Map<string, string>()

  const start: ResponderInfo[] = []
  for (const r of registry.allResponders()) {
    if (!r.enabled) continue
    registered.set(r.id, keyOf(r))
    start.push(infoOf(r, r.createdAt))
  }
  index.upsertMany(start)

  const onChanged = (r: Responder) => {
    if (!r.enabled) {
      index.remove(r.id)
      registered.delete(r.id)
      return
    }
    const key = keyOf(r)
    const moved = registered.get(r.id) !== key
    registered.set(r.id, key)
    index.upsert(infoOf(r, moved ? clock.now() : undefined))
  }

  const onLocation = (loc: ResponderLocation) => {
    // The intake validated the payload; a bad one here is someone else's bug, not a position.
    if (!validLonLat(loc.lon, loc.lat)) return
    if (index.move(loc.responder, loc.lon, loc.lat, loc.ts) !== 'unknown') return
    // Not in the index: registered but its event missed, or unknown (then ignored).
    const r = registry.responder(loc.responder)
    if (r === undefined || !r.enabled) return
    onChanged(r)
    index.move(loc.responder, loc.lon, loc.lat, loc.ts)
  }

  const owner = { stage: 'dispatch', part: 'responder index' }
  events.on(owner, 'responder.changed', onChanged)
  events.on(owner, 'responder.location', onLocation)
  return () => events.removeListeners(owner)
}

// ---- GET /api/responders/nearby

/** Largest `within` accepted, seconds. */
export const MAX_WITHIN_S = 3600
export const DEFAULT_WITHIN_S = 300
const DEFAULT_NEARBY_LIMIT = 100

const NEARBY_STATUSES = ['on_duty', 'available', 'any'] as const

export const NearbyQuery = Type.Object({
  lon: Type.Number({ minimum: -180, maximum: 180, description: 'longitude, WGS84 degrees' }),
  lat: Type.Number({ minimum: -90, maximum: 90, description: 'latitude, WGS84 degrees' }),
  within: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: MAX_WITHIN_S,
      description: `the time limit in seconds: responders whose ETA ≤ within (default ${DEFAULT_WITHIN_S})`,
    }),
  ),
  status: Type.Optional(
    Type.Enum([...NEARBY_STATUSES], {
      description:
        'on_duty (default): on duty, busy or not; available: on duty and not busy on an incident; any: off duty too',
    }),
  ),
  type: Type.Optional(Type.Enum([...RESPONDER_TYPES])),
  mode: Type.Optional(Type.Enum([...TRAVEL_MODES])),
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 1000,
      description: `most responders listed (default ${DEFAULT_NEARBY_LIMIT})`,
    }),
  ),
})

export const NearbyItem = Type.Object({
  id: Type.String(),
  name: Type.Optional(Type.String()),
  type: Type.String(),
  mode: Type.String(),
  onDuty: Type.Boolean(),
  busy: Type.Boolean({ description: 'committed to an incident' }),
  incident: Type.Optional(Type.String({ description: 'the incident it is busy on' })),
  building: Type.Optional(Type.String()),
  community: Type.Optional(Type.String()),
  street: Type.Optional(Type.String()),
  location: LonLat,
  locatedAt: Type.String({ description: 'ISO 8601 time of the position' }),
  distance_m: Type.Number({ description: 'straight-line (great-circle) distance, metres, to 0.1' }),
  road_m: Type.Optional(
    Type.Number({ description: 'with a road network (FC_ROAD_NETWORK): the route’s length, metres, to 0.1' }),
  ),
  eta_s: Type.Number({
    description:
      'turnout + distance × circuity ÷ speed; with a road network turnout + the route’s time (docs/PROTOCOL.md §Roads), seconds, to 0.1',
  }),
})

export const NearbyOut = Type.Object({
  location: LonLat,
  within_s: Type.Number(),
  total: Type.Integer({ description: 'how many are inside (visible to the caller), over the limit too' }),
  items: Type.Array(NearbyItem, { description: 'nearest ETA first (ties by id)' }),
})

function nearbyItem(r: NearbyResponder): Static<typeof NearbyItem> {
  const out: Static<typeof NearbyItem> = {
    id: r.id,
    type: r.type,
    mode: r.mode,
    onDuty: r.onDuty,
    busy: r.busy,
    location: [r.lon, r.lat],
    locatedAt: iso(r.ts),
    distance_m: tenth(r.distance_m),
    eta_s: tenth(r.eta_s),
  }
  if (r.road_m !== undefined) out.road_m = tenth(r.road_m)
  if (r.name !== undefined) out.name = r.name
  if (r.incident !== undefined) out.incident = r.incident
  if (r.building !== undefined) out.building = r.building
  if (r.community !== undefined) out.community = r.community
  if (r.street !== undefined) out.street = r.street
  return out
}

export interface DispatchRoutesDeps {
  index: Pick<ResponderIndex, 'within'>
}

export interface DispatchGeometryRegistry
  extends Pick<Registry, 'allResponders' | 'responder' | 'community' | 'communities' | 'listBuildings'> {}

/**
 * `GET /nearby` under /api/responders, for officers and the administrator. An officer sees
 * only responders inside the scope, by where the registry places them (their building's
 * community, else their registered location's), as GET /api/responders/{id} does; a
 * responder the registry places nowhere is seen by the administrator and district officers.
 */
export function registerDispatchRoutes(api: ApiInstance, { index }: DispatchRoutesDeps): void {
  api.get(
    '/responders/nearby',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['dispatch'],
        summary: 'Responders whose ETA to a point is within a time limit, nearest ETA first',
        description:
          'ETA = turnout + great-circle distance × circuity ÷ speed, by travel mode; inside when ETA ≤ within (the boundary is inside).',
        querystring: NearbyQuery,
        response: { 200: NearbyOut, ...errors(400, 401) },
      },
    },
    async (request) => {
      const caller = callerOf(request)
      const q = request.query
      const withinS = q.within ?? DEFAULT_WITHIN_S
      const status = q.status ?? 'on_duty'
      const filter: WithinFilter = {}
      if (status !== 'any') filter.onDuty = true
      if (status === 'available') filter.busy = false
      if (q.type !== undefined) filter.types = [q.type]
      if (q.mode !== undefined) filter.modes = [q.mode]
      if (caller.role !== 'administrator') filter.where = (r) => canSee(caller, r)
      const inside = index.within(q.lon, q.lat, withinS, filter)
      return {
        location: [q.lon, q.lat],
        within_s: withinS,
        total: inside.length,
        items: inside.slice(0, q.limit ?? DEFAULT_NEARBY_LIMIT).map(nearbyItem),
      }
    },
  )
}

// ---- the whole, for the composition root

export interface DispatchGeometryDeps extends ResponderFeedDeps {
  registry: DispatchGeometryRegistry
  /** FC_POSITION_MAX_AGE_S in ms: a live position older than this is not used (nearby, offers, widening, coverage). */
  positionMaxAgeMs?: number
  /** Speeds, turnouts, circuity: docs/DOMAIN.md's defaults with these overrides. */
  params?: EtaParamsInput
  /** The road network (FC_ROAD_NETWORK), built with the same speeds: ETAs along roads. */
  roads?: RoadNetwork
  logger?: Logger
}

export interface DispatchGeometry {
  index: ResponderIndex
  params: EtaParams
  /** For createApi's `routes` option. */
  routes: (api: ApiInstance) => void
  /** The circle around a point for `limitS` seconds, with the responders inside (filtered). */
  circle(lon: number, lat: number, limitS: number, filter?: WithinFilter): FireCircle
  /** Stop listening to the event bus. */
  close(): void
}

export function createDispatchGeometry(deps: DispatchGeometryDeps): DispatchGeometry {
  const params = etaParams(deps.params)
  const index = createResponderIndex(params, deps.roads, {
    clock: deps.clock,
    maxAgeMs: deps.positionMaxAgeMs ?? DEFAULT_POSITION_MAX_AGE_MS,
  })
  const stop = feedResponderIndex(index, deps)
  deps.logger
    ?.child({ stage: 'dispatch' })
    .info({ responders: index.size, located: index.located }, 'responder index loaded')
  return {
    index,
    params,
    routes: (api) => {
      registerDispatchRoutes(api, { index })
      registerCoverageRoute(api, {
        index,
        registry: deps.registry,
        clock: deps.clock,
        ...(deps.positionMaxAgeMs !== undefined ? { positionMaxAgeMs: deps.positionMaxAgeMs } : {}),
      })
      registerRoadsRoute(api, deps.roads)
    },
    circle: (lon, lat, limitS, filter) =>
      deps.roads === undefined
        ? fireCircle(lon, lat, limitS, params, index.within(lon, lat, limitS, filter))
        : roadCircle(lon, lat, limitS, index, deps.roads, filter),
    close: stop,
  }
}
