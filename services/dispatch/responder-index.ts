/**
 * Responders' live positions, searchable by ETA: "who can be at P within N seconds?".
 *
 * The search is a spatial-index query for candidates, then the exact ETA check of eta.ts
 * (membership is arithmetic, never a polygon). One R-tree per travel mode, each searched
 * with the bounding box of that mode's reach radius, so a foot responder 1 km away is never
 * even a candidate. The box is the exact longitude/latitude extent of the spherical cap
 * (`capBoxes`): at high latitudes a degree of longitude shrinks, so the box widens by
 * asin(sin δ / cos φ); a cap that reaches a pole spans every longitude; a cap that crosses
 * ±180° is searched as two boxes, one each side of the antimeridian.
 *
 * ## Why rbush (measured, not guessed)
 *
 * Node 20, one core of an AMD EPYC; responders uniform over Bao'an (113.75–113.95 E,
 * 22.53–22.80 N), modes 50 % foot / 35 % bicycle / 15 % motor, one index per mode, query =
 * candidates for a 300 s circle + the exact haversine check; updates = random moves of
 * ≤ 28 m. "static + overlay" is kdbush rebuilt when more than n/8 (or 4,096) responders
 * have moved since the build, moved ones checked by brute force from a contiguous overlay.
 *
 * | n = 10,419                     | query p50 | query p99 | updates/s | worst single update |
 * |--------------------------------|-----------|-----------|-----------|---------------------|
 * | rbush (remove + insert)        | 6–8 µs    | 10–15 µs  | 530–700 k | 0.5–3 ms (GC)       |
 * | kdbush + overlay, T = n/8      | 5–7 µs    | 11–29 µs  | 800 k     | 1.9–9.6 ms          |
 * | kdbush + overlay, T = 4,096    | 5 µs      | 10 µs     | 2.3–2.4 M | 1.7 ms (rebuild)    |
 *
 * | n = 200,000                    | query p50 | query p99 | updates/s | worst single update |
 * |--------------------------------|-----------|-----------|-----------|---------------------|
 * | rbush (remove + insert)        | 97–210 µs | 150–320 µs| 220–290 k | 1.3–4 ms (GC)       |
 * | kdbush + overlay, T = n/8      | 90–99 µs  | 145–235 µs| 550–580 k | 42–48 ms (rebuild)  |
 * | kdbush + overlay, T = 4,096    | 90–98 µs  | 160–190 µs| 98–103 k  | 41–54 ms (rebuild)  |
 * | (flatbush: build 50 ms at 200 k, queries as kdbush; same trade-off, so not kept) |
 *
 * All three meet the targets (≤ 0.2 ms p99 at 10,419; ≥ 50,000 updates/s). The static
 * index answers a little faster, but a kdbush rebuild at 200,000 takes 40–55 ms, and it
 * runs on the event loop that also carries the MQTT intake and the alarm engine: an alarm
 * would wait behind it ("fire first", docs/DOMAIN.md). rbush has no rebuild: every update is a
 * remove + insert of a few µs, updates/s stay 3–5× over the target at 200,000, the answer
 * is always current (no overlay to reason about), and maxEntries = 9 (its default)
 * measured best (16: about the same; 4: queries ~1.5× slower at 200,000).
 *
 * As written here (bench/fire-circle.ts: result objects and the sort included, median of 3
 * runs on a shared 2-core machine): 10,419 responders: within(…, 300) p50 30 µs, p99 54 µs,
 * 95× faster than turf.circle + pointsWithinPolygon, 595,000 updates/s; 200,000: p50 0.43 ms,
 * p99 1.5 ms, 133× faster, 190,000 updates/s; every query checked against brute force right.
 *
 * Positions older than the one held are ignored (`move` answers 'stale'): MQTT QoS 0
 * messages and a reconnecting app can deliver out of order.
 */
import RBush, { type BBox } from 'rbush'
import { type ResponderType, TRAVEL_MODES, type TravelMode } from '../registry/index.ts'
import type { RoadNetwork, Snap } from '../roads/index.ts'
import {
  cosLat,
  DEFAULT_ETA_PARAMS,
  EARTH_RADIUS_M,
  type EtaParams,
  etaSeconds,
  haversineCosM,
  reachable,
  reachRadiusM,
  withinLimit,
} from './eta.ts'

