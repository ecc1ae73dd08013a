/**
 * The district generator: Bao'an's figures ([docs/DOMAIN.md §The place and its people]) as data,
 * pure and deterministic for a seed.
 *
 * - Communities: near-square cells of `areaKm2` (3.2 km²) each, laid out in a grid centred in
 *   the bounding box (113.75–113.95 E, 22.53–22.80 N). Every row has its own width in degrees
 *   so that each cell's area, measured as Turf measures it (R = 6,371,008.8 m), is the target;
 *   rows share their edges, so the cells tile the area without overlap. Cells are numbered in
 *   a serpentine (boustrophedon) order and cut into `streets` contiguous runs.
 * - Buildings: factories, shops and homes (residential blocks), more of them in denser
 *   communities; each has a responsible party.
 * - Devices: `devices` sensors and actuators (gateways come on top). Every building has a core
 *   set (smoke detectors, a sounder…), the rest by the building type's mix. A building with
 *   more than `gatewayAbove` detectors sends them through gateways (a user transmission
 *   device per `gatewayCapacity` detectors); actuators (sounders, gas valves, door releases)
 *   always connect directly, since they take commands on their own `dev/{id}/cmd`. At high
 *   counts buildings are larger, so most devices sit behind gateways.
 * - Responders: `responders` (10,419) people spread 32–378 per community (a skewed spread,
 *   the extremes realised), by type and travel mode, on or off duty, placed in their
 *   community (micro fire station members at their station, guards at their building).
 *
 * A note on the seed's figures: 10,419 people over 124 communities is 84 per community and
 * 26 per km² over 124 × 3.2 km²; its "average 123 per community" and "about 65 per km²"
 * describe the built-up part with fewer communities. The generator keeps the total, the
 * minimum and the maximum; the densest communities reach ~118 per km².
 */
import { bboxPolygon, booleanPointInPolygon } from '@turf/turf'
import type { Feature, Polygon } from 'geojson'
import type { DeviceKind } from '../devices/catalogue.ts'
import { createRng, type Rng } from './prng.ts'

export type LonLat = [number, number]
export type BBox = [number, number, number, number]

export const BAOAN_BBOX: BBox = [113.75, 22.53, 113.95, 22.8]
/** Turf's mean Earth radius, metres. */
const EARTH_RADIUS_M = 6_371_008.8
const RAD = Math.PI / 180

export const STREET_NAMES = [
  ['xinan', "Xin'an"],
  ['xixiang', 'Xixiang'],
  ['hangcheng', 'Hangcheng'],
  ['shiyan', 'Shiyan'],
  ['fuyong', 'Fuyong'],
  ['fuhai', 'Fuhai'],
  ['shajing', 'Shajing'],
  ['xinqiao', 'Xinqiao'],
  ['songgang', 'Songgang'],
  ['yanluo', 'Yanluo'],
] as const

export const RESPONDER_TYPES = [
  'micro_station',
  'fire_station',
  'grid_staff',
  'security_guard',
  'volunteer',
] as const
export type ResponderType = (typeof RESPONDER_TYPES)[number]
export type TravelMode = 'foot' | 'bicycle' | 'motor'
export type BuildingType = 'factory' | 'shop' | 'home'

export const ACTUATOR_KINDS: readonly DeviceKind[] = ['sounder', 'gas_valve', 'door_release']
export const DETECTOR_KINDS: readonly DeviceKind[] = ['smoke', 'heat', 'multi']

export interface StreetSpec {
  id: string
  name: string
  communities: string[]
}

export interface CommunitySpec {
  id: string
  name: string
  street: string
  /** The GeoJSON Feature that `POST /api/communities` takes. */
  feature: Feature<Polygon, { id: string; name: string; street: string }>
  /** [minLon, minLat, maxLon, maxLat] of the cell. */
  bbox: BBox
}

export interface BuildingSpec {
  id: string
  name: string
  type: BuildingType
  community: string
  location: LonLat
  floors: number
  responsible: { name: string; phone: string }
}

export interface DeviceSpec {
  id: string
  kind: DeviceKind
  building: string
  community: string
  location: LonLat
  floor: number
  /** The gateway carrying its readings; none: it connects itself. */
  gateway?: string
}

export interface ResponderSpec {
  id: string
  name: string
  type: ResponderType
  mode: TravelMode
  onDuty: boolean
  community: string
  location: LonLat
  /** For security guards: the building guarded. */
  building?: string
}

