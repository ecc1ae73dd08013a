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
import type { Feature, FeatureCollection, Point, Polygon } from 'geojson'
import { TRAVEL_MODES, type TravelMode } from '../registry/index.ts'
import { type EtaParams, reachable, reachRadiusM } from './eta.ts'
import type { NearbyResponder } from './responder-index.ts'

/** Vertices of each drawn circle. */
export const CIRCLE_STEPS = 64

export interface CircleProperties {
  mode: TravelMode
  radius_m: number
  limit_s: number
}

export interface ResponderPointProperties {
  id: string
  name?: string
  type: string
  mode: TravelMode
  eta_s: number
  distance_m: number
}

export type FireCircle = FeatureCollection<Polygon | Point, CircleProperties | ResponderPointProperties>

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
  const points = responders.map((r): Feature<Point, ResponderPointProperties> => {
    const properties: ResponderPointProperties = {
      id: r.id,
      ...(r.name !== undefined ? { name: r.name } : {}),
      type: r.type,
      mode: r.mode,
      eta_s: tenth(r.eta_s),
      distance_m: tenth(r.distance_m),
    }
    return { type: 'Feature', geometry: { type: 'Point', coordinates: [r.lon, r.lat] }, properties }
  })
  return { type: 'FeatureCollection', features: [...circles, ...points] }
}