/** What the index knows of a responder, as the registry (and dispatch) tell it. */
export interface ResponderInfo {
  id: string
  name?: string
  type: ResponderType
  mode: TravelMode
  onDuty: boolean
  /** For security guards: the building guarded. */
  building?: string
  /** Where the responder belongs in the command structure (for officers' scopes). */
  community?: string
  street?: string
  /** A position and its time (ms); applied unless older than the position held. */
  location?: { lon: number; lat: number; ts: number }
}

/** A responder as held by the index. `lon`, `lat`, `ts` mean something only when `located`. */
export interface ResponderState {
  readonly id: string
  readonly name?: string
  readonly type: ResponderType
  readonly mode: TravelMode
  readonly onDuty: boolean
  /** Committed to an incident (`incident`). */
  readonly busy: boolean
  readonly incident?: string
  readonly building?: string
  readonly community?: string
  readonly street?: string
  readonly located: boolean
  readonly lon: number
  readonly lat: number
  /** Time of the position, ms since the epoch. */
  readonly ts: number
  /** The position came from the responder's app (not the registered location). */
  readonly live?: boolean
}

/** A responder inside a circle: its state, straight-line distance and ETA. */
export interface NearbyResponder extends ResponderState {
  distance_m: number
  eta_s: number
  /** With a road network: the route's length (straight stretches + along roads), m. */
  road_m?: number
}

/** Narrows `within`; every given condition must hold. */
export interface WithinFilter {
  /** Only responders with this duty status. */
  onDuty?: boolean
  /** Only busy (true) or only free (false) responders. */
  busy?: boolean
  types?: readonly ResponderType[]
  modes?: readonly TravelMode[]
  /** Any other condition (e.g. an officer's scope); called only for candidates. */
  where?: (r: ResponderState) => boolean
  /**
   * Live positions (from the app) older than this time (ms) are not used. The index fills
   * it in from its freshness (FC_POSITION_MAX_AGE_S) when not given; registered positions
   * (a station's, a post's) are always used.
   */
  liveSince?: number
}

/** How old a live position may be and still be used (FC_POSITION_MAX_AGE_S). */
export interface PositionFreshness {
  clock: { now(): number }
  maxAgeMs: number
}

export type MoveOutcome = 'moved' | 'stale' | 'unknown' | 'invalid'

export interface ResponderIndex {
  /** Add or replace a responder's details; its busy state is kept, its position too unless `location` is newer. */
  upsert(responder: ResponderInfo): void
  /** `upsert` for many at once (bulk-loads the trees: for the start). */
  upsertMany(responders: Iterable<ResponderInfo>): void
  /** A live position. Older than the one held → 'stale'; never upserted → 'unknown'; out of range → 'invalid'. */
  move(id: string, lon: number, lat: number, ts: number): MoveOutcome
  /** Forget a responder (unregistered or disabled). True when it was known. */
  remove(id: string): boolean
  /** Mark busy on an incident, or free with `undefined`. False when the responder is unknown. */
  setBusy(id: string, incident: string | undefined): boolean
  get(id: string): ResponderState | undefined
  /**
   * Responders whose ETA to (lon, lat) is ≤ `limitS` seconds (boundary inside), matching
   * `filter`, sorted by ETA then id. Throws RangeError for coordinates out of range.
   */
  within(lon: number, lat: number, limitS: number, filter?: WithinFilter): NearbyResponder[]
  /** Every responder held (live views: do not keep them). */
  responders(): IterableIterator<ResponderState>
  /** Responders held, and how many of them have a position. */
  readonly size: number
  readonly located: number
  readonly params: EtaParams
  /** The road network ETAs follow, when there is one. */
  readonly roads?: RoadNetwork
  /** With a road network: where a located responder meets the roads (its mode's snap), if it does. */
  snapped(id: string): Snap | undefined
}

/** The tree item: a responder whose bbox is its point while it is in its mode's tree. */
interface Entry extends BBox {
  id: string
  name?: string
  type: ResponderType
  mode: TravelMode
  onDuty: boolean
  busy: boolean
  incident?: string
  building?: string
  community?: string
  street?: string
  located: boolean
  lon: number
  lat: number
  /** cos(lat), kept with the point for the distance check. */
  cos: number
  ts: number
  live?: boolean
  /** With a road network: the point snapped for `snapMode` at (snapLon, snapLat); null when no road is near. */
  snap?: Snap | null
  snapMode?: TravelMode
  snapLon?: number
  snapLat?: number
}

export const validLonLat = (lon: number, lat: number): boolean =>
  Number.isFinite(lon) && Number.isFinite(lat) && lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90