export interface DistrictOptions {
  seed: number | string
  /** Sensors and actuators (gateways come on top). Default 20,000; at most 1,000,000. */
  devices?: number
  /** Default 10,419. */
  responders?: number
  /** Default 124. */
  communities?: number
  /** Default 10. */
  streets?: number
  /** Area of each community, km². Default 3.2. */
  areaKm2?: number
  bbox?: BBox
  /** Responders per community, at least / at most (the seed: 32 and 378). */
  respondersMin?: number
  respondersMax?: number
  /** A building with more detectors than this sends them through gateways. Default 8. */
  gatewayAbove?: number
  /** Detectors per gateway, at most. Default 250. */
  gatewayCapacity?: number
}

export interface District {
  seed: number | string
  bbox: BBox
  areaKm2: number
  streets: StreetSpec[]
  communities: CommunitySpec[]
  buildings: BuildingSpec[]
  /** Gateways first, then the devices (the order they can be registered in). */
  devices: DeviceSpec[]
  responders: ResponderSpec[]
}

export const DEFAULTS = {
  devices: 20_000,
  responders: 10_419,
  communities: 124,
  streets: 10,
  areaKm2: 3.2,
  respondersMin: 32,
  respondersMax: 378,
  gatewayAbove: 8,
  gatewayCapacity: 250,
} as const

export const MAX_DEVICES = 1_000_000

// ---- communities -------------------------------------------------------------------------

/**
 * `n` cells of `areaKm2` each, in serpentine order, centred in `bbox`. Throws when they do
 * not fit.
 */
export function communityCells(n: number, areaKm2: number, bbox: BBox): BBox[] {
  const [minLon, minLat, maxLon, maxLat] = bbox
  const sideM = Math.sqrt(areaKm2) * 1000
  const dLat = sideM / EARTH_RADIUS_M / RAD
  const widthAt = (south: number) => {
    // Turf's ring area of a lon/lat rectangle: R² · Δλ · (sin φ₂ − sin φ₁), exactly.
    const band = Math.sin((south + dLat) * RAD) - Math.sin(south * RAD)
    return (areaKm2 * 1e6) / (EARTH_RADIUS_M * EARTH_RADIUS_M * band) / RAD
  }
  // As square as the box allows: about √n columns, fewer when they would not fit across.
  const fitAcross = Math.floor((maxLon - minLon) / Math.max(widthAt(minLat), widthAt(maxLat - dLat)))
  const cols = Math.max(1, Math.min(Math.ceil(Math.sqrt(n)), fitAcross))
  const rows = Math.ceil(n / cols)
  const height = rows * dLat
  const lat0 = minLat + (maxLat - minLat - height) / 2
  const widest = cols * Math.max(widthAt(lat0), widthAt(lat0 + (rows - 1) * dLat))
  if (height > maxLat - minLat || widest > maxLon - minLon) {
    throw new Error(
      `${n} communities of ${areaKm2} km² do not fit in ${bbox.join(',')} (need ${widest.toFixed(3)}° × ${height.toFixed(3)}°)`,
    )
  }
  const lon0 = minLon + (maxLon - minLon - widest) / 2
  const cells: BBox[] = []
  for (let r = 0; r < rows && cells.length < n; r++) {
    const south = lat0 + r * dLat
    const north = r === rows - 1 ? lat0 + rows * dLat : lat0 + (r + 1) * dLat
    const w = widthAt(south)
    const inRow = Math.min(cols, n - cells.length)
    for (let k = 0; k < inRow; k++) {
      const c = r % 2 === 0 ? k : cols - 1 - k
      cells.push([lon0 + c * w, south, lon0 + (c + 1) * w, north])
    }
  }
  return cells
}

function cellFeature(cell: BBox, props: { id: string; name: string; street: string }) {
  return bboxPolygon(cell, { properties: props }) as Feature<
    Polygon,
    { id: string; name: string; street: string }
  >
}

// ---- spreading counts --------------------------------------------------------------------

/**
 * Integers x_i in [lo, hi] summing to `total`, shaped like `weights` (x_i ≈ clamp(s·w_i)).
 * Throws when n·lo > total or n·hi < total.
 */
