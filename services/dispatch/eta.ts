/**
 * The arithmetic of the 5-minute fire circle ([docs/DOMAIN.md §The 5-minute fire circle]), pure:
 *
 * - distance: great-circle (haversine) with R = 6,371,008.8 m, the radius Turf uses, written
 *   by the formula Turf's `distance` uses (they agree to ~1e-15 relative);
 * - ETA = turnout + distance × circuity ÷ speed, with speed and turnout by travel mode;
 * - the reach radius of a mode: the straight-line distance within which ETA ≤ limit.
 *
 * Membership of the circle is decided here, by arithmetic (`withinLimit`), never by a polygon
 * test. A responder exactly on the boundary is inside. Floating point makes "exactly" fuzzy
 * (a point placed at the reach radius measures back a few ulps long or short), so the
 * comparison allows ETA_TOLERANCE = 1e-9 of the limit: for 300 s that is 0.3 µs of travel,
 * i.e. under 2 µm of distance for any mode; round trips (place a point at the radius with
 * `turf.destination`, measure it back) err by about 1e-11 relative, well inside it.
 */
import type { TravelMode } from '../registry/index.ts'

/** Mean Earth radius in metres, as Turf's `earthRadius`. */
export const EARTH_RADIUS_M = 6_371_008.8

/** Relative tolerance of the boundary test: ETA ≤ limit × (1 + ETA_TOLERANCE) is inside. */
export const ETA_TOLERANCE = 1e-9

export interface ModeParams {
  /** Travel speed, m/s. */
  speedMps: number
  /** Time from the alert to moving, s. */
  turnoutS: number
}

export interface EtaParams {
  /** Road distance ÷ straight-line distance (≥ 1). */
  circuity: number
  modes: Record<TravelMode, ModeParams>
}

/** Partial overrides of the defaults (from settings). */
export interface EtaParamsInput {
  circuity?: number
  modes?: Partial<Record<TravelMode, Partial<ModeParams>>>
}

/** docs/DOMAIN.md's defaults: foot 5 km/h, bicycle / e-bike 15 km/h, motor 30 km/h urban; circuity 1.3. */
export const DEFAULT_ETA_PARAMS: EtaParams = Object.freeze({
  circuity: 1.3,
  modes: Object.freeze({
    foot: Object.freeze({ speedMps: 1.4, turnoutS: 30 }),
    bicycle: Object.freeze({ speedMps: 4.2, turnoutS: 30 }),
    motor: Object.freeze({ speedMps: 8.3, turnoutS: 60 }),
  }),
}) as EtaParams

/**
 * The defaults with `input`'s overrides, checked: speeds positive, turnouts ≥ 0, circuity ≥ 1,
 * all finite. Throws an Error naming the wrong parameter.
 */
export function etaParams(input: EtaParamsInput = {}): EtaParams {
  const circuity = input.circuity ?? DEFAULT_ETA_PARAMS.circuity
  if (!Number.isFinite(circuity) || circuity < 1) {
    throw new Error(`circuity must be a finite number ≥ 1, not ${circuity}`)
  }
  const modes = {} as Record<TravelMode, ModeParams>
  for (const mode of Object.keys(DEFAULT_ETA_PARAMS.modes) as TravelMode[]) {
    const d = DEFAULT_ETA_PARAMS.modes[mode]
    const o = input.modes?.[mode]
    const speedMps = o?.speedMps ?? d.speedMps
    const turnoutS = o?.turnoutS ?? d.turnoutS
    if (!Number.isFinite(speedMps) || speedMps <= 0) {
      throw new Error(`${mode}.speedMps must be a finite number > 0, not ${speedMps}`)
    }
    if (!Number.isFinite(turnoutS) || turnoutS < 0) {
      throw new Error(`${mode}.turnoutS must be a finite number ≥ 0, not ${turnoutS}`)
    }
    modes[mode] = { speedMps, turnoutS }
  }
  return { circuity, modes }
}

const RAD = Math.PI / 180

/**
 * Great-circle distance in metres between two [lon, lat] points (degrees), by the haversine
 * formula with R = EARTH_RADIUS_M. Across the antimeridian it takes the short way round.
 */
export function haversineM(lon1: number, lat1: number, lon2: number, lat2: number): number {
  return haversineCosM(lon1, lat1, cosLat(lat1), lon2, lat2, cosLat(lat2))
}

/** cos(lat) for `haversineCosM`: computed once per point instead of once per pair. */
export const cosLat = (lat: number): number => Math.cos(lat * RAD)

/**
 * `haversineM` with each point's cos(lat) given (from `cosLat`): the same arithmetic, so the
 * same result to the bit, without two cosines per pair (the index's hot loop).
 */
export function haversineCosM(
  lon1: number,
  lat1: number,
  cosLat1: number,
  lon2: number,
  lat2: number,
  cosLat2: number,
): number {
  const sLat = Math.sin(((lat2 - lat1) * RAD) / 2)
  const sLon = Math.sin(((lon2 - lon1) * RAD) / 2)
  const a = sLat * sLat + sLon * sLon * cosLat1 * cosLat2
  return 2 * Math.atan2(Math.sqrt(a), Math.sqrt(1 - a)) * EARTH_RADIUS_M
}

/** ETA in seconds of a responder `distanceM` away (straight line) travelling by `mode`. */
export function etaSeconds(
  distanceM: number,
  mode: TravelMode,
  params: EtaParams = DEFAULT_ETA_PARAMS,
): number {
  const m = params.modes[mode]
  return m.turnoutS + (distanceM * params.circuity) / m.speedMps
}

/** True when an ETA is inside a time limit: ETA ≤ limit, with the tolerance above. */
export function withinLimit(etaS: number, limitS: number): boolean {
  return etaS <= limitS + Math.abs(limitS) * ETA_TOLERANCE
}

/**
 * The straight-line radius in metres within which a responder travelling by `mode` has
 * ETA ≤ `limitS`: (limit − turnout) × speed ÷ circuity; 0 when the turnout alone uses the
 * limit up (then only `reachable` tells whether anyone of that mode can be inside at all).
 */
export function reachRadiusM(
  limitS: number,
  mode: TravelMode,
  params: EtaParams = DEFAULT_ETA_PARAMS,
): number {
  const m = params.modes[mode]
  if (!(limitS > m.turnoutS)) return 0
  return ((limitS - m.turnoutS) * m.speedMps) / params.circuity
}

/** Whether a responder of `mode` can be inside `limitS` at all (turnout ≤ limit). */
export function reachable(limitS: number, mode: TravelMode, params: EtaParams = DEFAULT_ETA_PARAMS): boolean {
  return withinLimit(params.modes[mode].turnoutS, limitS)
}