const DEG = 180 / Math.PI
/** The boxes are widened by this much (relative) so that floating point never loses a boundary point. */
const BOX_MARGIN = 1e-6

/**
 * The [lon, lat] boxes holding every point within `radiusM` of (lon, lat) on the sphere:
 * the cap's exact extent, a little widened; two boxes when it crosses the antimeridian, one
 * spanning every longitude when it holds a pole.
 */
export function capBoxes(lon: number, lat: number, radiusM: number): BBox[] {
  const delta = (radiusM / EARTH_RADIUS_M) * (1 + BOX_MARGIN) + 1e-12
  const dLat = delta * DEG
  const minY = lat - dLat
  const maxY = lat + dLat
  if (minY <= -90 || maxY >= 90 || delta >= Math.PI / 2) {
    return [{ minX: -180, minY: Math.max(-90, minY), maxX: 180, maxY: Math.min(90, maxY) }]
  }
  // sin Δλ = sin δ / cos φ; the cap holds no pole here, so the ratio is < 1.
  const ratio = Math.sin(delta) / Math.cos((lat * Math.PI) / 180)
  const dLon = ratio >= 1 ? 180 : Math.asin(ratio) * DEG
  const minX = lon - dLon
  const maxX = lon + dLon
  if (dLon >= 180 || (minX < -180 && maxX > 180)) return [{ minX: -180, minY, maxX: 180, maxY }]
  if (minX < -180) {
    return [
      { minX: minX + 360, minY, maxX: 180, maxY },
      { minX: -180, minY, maxX, maxY },
    ]
  }
  if (maxX > 180) {
    return [
      { minX, minY, maxX: 180, maxY },
      { minX: -180, minY, maxX: maxX - 360, maxY },
    ]
  }
  return [{ minX, minY, maxX, maxY }]
}

function state(e: Entry): ResponderState {
  const out: {
    -readonly [K in keyof ResponderState]: ResponderState[K]
  } = {
    id: e.id,
    type: e.type,
    mode: e.mode,
    onDuty: e.onDuty,
    busy: e.busy,
    located: e.located,
    lon: e.lon,
    lat: e.lat,
    ts: e.ts,
  }
  if (e.name !== undefined) out.name = e.name
  if (e.incident !== undefined) out.incident = e.incident
  if (e.building !== undefined) out.building = e.building
  if (e.community !== undefined) out.community = e.community
  if (e.street !== undefined) out.street = e.street
  if (e.live === true) out.live = true
  return out
}

function passes(e: Entry, f: WithinFilter | undefined): boolean {
  if (f === undefined) return true
  if (f.onDuty !== undefined && e.onDuty !== f.onDuty) return false
  if (f.busy !== undefined && e.busy !== f.busy) return false
  if (f.types !== undefined && !f.types.includes(e.type)) return false
  if (f.liveSince !== undefined && e.live === true && e.ts < f.liveSince) return false
  if (f.where !== undefined && !f.where(e)) return false
  return true
}

const byEtaThenId = (a: NearbyResponder, b: NearbyResponder) =>
  a.eta_s - b.eta_s || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** A position given with details must be valid: checked before anything changes. */
function check(r: ResponderInfo): void {
  const loc = r.location
  if (loc !== undefined && (!validLonLat(loc.lon, loc.lat) || !Number.isFinite(loc.ts))) {
    throw new RangeError(`responder ${r.id}: location [${loc.lon}, ${loc.lat}] at ${loc.ts} is not valid`)
  }
}

/** A new entry with no position yet (in no tree). */
function unplaced(r: ResponderInfo): Entry {
  return {
    id: r.id,
    type: r.type,
    mode: r.mode,
    onDuty: r.onDuty,
    busy: false,
    located: false,
    lon: Number.NaN,
    lat: Number.NaN,
    cos: Number.NaN,
    ts: Number.NEGATIVE_INFINITY,
    minX: Number.NaN,
    minY: Number.NaN,
    maxX: Number.NaN,
    maxY: Number.NaN,
  }
}