export function spread(total: number, weights: readonly number[], lo: number, hi: number): number[] {
  const n = weights.length
  if (n === 0) {
    if (total !== 0) throw new Error(`cannot spread ${total} over nothing`)
    return []
  }
  if (n * lo > total || n * hi < total)
    throw new Error(`cannot spread ${total} over ${n} with each in ${lo}..${hi}`)
  const clampSum = (s: number) => weights.reduce((sum, w) => sum + Math.min(hi, Math.max(lo, s * w)), 0)
  let a = 0
  let b = 1
  while (clampSum(b) < total) b *= 2
  for (let i = 0; i < 100; i++) {
    const m = (a + b) / 2
    if (clampSum(m) < total) a = m
    else b = m
  }
  const exact = weights.map((w) => Math.min(hi, Math.max(lo, b * w)))
  const out = exact.map((x) => Math.floor(x))
  let left = total - out.reduce((s, x) => s + x, 0)
  const order = exact
    .map((x, i) => ({ i, frac: x - Math.floor(x) }))
    .sort((p, q) => q.frac - p.frac || p.i - q.i)
  for (let k = 0; left > 0 && k < order.length * 2; k++) {
    const i = order[k % order.length]!.i
    if (out[i]! < hi) {
      out[i]!++
      left--
    }
  }
  for (let k = 0; left < 0 && k < order.length * 2; k++) {
    const i = order[order.length - 1 - (k % order.length)]!.i
    if (out[i]! > lo) {
      out[i]!--
      left++
    }
  }
  return out
}

/**
 * Responders per community: total exactly, each in [lo, hi], one community at hi and one at
 * lo when that is possible (the seed's extremes), the rest log-normally spread.
 */
export function responderCounts(total: number, weights: readonly number[], lo: number, hi: number): number[] {
  const n = weights.length
  if (n === 0) return []
  const min = Math.min(lo, Math.floor(total / n))
  const max = Math.max(hi, Math.ceil(total / n))
  if (n >= 3) {
    const rest = total - min - max
    if ((n - 2) * min <= rest && rest <= (n - 2) * max) {
      let top = 0
      let bottom = 0
      weights.forEach((w, i) => {
        if (w > weights[top]!) top = i
        if (w < weights[bottom]!) bottom = i
      })
      const others = weights.map((w, i) => ({ w, i })).filter((x) => x.i !== top && x.i !== bottom)
      const spreadOthers = spread(
        rest,
        others.map((x) => x.w),
        min,
        max,
      )
      const out = new Array<number>(n).fill(0)
      out[top] = max
      out[bottom] = min
      others.forEach((x, k) => {
        out[x.i] = spreadOthers[k]!
      })
      return out
    }
  }
  return spread(total, weights, min, max)
}

// ---- buildings and devices ---------------------------------------------------------------

const CORE: Record<BuildingType, readonly DeviceKind[]> = {
  factory: ['smoke', 'smoke', 'heat', 'call_point', 'sounder', 'electrical', 'gas', 'gas_valve'],
  home: ['smoke', 'smoke', 'multi', 'call_point', 'sounder', 'water_pressure'],
  shop: ['smoke', 'smoke', 'gas', 'gas_valve', 'sounder'],
}
const MIX: Record<BuildingType, Partial<Record<DeviceKind, number>>> = {
  factory: {
    smoke: 35,
    heat: 20,
    multi: 10,
    electrical: 10,
    gas: 5,
    water_pressure: 4,
    call_point: 8,
    sounder: 4,
    door_release: 4,
  },
  home: {
    smoke: 50,
    multi: 10,
    heat: 5,
    call_point: 10,
    sounder: 8,
    electrical: 5,
    water_pressure: 4,
    door_release: 4,
    gas: 4,
  },
  shop: { smoke: 50, heat: 10, electrical: 15, gas: 10, call_point: 10, sounder: 5 },
}
const SIZE: Record<BuildingType, number> = { factory: 3, home: 2, shop: 0.6 }
const MOST_CORE = Math.max(...Object.values(CORE).map((c) => c.length))

const SURNAMES = ['Chen', 'Li', 'Wang', 'Zhang', 'Liu', 'Huang', 'Zhou', 'Wu', 'Lin', 'Xu', 'Zheng', 'He']
const GIVEN = ['Wei', 'Fang', 'Min', 'Jing', 'Lei', 'Yan', 'Qiang', 'Hui', 'Jun', 'Ling', 'Tao', 'Xia']
const PRODUCTS = ['electronics', 'plastics', 'garment', 'hardware', 'furniture', 'printing', 'toy', 'LED']
const SHOPS = ['noodle shop', 'restaurant', 'grocery', 'hot-pot restaurant', 'phone repair', 'bakery']

