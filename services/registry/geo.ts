/**
 * Geometry at the registry's edge: pure checks with reasons that name the bad part, and the
 * index that places a point in a community (bbox prefilter, then Turf's point-in-polygon).
 */
import { area, booleanPointInPolygon } from '@turf/turf'
import type { MultiPolygon, Polygon, Position } from 'geojson'
import type { LonLat } from './types.ts'

export type Bbox = [minLon: number, minLat: number, maxLon: number, maxLat: number]

function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x)
}

/** Why `lon`/`lat` is not a WGS84 position, or undefined. `what` prefixes the reason. */
export function checkLonLat(value: unknown, what = 'location'): string | undefined {
  if (!Array.isArray(value) || value.length < 2 || value.length > 3) {
    return `${what} must be [lon, lat]`
  }
  const [lon, lat] = value as unknown[]
  if (!isFiniteNumber(lon)) return `${what}: longitude must be a finite number`
  if (!isFiniteNumber(lat)) return `${what}: latitude must be a finite number`
  if (lon < -180 || lon > 180) return `${what}: longitude ${lon} is outside -180..180`
  if (lat < -90 || lat > 90) return `${what}: latitude ${lat} is outside -90..90 (is it [lon, lat]?)`
  if (value.length === 3 && !isFiniteNumber(value[2])) return `${what}: altitude must be a finite number`
  return undefined
}

function checkRing(ring: unknown, where: string): string | undefined {
  if (!Array.isArray(ring)) return `${where} must be an array of positions`
  if (typeof ring[0] === 'number') {
    return `${where} is a single position, not an array of [lon, lat] positions (is the nesting one level short?)`
  }
  if (ring.length < 4) {
    return `${where} has ${ring.length} position${ring.length === 1 ? '' : 's'}; a ring needs at least 4`
  }
  for (let i = 0; i < ring.length; i++) {
    const reason = checkLonLat(ring[i], `position ${i} of ${where}`)
    if (reason) return reason
  }
  const first = ring[0] as number[]
  const last = ring[ring.length - 1] as number[]
  if (first[0] !== last[0] || first[1] !== last[1]) {
    return `${where} is not closed: its first position [${first[0]}, ${first[1]}] differs from its last [${last[0]}, ${last[1]}]`
  }
  return undefined
}

function checkPolygonRings(
  rings: unknown,
  where: (ring: number) => string,
  polygon: string,
): string | undefined {
  if (!Array.isArray(rings)) return `${polygon} must be an array of rings`
  if (rings.length === 0) return `${polygon} has no rings`
  for (let i = 0; i < rings.length; i++) {
    const reason = checkRing(rings[i], where(i))
    if (reason) return reason
  }
  return undefined
}

/**
 * Why a community's geometry is not a usable Polygon or MultiPolygon, or undefined when it is.
 * Checks: the type, the nesting, closed rings of at least 4 positions, finite lon/lat in range.
 */
export function checkCommunityGeometry(geometry: unknown): string | undefined {
  if (typeof geometry !== 'object' || geometry === null) return 'geometry must be an object'
  const g = geometry as { type?: unknown; coordinates?: unknown }
  if (g.type === 'Polygon') {
    return checkPolygonRings(g.coordinates, (r) => `ring ${r}`, 'the polygon')
  }
  if (g.type === 'MultiPolygon') {
    if (!Array.isArray(g.coordinates)) return 'geometry.coordinates must be an array of polygons'
    if (g.coordinates.length === 0) return 'the multipolygon has no polygons'
    for (let p = 0; p < g.coordinates.length; p++) {
      const reason = checkPolygonRings(g.coordinates[p], (r) => `ring ${r} of polygon ${p}`, `polygon ${p}`)
      if (reason) return reason
    }
    return undefined
  }
  return `geometry.type must be "Polygon" or "MultiPolygon", not ${JSON.stringify(g.type ?? null)}`
}

export function bboxOf(geometry: Polygon | MultiPolygon): Bbox {
  let minLon = Number.POSITIVE_INFINITY
  let minLat = Number.POSITIVE_INFINITY
  let maxLon = Number.NEGATIVE_INFINITY
  let maxLat = Number.NEGATIVE_INFINITY
  const visit = (ring: Position[]) => {
    for (const [lon, lat] of ring as [number, number][]) {
      if (lon < minLon) minLon = lon
      if (lon > maxLon) maxLon = lon
      if (lat < minLat) minLat = lat
      if (lat > maxLat) maxLat = lat
    }
  }
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates
  for (const polygon of polygons) for (const ring of polygon) visit(ring)
  return [minLon, minLat, maxLon, maxLat]
}

/** Area in m² (Turf: geodesic on the WGS84 sphere), holes subtracted. */
export function areaM2(geometry: Polygon | MultiPolygon): number {
  return area(geometry)
}

interface Indexed {
  id: string
  geometry: Polygon | MultiPolygon
  bbox: Bbox
  areaM2: number
}

/**
 * Which community a point lies in. A bbox prefilter leaves Turf's exact test for the few
 * communities whose box holds the point. Where polygons overlap (a point on a shared border,
 * or an enclave), the smallest community wins, then the lowest id: the answer is stable.
 */
export interface CommunityIndex {
  add(id: string, geometry: Polygon | MultiPolygon): void
  locate(point: LonLat): string | undefined
  areaM2(id: string): number | undefined
  bbox(id: string): Bbox | undefined
}

export function createCommunityIndex(): CommunityIndex {
  const entries = new Map<string, Indexed>()
  return {
    add(id, geometry) {
      entries.set(id, { id, geometry, bbox: bboxOf(geometry), areaM2: areaM2(geometry) })
    },
    locate([lon, lat]) {
      let best: Indexed | undefined
      for (const e of entries.values()) {
        const [minLon, minLat, maxLon, maxLat] = e.bbox
        if (lon < minLon || lon > maxLon || lat < minLat || lat > maxLat) continue
        if (!booleanPointInPolygon([lon, lat], e.geometry)) continue
        if (best === undefined || e.areaM2 < best.areaM2 || (e.areaM2 === best.areaM2 && e.id < best.id))
          best = e
      }
      return best?.id
    },
    areaM2: (id) => entries.get(id)?.areaM2,
    bbox: (id) => entries.get(id)?.bbox,
  }
}