/** The responders within `limitS` of [lon, lat] by ETA: a search per mode's tree, then the exact ETA. */
function searchWithin(
  trees: Record<TravelMode, RBush<Entry>>,
  params: EtaParams,
  lon: number,
  lat: number,
  limitS: number,
  filter: WithinFilter | undefined,
): NearbyResponder[] {
  if (!validLonLat(lon, lat)) throw new RangeError(`[${lon}, ${lat}] is not a valid [lon, lat]`)
  if (!Number.isFinite(limitS)) throw new RangeError(`limit ${limitS} s is not a finite number`)
  const out: NearbyResponder[] = []
  const cos = cosLat(lat)
  for (const mode of TRAVEL_MODES) {
    if (filter?.modes !== undefined && !filter.modes.includes(mode)) continue
    if (!reachable(limitS, mode, params)) continue
    const tree = trees[mode]
    for (const box of capBoxes(lon, lat, reachRadiusM(limitS, mode, params))) {
      for (const e of tree.search(box)) {
        if (!passes(e, filter)) continue
        const d = haversineCosM(lon, lat, cos, e.lon, e.lat, e.cos)
        const eta = etaSeconds(d, mode, params)
        if (!withinLimit(eta, limitS)) continue
        const r = state(e) as NearbyResponder
        r.distance_m = d
        r.eta_s = eta
        out.push(r)
      }
    }
  }
  return out.sort(byEtaThenId)
}

/** The road search's cutoff: 600 s (the widest circle), or a wider limit asked for. */
export const ROAD_CUTOFF_S = 600

/** The entry's snap for its mode and point, computed once per position (null: no road near). */
function snapOf(roads: RoadNetwork, e: Entry): Snap | null {
  if (e.snap === undefined || e.snapMode !== e.mode || e.snapLon !== e.lon || e.snapLat !== e.lat) {
    e.snap = roads.snap(e.mode, e.lon, e.lat) ?? null
    e.snapMode = e.mode
    e.snapLon = e.lon
    e.snapLat = e.lat
  }
  return e.snap
}

/**
 * `searchWithin` along roads: per mode one reverse search from the incident (cached by the
 * network), then each candidate's route from its snap. Candidates come from the box of the
 * straight-line reach at the mode's own speed: no road is faster, and no route is shorter
 * than the straight line, so nobody outside it can be inside.
 */
function searchRoads(
  trees: Record<TravelMode, RBush<Entry>>,
  params: EtaParams,
  roads: RoadNetwork,
  lon: number,
  lat: number,
  limitS: number,
  filter: WithinFilter | undefined,
): NearbyResponder[] {
  const out: NearbyResponder[] = []
  const cos = cosLat(lat)
  for (const mode of TRAVEL_MODES) {
    if (filter?.modes !== undefined && !filter.modes.includes(mode)) continue
    if (!reachable(limitS, mode, params)) continue
    const m = params.modes[mode]
    const reach = roads.reach(mode, lon, lat, Math.max(ROAD_CUTOFF_S, limitS) - m.turnoutS)
    if (reach === undefined) continue
    const radius = (limitS - m.turnoutS) * m.speedMps
    for (const box of capBoxes(lon, lat, radius)) {
      for (const e of trees[mode].search(box)) {
        if (!passes(e, filter)) continue
        const snap = snapOf(roads, e)
        if (snap === null) continue
        const route = reach.route(snap)
        if (route === undefined) continue
        const eta = m.turnoutS + route.timeS
        if (!withinLimit(eta, limitS)) continue
        const r = state(e) as NearbyResponder
        r.distance_m = haversineCosM(lon, lat, cos, e.lon, e.lat, e.cos)
        r.eta_s = eta
        r.road_m = route.lengthM
        out.push(r)
      }
    }
  }
  return out.sort(byEtaThenId)
}

/** A responder's road ETA to a point, or undefined (no road near either, or beyond the cutoff). */
export function roadEta(
  roads: RoadNetwork,
  params: EtaParams,
  mode: TravelMode,
  from: readonly [number, number],
  to: readonly [number, number],
): { eta_s: number; road_m: number } | undefined {
  const m = params.modes[mode]
  const reach = roads.reach(mode, to[0], to[1], ROAD_CUTOFF_S - m.turnoutS)
  const snap = roads.snap(mode, from[0], from[1])
  if (reach === undefined || snap === undefined) return undefined
  const route = reach.route(snap)
  return route === undefined ? undefined : { eta_s: m.turnoutS + route.timeS, road_m: route.lengthM }
}

