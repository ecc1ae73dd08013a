/**
 * Coverage ([docs/PROTOCOL.md §Roads]; [docs/DOMAIN.md §The 5-minute circle on real roads]):
 * per community, the share of buildings that at least one available responder (on duty, not
 * busy, position fresh) reaches within 300 s, and the buildings no one does, as GeoJSON points.
 *
 * The planning view of the dispatch computation itself: a building is covered when the
 * circle's own search (`within`, along roads when there is a network, else the straight line)
 * finds an available responder for it. Computed when asked (its cost is measured in
 * bench/roads.ts); a position is fresh when it is the registered one (a station's, a post's)
 * or a live one younger than FC_POSITION_MAX_AGE_S (default 30 min, as Resgrid drops them).
 */
import { Type } from 'typebox'
import { type ApiInstance, callerOf, canSee, errors } from '../api/kit.ts'
import type { Building, OfficerScope, Registry } from '../registry/index.ts'
import { parseScope, TRAVEL_MODES, type TravelMode } from '../registry/index.ts'
import { type Arrivals, arrivals, type RoadNetwork, type Snap, type Source } from '../roads/index.ts'
import { type Clock, invalidInput, notRegistered, outOfScope } from '../shared/index.ts'
import { withinLimit } from './eta.ts'
import type { ResponderIndex, ResponderState } from './responder-index.ts'

/** The limit coverage is measured against: the first circle, 5 minutes. */
export const COVERAGE_LIMIT_S = 300
export const DEFAULT_POSITION_MAX_AGE_MS = 30 * 60 * 1000

export interface CoverageDeps {
  index: Pick<ResponderIndex, 'within' | 'responders' | 'params' | 'roads' | 'snapped'>
  registry: Pick<Registry, 'community' | 'communities' | 'listBuildings'>
  clock: Pick<Clock, 'now'>
  /** FC_POSITION_MAX_AGE_S in ms: a live position older than this is not used. */
  positionMaxAgeMs?: number
}

export interface CommunityCoverage {
  id: string
  buildings: number
  covered: number
  share: number
}

export interface Coverage {
  scope: string
  share: number
  communities: CommunityCoverage[]
  uncovered: {
    type: 'FeatureCollection'
    features: {
      type: 'Feature'
      geometry: { type: 'Point'; coordinates: [number, number] }
      properties: { id: string; name: string; community: string }
    }[]
  }
}

/** Every building of a community, page by page from the registry. */
async function buildingsOf(registry: CoverageDeps['registry'], community: string): Promise<Building[]> {
  const out: Building[] = []
  for (let offset = 0; ; ) {
    const page = await registry.listBuildings({ community }, { limit: 1000, offset })
    out.push(...page.items)
    offset += page.items.length
    if (page.items.length === 0 || offset >= page.total) return out
  }
}

/** The communities a scope covers (a community or street that does not exist: not registered). */
function communitiesOf(registry: CoverageDeps['registry'], scope: OfficerScope): string[] {
  if (scope.level === 'community') {
    if (registry.community(scope.community) === undefined) {
      throw notRegistered(`community ${scope.community} is not registered`)
    }
    return [scope.community]
  }
  const all = registry.communities()
  const ids = (scope.level === 'street' ? all.filter((c) => c.street === scope.street) : all).map((c) => c.id)
  if (scope.level === 'street' && ids.length === 0)
    throw notRegistered(`street ${scope.street} has no communities`)
  return ids.sort()
}

/** Buildings' snaps per network and mode (buildings do not move). */
const buildingSnaps = new WeakMap<RoadNetwork, Map<string, Snap | null>>()

function buildingSnap(roads: RoadNetwork, mode: TravelMode, b: Building): Snap | undefined {
  let held = buildingSnaps.get(roads)
  if (held === undefined) {
    held = new Map()
    buildingSnaps.set(roads, held)
  }
  const key = `${mode} ${b.location[0]} ${b.location[1]}`
  if (!held.has(key)) held.set(key, roads.snap(mode, b.location[0], b.location[1]) ?? null)
  return held.get(key) ?? undefined
}

/**
 * With a road network: one forward search per mode from every available responder at once
 * (roads' `arrivals`), then a building is covered when a mode arrives within the limit —
 * the same routes as the reverse search of `within`, three searches for any number of buildings.
 */
function roadCoverage(
  deps: CoverageDeps,
  roads: RoadNetwork,
  available: (r: ResponderState) => boolean,
): (b: Building) => boolean {
  const { index } = deps
  const byMode = new Map<TravelMode, Arrivals>()
  for (const mode of TRAVEL_MODES) {
    const m = index.params.modes[mode]
    const sources: Source[] = []
    for (const r of index.responders()) {
      if (r.mode !== mode || !r.located || !r.onDuty || r.busy || !available(r)) continue
      const snap = index.snapped(r.id)
      if (snap !== undefined) sources.push({ snap, startS: m.turnoutS + snap.stretchM / m.speedMps })
    }
    if (sources.length > 0) byMode.set(mode, arrivals(roads, mode, sources, COVERAGE_LIMIT_S))
  }
  return (b) => {
    for (const [mode, arr] of byMode) {
      const s = buildingSnap(roads, mode, b)
      if (s !== undefined && withinLimit(arr.at(s), COVERAGE_LIMIT_S)) return true
    }
    return false
  }
}