const personName = (rng: Rng) => `${rng.pick(SURNAMES)} ${rng.pick(GIVEN)}`
const pad = (n: number, w = 2) => String(n).padStart(w, '0')

/** A point inside the cell, `insetM` metres clear of its edges. */
function pointIn(rng: Rng, cell: BBox, insetM: number): LonLat {
  const [w, s, e, n] = cell
  const dLat = insetM / EARTH_RADIUS_M / RAD
  const dLon = dLat / Math.cos(((s + n) / 2) * RAD)
  return [rng.range(w + dLon, e - dLon), rng.range(s + dLat, n - dLat)]
}

/** `p` moved by up to `m` metres, kept inside the feature (else `p` itself). */
function jitter(rng: Rng, p: LonLat, m: number, feature: CommunitySpec['feature']): LonLat {
  const dLat = m / EARTH_RADIUS_M / RAD
  const dLon = dLat / Math.cos(p[1] * RAD)
  const q: LonLat = [p[0] + rng.range(-dLon, dLon), p[1] + rng.range(-dLat, dLat)]
  return booleanPointInPolygon(q, feature) ? q : p
}

function positiveInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max)
    throw new Error(`${name} must be a whole number in ${min}..${max}, not ${v}`)
  return v
}

// ---- the district ------------------------------------------------------------------------