export function createResponderIndex(
  params: EtaParams = DEFAULT_ETA_PARAMS,
  roads?: RoadNetwork,
  freshness?: PositionFreshness,
): ResponderIndex {
  /** The filter with `liveSince` from the freshness, unless the caller gave one. */
  const fresh = (filter: WithinFilter | undefined): WithinFilter | undefined =>
    freshness === undefined || filter?.liveSince !== undefined
      ? filter
      : { ...filter, liveSince: freshness.clock.now() - freshness.maxAgeMs }
  const entries = new Map<string, Entry>()
  const trees = {} as Record<TravelMode, RBush<Entry>>
  for (const mode of TRAVEL_MODES) trees[mode] = new RBush<Entry>()
  let located = 0

  /** Take a located entry out of its tree (before its point or mode changes). */
  const detach = (e: Entry) => {
    if (e.located) trees[e.mode].remove(e)
  }
  const place = (e: Entry, lon: number, lat: number, ts: number) => {
    e.lon = e.minX = e.maxX = lon
    e.lat = e.minY = e.maxY = lat
    e.cos = cosLat(lat)
    e.ts = ts
  }

  /** Apply details (and a newer position) to an entry that is out of its tree. */
  function apply(r: ResponderInfo): Entry {
    let e = entries.get(r.id)
    if (e === undefined) {
      e = unplaced(r)
      entries.set(r.id, e)
    }
    e.type = r.type
    e.mode = r.mode
    e.onDuty = r.onDuty
    e.name = r.name
    e.building = r.building
    e.community = r.community
    e.street = r.street
    const loc = r.location
    if (loc !== undefined && !(loc.ts < e.ts)) {
      if (!e.located) located++
      e.located = true
      place(e, loc.lon, loc.lat, loc.ts)
      e.live = false
    }
    return e
  }

  const index: ResponderIndex = {
    params,
    ...(roads !== undefined ? { roads } : {}),

    get size() {
      return entries.size
    },
    get located() {
      return located
    },

    upsert(r) {
      check(r)
      const before = entries.get(r.id)
      if (before !== undefined) detach(before)
      const e = apply(r)
      if (e.located) trees[e.mode].insert(e)
    },

    upsertMany(list) {
      const all = [...list]
      for (const r of all) check(r)
      // Entries waiting to be bulk-loaded are in no tree yet (an id may come twice).
      const pending = new Set<Entry>()
      for (const r of all) {
        const before = entries.get(r.id)
        if (before !== undefined && !pending.has(before)) detach(before)
        const e = apply(r)
        if (e.located) pending.add(e)
      }
      const fresh: Record<TravelMode, Entry[]> = { foot: [], bicycle: [], motor: [] }
      for (const e of pending) fresh[e.mode].push(e)
      for (const mode of TRAVEL_MODES) trees[mode].load(fresh[mode])
      // Snapped now, not on the first fire's search.
      if (roads !== undefined) for (const e of pending) snapOf(roads, e)
    },

    move(id, lon, lat, ts) {
      const e = entries.get(id)
      if (e === undefined) return 'unknown'
      if (!validLonLat(lon, lat) || !Number.isFinite(ts)) return 'invalid'
      if (ts < e.ts) return 'stale'
      const tree = trees[e.mode]
      if (e.located) tree.remove(e)
      else {
        e.located = true
        located++
      }
      place(e, lon, lat, ts)
      e.live = true
      if (roads !== undefined) snapOf(roads, e)
      tree.insert(e)
      return 'moved'
    },

    remove(id) {
      const e = entries.get(id)
      if (e === undefined) return false
      if (e.located) {
        trees[e.mode].remove(e)
        located--
      }
      entries.delete(id)
      return true
    },

    setBusy(id, incident) {
      const e = entries.get(id)
      if (e === undefined) return false
      e.busy = incident !== undefined
      e.incident = incident
      return true
    },

    get(id) {
      const e = entries.get(id)
      return e === undefined ? undefined : state(e)
    },

    snapped(id) {
      const e = entries.get(id)
      if (roads === undefined || e === undefined || !e.located) return undefined
      return snapOf(roads, e) ?? undefined
    },

    within: (lon, lat, limitS, given) => {
      const filter = fresh(given)
      if (roads === undefined) return searchWithin(trees, params, lon, lat, limitS, filter)
      if (!validLonLat(lon, lat)) throw new RangeError(`[${lon}, ${lat}] is not a valid [lon, lat]`)
      if (!Number.isFinite(limitS)) throw new RangeError(`limit ${limitS} s is not a finite number`)
      return searchRoads(trees, params, roads, lon, lat, limitS, filter)
    },

    responders() {
      return entries.values()
    },
  }
  return index
}
