/**
 * The fire circle as GeoJSON for the map (`GET /api/incidents/{id}/circle`): one circle
 * polygon per travel mode, drawn by `turf.circle`, and one point per responder inside.
 *
 * The polygons are for the eye only. A 64-gon is inscribed in the true circle (its vertices
 * on it, its edges inside), so a responder just inside the circle near the middle of an edge
 * lies outside the polygon: membership comes from the index's ETA arithmetic, and the points
 * here are exactly the responders it found, with their `eta_s`.
 *
 * Near the antimeridian the rings keep going past ±180° (e.g. 180.01) rather than being
 * split: map libraries draw that as one continuous circle.
 */
import { circle } from '@turf/turf'
import type { Feature, FeatureCollection, MultiPolygon, Point, Polygon } from 'geojson'
import { TRAVEL_MODES, type TravelMode } from '../registry/index.ts'
import { isochrone, type RoadNetwork } from '../roads/index.ts'
import { type EtaParams, reachable, reachRadiusM } from './eta.ts'
import {
  type NearbyResponder,
  type ResponderIndex,
  ROAD_CUTOFF_S,
  type WithinFilter,
} from './responder-index.ts'

/** Vertices of each drawn circle. */
export const CIRCLE_STEPS = 64

export interface CircleProperties {
  mode: TravelMode
  /** The straight-line circle's radius (absent on an isochrone). */
  radius_m?: number
  limit_s: number
}

export interface ResponderPointProperties {
  id: string
  name?: string
  type: string
  mode: TravelMode
  eta_s: number
  distance_m: number
  road_m?: number
}

export type FireCircle = FeatureCollection<
  Polygon | MultiPolygon | Point,
  CircleProperties | ResponderPointProperties
>

/** To 0.1 (metres or seconds): what a map or a console shows, without float noise. */
export const tenth = (x: number): number => Math.round(x * 10) / 10

/**
 * The circle around (lon, lat) for `limitS` seconds: a polygon per mode that can arrive in
 * time (largest first, so that a map draws the smaller ones on top; none for a mode whose
 * turnout alone exceeds the limit), then a point per responder in `responders` (the index's
 * answer for the same circle, nearest ETA first). Distances and ETAs rounded to 0.1.
 */
export function fireCircle(
  lon: number,
  lat: number,
  limitS: number,
  params: EtaParams,
  responders: readonly NearbyResponder[],
): FireCircle {
  const circles = TRAVEL_MODES.filter((mode) => reachable(limitS, mode, params))
    .map((mode) => ({ mode, radius: reachRadiusM(limitS, mode, params) }))
    .filter((c) => c.radius > 0)
    .sort((a, b) => b.radius - a.radius)
    .map(({ mode, radius }): Feature<Polygon, CircleProperties> => {
      const properties: CircleProperties = { mode, radius_m: tenth(radius), limit_s: limitS }
      return circle([lon, lat], radius, { steps: CIRCLE_STEPS, units: 'meters', properties })
    })
  return { type: 'FeatureCollection', features: [...circles, ...responderPoints(responders)] }
}

function responderPoints(responders: readonly NearbyResponder[]): Feature<Point, ResponderPointProperties>[] {
  return responders.map((r) => {
    const properties: ResponderPointProperties = {
      id: r.id,
      ...(r.name !== undefined ? { name: r.name } : {}),
      type: r.type,
      mode: r.mode,
      eta_s: tenth(r.eta_s),
      distance_m: tenth(r.distance_m),
      ...(r.road_m !== undefined ? { road_m: tenth(r.road_m) } : {}),
    }
    return { type: 'Feature', geometry: { type: 'Point', coordinates: [r.lon, r.lat] }, properties }
  })
}

/**
 * The circle on roads: per mode the isochrone of `limitS` (./roads isochrone: what reaches the
 * point in time along the roads, agreeing with every located responder's ETA of that mode,
 * whatever its duty), largest first, then the points of `filter`'s responders inside.
 */
export function roadCircle(
  lon: number,
  lat: number,
  limitS: number,
  index: Pick<ResponderIndex, 'within' | 'responders' | 'params'>,
  roads: RoadNetwork,
  filter: WithinFilter | undefined,
): FireCircle {
  const params = index.params
  const shapes: { feature: Feature<Polygon | MultiPolygon, CircleProperties> }[] = []
  for (const mode of TRAVEL_MODES) {
    if (!reachable(limitS, mode, params)) continue
    const m = params.modes[mode]
    const reach = roads.reach(mode, lon, lat, Math.max(ROAD_CUTOFF_S, limitS) - m.turnoutS)
    if (reach === undefined) continue
    const inside = new Set(index.within(lon, lat, limitS, { modes: [mode] }).map((r) => r.id))
    const points: { lon: number; lat: number; inside: boolean }[] = []
    for (const r of index.responders()) {
      if (r.located && r.mode === mode) points.push({ lon: r.lon, lat: r.lat, inside: inside.has(r.id) })
    }
    const geometry = isochrone(roads, reach, limitS - m.turnoutS, { points })
    if (geometry === undefined) continue
    shapes.push({ feature: { type: 'Feature', geometry, properties: { mode, limit_s: limitS } } })
  }
  // Largest first (by the outline's extent), so a map draws the smaller ones on top.
  shapes.sort((a, b) => extentOf(b.feature.geometry) - extentOf(a.feature.geometry))
  const points = responderPoints(index.within(lon, lat, limitS, filter))
  return { type: 'FeatureCollection', features: [...shapes.map((s) => s.feature), ...points] }
}

function extentOf(g: Polygon | MultiPolygon): number {
  let minX = Number.POSITIVE_INFINITY
  let minY = Number.POSITIVE_INFINITY
  let maxX = Number.NEGATIVE_INFINITY
  let maxY = Number.NEGATIVE_INFINITY
  const rings = g.type === 'Polygon' ? g.coordinates : g.coordinates.flat()
  for (const ring of rings)
    for (const [x, y] of ring) {
      minX = Math.min(minX, x!)
      maxX = Math.max(maxX, x!)
      minY = Math.min(minY, y!)
      maxY = Math.max(maxY, y!)
    }
  return (maxX - minX) * (maxY - minY)
}