/** Whether an available responder reaches a building within 300 s, as things stand `now`. */
export function coverageTest(deps: CoverageDeps, now: number): (b: Building) => boolean {
  const { index } = deps
  const maxAge = deps.positionMaxAgeMs ?? DEFAULT_POSITION_MAX_AGE_MS
  const fresh = (r: ResponderState) => r.live !== true || r.ts >= now - maxAge
  return index.roads !== undefined
    ? roadCoverage(deps, index.roads, fresh)
    : (b: Building) =>
        index.within(b.location[0], b.location[1], COVERAGE_LIMIT_S, {
          onDuty: true,
          busy: false,
          liveSince: now - maxAge,
        }).length > 0
}

/** One community's coverage; its uncovered buildings pushed onto `uncovered` when given. */
export async function communityCoverage(
  registry: CoverageDeps['registry'],
  id: string,
  reached: (b: Building) => boolean,
  uncovered?: Coverage['uncovered']['features'],
): Promise<CommunityCoverage> {
  const list = await buildingsOf(registry, id)
  let here = 0
  for (const b of list) {
    if (reached(b)) here++
    else {
      uncovered?.push({
        type: 'Feature',
        geometry: { type: 'Point', coordinates: [b.location[0], b.location[1]] },
        properties: { id: b.id, name: b.name, community: id },
      })
    }
  }
  // No building: nothing is uncovered (the share of an empty set is taken as whole).
  return { id, buildings: list.length, covered: here, share: list.length === 0 ? 1 : here / list.length }
}

/** The coverage of `scope` now (written as the caller wrote it, e.g. "community:xixiang-01"). */
export async function coverageOf(
  deps: CoverageDeps,
  written: string,
  scope: OfficerScope,
): Promise<Coverage> {
  const reached = coverageTest(deps, deps.clock.now())
  const communities: CommunityCoverage[] = []
  const uncovered: Coverage['uncovered']['features'] = []
  let buildings = 0
  let covered = 0
  for (const id of communitiesOf(deps.registry, scope)) {
    const c = await communityCoverage(deps.registry, id, reached, uncovered)
    communities.push(c)
    buildings += c.buildings
    covered += c.covered
  }
  return {
    scope: written,
    share: buildings === 0 ? 1 : covered / buildings,
    communities,
    uncovered: { type: 'FeatureCollection', features: uncovered },
  }
}

const CoverageQuery = Type.Object({
  scope: Type.Optional(
    Type.String({ description: 'community:<id>, street:<name> or district (default: the caller’s scope)' }),
  ),
})

const CoverageOut = Type.Object({
  scope: Type.String(),
  share: Type.Number({
    description: 'share (0–1) of the buildings an available responder reaches within 300 s',
  }),
  communities: Type.Array(
    Type.Object({
      id: Type.String(),
      buildings: Type.Integer(),
      covered: Type.Integer(),
      share: Type.Number(),
    }),
  ),
  uncovered: Type.Object({
    type: Type.Literal('FeatureCollection'),
    features: Type.Array(
      Type.Object({
        type: Type.Literal('Feature'),
        geometry: Type.Object({ type: Type.Literal('Point'), coordinates: Type.Array(Type.Number()) }),
        properties: Type.Object({ id: Type.String(), name: Type.String(), community: Type.String() }),
      }),
    ),
  }),
})

/** `GET /api/coverage?scope=`, for officers (inside their scope) and the administrator. */
export function registerCoverageRoute(api: ApiInstance, deps: CoverageDeps): void {
  api.get(
    '/coverage',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['dispatch'],
        summary:
          'Coverage: per community, the share of buildings an available responder reaches within 300 s',
        description:
          'Available: on duty, not busy, position fresh (registered, or live within FC_POSITION_MAX_AGE_S). Along roads with FC_ROAD_NETWORK; the uncovered buildings as GeoJSON points.',
        querystring: CoverageQuery,
        response: { 200: CoverageOut, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const caller = callerOf(request)
      const written =
        request.query.scope ?? (caller.role === 'administrator' ? 'district' : caller.officer.scope)
      const scope = parseScope(written)
      if ('error' in scope) throw invalidInput(scope.error)
      if (caller.role !== 'administrator') {
        const place =
          scope.level === 'community'
            ? { community: scope.community, street: deps.registry.community(scope.community)?.street }
            : scope.level === 'street'
              ? { street: scope.street }
              : {}
        const wider =
          caller.scope.level === 'district' || (caller.scope.level === 'street' && scope.level !== 'district')
        const ok = scope.level === 'community' ? canSee(caller, place) : wider && canSee(caller, place)
        if (!ok) throw outOfScope(`${written} is outside your scope (${caller.officer.scope})`)
      }
      return coverageOf(deps, written, scope)
    },
  )
}