export function generateDistrict(opts: DistrictOptions): District {
  const nDevices = positiveInt('devices', opts.devices ?? DEFAULTS.devices, 1, MAX_DEVICES)
  const nResponders = positiveInt('responders', opts.responders ?? DEFAULTS.responders, 0, 1_000_000)
  const nCommunities = positiveInt('communities', opts.communities ?? DEFAULTS.communities, 1, 10_000)
  const nStreets = Math.min(
    nCommunities,
    positiveInt('streets', opts.streets ?? DEFAULTS.streets, 1, STREET_NAMES.length * 10),
  )
  const areaKm2 = opts.areaKm2 ?? DEFAULTS.areaKm2
  const bbox = opts.bbox ?? BAOAN_BBOX
  const gatewayAbove = opts.gatewayAbove ?? DEFAULTS.gatewayAbove
  const gatewayCapacity = opts.gatewayCapacity ?? DEFAULTS.gatewayCapacity
  if (nDevices < MOST_CORE * nCommunities)
    throw new Error(
      `devices: ${nDevices} is too few for ${nCommunities} communities (at least ${MOST_CORE} per community)`,
    )
  const root = createRng(opts.seed)

  // Streets and communities.
  const cells = communityCells(nCommunities, areaKm2, bbox)
  const streets: StreetSpec[] = []
  for (let k = 0; k < nStreets; k++) {
    const [sid, sname] = STREET_NAMES[k % STREET_NAMES.length]!
    const suffix = k >= STREET_NAMES.length ? `-${Math.floor(k / STREET_NAMES.length) + 1}` : ''
    streets.push({ id: `${sid}${suffix}`, name: `${sname}${suffix}`, communities: [] })
  }
  const communities: CommunitySpec[] = cells.map((cell, i) => {
    const street = streets[Math.floor((i * nStreets) / nCommunities)]!
    street.communities.push('')
    const n = street.communities.length
    const id = `${street.id}-${pad(n)}`
    street.communities[n - 1] = id
    const name = `${street.name} Community ${n}`
    return {
      id,
      name,
      street: street.id,
      bbox: cell,
      feature: cellFeature(cell, { id, name, street: street.id }),
    }
  })

  // How dense each community is: shapes responders and buildings alike.
  const densityRng = root.fork('density')
  const density = communities.map(() => Math.exp(0.55 * densityRng.normal()))
  const meanDensity = density.reduce((s, x) => s + x, 0) / density.length

  // Buildings.
  const bRng = root.fork('buildings')
  const perBuilding = 25 * Math.max(1, Math.sqrt(nDevices / DEFAULTS.devices))
  const nBuildings = Math.max(
    nCommunities,
    Math.min(Math.round(nDevices / perBuilding), Math.floor(nDevices / MOST_CORE)),
  )
  const buildingsPer = spread(
    nBuildings,
    density.map((d) => 0.5 + (0.5 * d) / meanDensity),
    1,
    nBuildings,
  )
  const types: BuildingType[][] = communities.map((_, ci) =>
    Array.from(
      { length: buildingsPer[ci]! },
      () => bRng.weighted({ factory: 0.3, shop: 0.35, home: 0.35 }) as BuildingType,
    ),
  )
  // At least one building of each type when there are three or more (the scenarios need them):
  // a missing type replaces the last building of the community that has the most.
  if (nBuildings >= 3) {
    for (const type of ['factory', 'shop', 'home'] as const) {
      if (types.some((list) => list.includes(type))) continue
      const donor = types.reduce((best, list, i) => (list.length > types[best]!.length ? i : best), 0)
      const list = types[donor]!
      const other = (['factory', 'shop', 'home'] as const).find(
        (t) => t !== type && list.filter((x) => x === t).length > 1,
      )
      const at = other === undefined ? list.length - 1 : list.lastIndexOf(other)
      list[at] = type
    }
  }
  const buildings: BuildingSpec[] = []
  communities.forEach((c, ci) => {
    const count = { factory: 0, shop: 0, home: 0 }
    for (const type of types[ci]!) {
      count[type]++
      const n = count[type]
      const owner = personName(bRng)
      const surname = owner.split(' ')[0]
      const name =
        type === 'factory'
          ? `${surname} ${bRng.pick(PRODUCTS)} factory ${n}`
          : type === 'shop'
            ? `${surname}'s ${bRng.pick(SHOPS)}`
            : `${c.name} block ${n}`
      buildings.push({
        id: `${c.id}-${type[0]}${pad(n, 3)}`,
        name,
        type,
        community: c.id,
        location: pointIn(bRng, c.bbox, 60),
        floors: type === 'factory' ? bRng.int(1, 6) : type === 'home' ? bRng.int(6, 33) : 1,
        responsible: {
          name: owner,
          phone: `+86 755 ${bRng.int(2000, 8999)} ${pad(bRng.int(0, 9999), 4)}`,
        },
      })
    }
  })

  // Devices: each building's core, then the rest by size and the type's mix.
  const dRng = root.fork('devices')
  const cores = buildings.map((b) => CORE[b.type])
  const coreTotal = cores.reduce((s, c) => s + c.length, 0)
  const extrasTotal = nDevices - coreTotal
  const extras = spread(
    extrasTotal,
    buildings.map((b) => SIZE[b.type] * dRng.range(0.5, 1.5)),
    0,
    extrasTotal,
  )
  const communityById = new Map(communities.map((c) => [c.id, c]))
  const gateways: DeviceSpec[] = []
  const devices: DeviceSpec[] = []
  buildings.forEach((b, bi) => {
    const kinds: DeviceKind[] = [...cores[bi]!]
    for (let k = 0; k < extras[bi]!; k++) kinds.push(dRng.weighted(MIX[b.type] as Record<DeviceKind, number>))
    const feature = communityById.get(b.community)!.feature
    const detectorCount = kinds.filter((k) => !ACTUATOR_KINDS.includes(k)).length
    const gwCount = detectorCount > gatewayAbove ? Math.ceil(detectorCount / gatewayCapacity) : 0
    const gwIds: string[] = []
    for (let g = 1; g <= gwCount; g++) {
      const id = `${b.id}-gw${g}`
      gwIds.push(id)
      gateways.push({
        id,
        kind: 'gateway',
        building: b.id,
        community: b.community,
        location: b.location,
        floor: 1,
      })
    }
    const seen = new Map<DeviceKind, number>()
    let carried = 0
    for (const kind of kinds) {
      const n = (seen.get(kind) ?? 0) + 1
      seen.set(kind, n)
      const d: DeviceSpec = {
        id: `${b.id}-${kind}-${n}`,
        kind,
        building: b.id,
        community: b.community,
        location: jitter(dRng, b.location, 25, feature),
        floor: ACTUATOR_KINDS.includes(kind) || kind === 'water_pressure' ? 1 : dRng.int(1, b.floors),
      }
      if (gwCount > 0 && !ACTUATOR_KINDS.includes(kind)) d.gateway = gwIds[carried++ % gwCount]!
      devices.push(d)
    }
  })

  // Responders.
  const rRng = root.fork('responders')
  const counts = responderCounts(
    nResponders,
    density,
    opts.respondersMin ?? DEFAULTS.respondersMin,
    opts.respondersMax ?? DEFAULTS.respondersMax,
  )
  const buildingsOf = new Map<string, BuildingSpec[]>()
  for (const b of buildings) {
    const list = buildingsOf.get(b.community) ?? []
    list.push(b)
    buildingsOf.set(b.community, list)
  }
  const firstOfStreet = new Set(streets.map((s) => s.communities[0]))
  const responders: ResponderSpec[] = []
  communities.forEach((c, ci) => {
    const n = counts[ci]!
    const guarded = (buildingsOf.get(c.id) ?? []).filter((b) => b.type !== 'shop')
    const station = pointIn(rRng, c.bbox, 150)
    const fireStation = pointIn(rRng, c.bbox, 150)
    const crew = firstOfStreet.has(c.id) ? Math.min(6, Math.floor(n / 4)) : 0
    const micro = Math.max(Math.min(3, n - crew), Math.round(n * 0.12))
    const guards = guarded.length > 0 ? Math.round(n * 0.25) : 0
    const volunteers = Math.round(n * 0.15)
    for (let k = 0; k < n; k++) {
      let type: ResponderType
      if (k < crew) type = 'fire_station'
      else if (k < crew + micro) type = 'micro_station'
      else if (k < crew + micro + guards) type = 'security_guard'
      else if (k < crew + micro + guards + volunteers) type = 'volunteer'
      else type = 'grid_staff'
      let mode: TravelMode
      let onDuty: boolean
      let location: LonLat
      let building: string | undefined
      switch (type) {
        case 'fire_station':
          mode = 'motor'
          onDuty = true
          location = jitter(rRng, fireStation, 20, c.feature)
          break
        case 'micro_station':
          mode = rRng.chance(0.4) ? 'motor' : 'bicycle'
          onDuty = rRng.chance(0.9)
          location = jitter(rRng, station, 40, c.feature)
          break
        case 'security_guard': {
          const b = guarded[(k - crew - micro) % guarded.length]!
          building = b.id
          mode = 'foot'
          onDuty = rRng.chance(0.85)
          location = jitter(rRng, b.location, 20, c.feature)
          break
        }
        case 'volunteer':
          mode = rRng.chance(0.6) ? 'foot' : 'bicycle'
          onDuty = rRng.chance(0.5)
          location = pointIn(rRng, c.bbox, 30)
          break
        default:
          mode = rRng.chance(0.5) ? 'foot' : 'bicycle'
          onDuty = rRng.chance(0.8)
          location = pointIn(rRng, c.bbox, 30)
      }
      const r: ResponderSpec = {
        id: `${c.id}-r${pad(k + 1, 3)}`,
        name: personName(rRng),
        type,
        mode,
        onDuty,
        community: c.id,
        location,
      }
      if (building !== undefined) r.building = building
      responders.push(r)
    }
  })

  return {
    seed: opts.seed,
    bbox,
    areaKm2,
    streets,
    communities,
    buildings,
    devices: [...gateways, ...devices],
    responders,
  }
}

/** Counts for a one-screen description of a district. */
export function describeDistrict(d: District): {
  streets: number
  communities: number
  buildings: Record<BuildingType, number>
  devices: number
  gateways: number
  direct: number
  behindGateways: number
  byKind: Partial<Record<DeviceKind, number>>
  responders: number
  respondersPerCommunity: { min: number; max: number; mean: number }
  byType: Partial<Record<ResponderType, number>>
} {
  const buildings = { factory: 0, shop: 0, home: 0 }
  for (const b of d.buildings) buildings[b.type]++
  const byKind: Partial<Record<DeviceKind, number>> = {}
  let gateways = 0
  let behind = 0
  for (const x of d.devices) {
    byKind[x.kind] = (byKind[x.kind] ?? 0) + 1
    if (x.kind === 'gateway') gateways++
    else if (x.gateway !== undefined) behind++
  }
  const per = new Map<string, number>()
  const byType: Partial<Record<ResponderType, number>> = {}
  for (const r of d.responders) {
    per.set(r.community, (per.get(r.community) ?? 0) + 1)
    byType[r.type] = (byType[r.type] ?? 0) + 1
  }
  const counts = d.communities.map((c) => per.get(c.id) ?? 0)
  return {
    streets: d.streets.length,
    communities: d.communities.length,
    buildings,
    devices: d.devices.length - gateways,
    gateways,
    direct: d.devices.length - gateways - behind,
    behindGateways: behind,
    byKind,
    responders: d.responders.length,
    respondersPerCommunity: {
      min: Math.min(...counts),
      max: Math.max(...counts),
      mean: d.responders.length / Math.max(1, counts.length),
    },
    byType,
  }
}
