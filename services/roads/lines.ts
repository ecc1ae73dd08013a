/**
 * The roads as lines for a map (the console's offline base layer, `GET /api/roads?bbox=`):
 * the graph's edges that cross a box, one MultiLineString per road class, coordinates to five
 * decimals (about a metre). Bounded: at most `maxSegments` segments, the major classes first
 * (motorway … residential, then the paths), so a box the size of the district carries its main
 * roads and a street's worth of box every lane; `truncated` says that classes were left out.
 */
import type { RoadGraph } from './graph.ts'
import { ROAD_CLASSES, type RoadClass } from './profile.ts'

/** [minLon, minLat, maxLon, maxLat] */
export type BBox = [number, number, number, number]

export interface RoadLines {
  type: 'FeatureCollection'
  bbox: BBox
  /** Segments in the answer, and whether some (the minor classes') were left out to stay within the bound. */
  segments: number
  truncated: boolean
  features: {
    type: 'Feature'
    properties: { class: RoadClass; segments: number }
    geometry: { type: 'MultiLineString'; coordinates: [number, number][][] }
  }[]
}

/** The most segments one answer carries (about 50 bytes each). */
export const MAX_ROAD_SEGMENTS = 20_000

const round = (v: number) => Math.round(v * 1e5) / 1e5

/** The roads of `g` that cross `bbox`, major classes first, at most `maxSegments` segments. */
export function roadLines(g: RoadGraph, bbox: BBox, maxSegments = MAX_ROAD_SEGMENTS): RoadLines {
  const [x0, y0, x1, y1] = bbox
  const byClass: number[][] = ROAD_CLASSES.map(() => [])
  for (let e = 0; e < g.edges; e++) {
    const a = g.from[e]!
    const b = g.to[e]!
    const ax = g.lon[a]!
    const bx = g.lon[b]!
    const ay = g.lat[a]!
    const by = g.lat[b]!
    // The segment's own box overlaps the asked box (a long segment crossing it is kept).
    if (Math.max(ax, bx) < x0 || Math.min(ax, bx) > x1 || Math.max(ay, by) < y0 || Math.min(ay, by) > y1)
      continue
    byClass[g.cls[e]!]?.push(e)
  }
  const features: RoadLines['features'] = []
  let segments = 0
  let truncated = false
  for (let c = 0; c < ROAD_CLASSES.length; c++) {
    const edges = byClass[c]!
    if (edges.length === 0) continue
    if (segments + edges.length > maxSegments) {
      truncated = true
      break
    }
    segments += edges.length
    features.push({
      type: 'Feature',
      properties: { class: ROAD_CLASSES[c]!, segments: edges.length },
      geometry: {
        type: 'MultiLineString',
        coordinates: edges.map((e) => [
          [round(g.lon[g.from[e]!]!), round(g.lat[g.from[e]!]!)],
          [round(g.lon[g.to[e]!]!), round(g.lat[g.to[e]!]!)],
        ]),
      },
    })
  }
  return { type: 'FeatureCollection', bbox, segments, truncated, features }
}

/** The widest box one request may ask for, degrees of longitude and of latitude (Bao'an is ~0.4° across). */
export const MAX_BBOX_DEG = 1

/** `minLon,minLat,maxLon,maxLat` → a box, or what is wrong with it. */
export function parseBBox(raw: string | undefined): BBox | { error: string } {
  if (raw === undefined || raw.trim() === '')
    return { error: 'bbox is required: minLon,minLat,maxLon,maxLat' }
  const parts = raw.split(',').map((p) => (p.trim() === '' ? Number.NaN : Number(p)))
  if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n)))
    return { error: `bbox "${raw}" must be four numbers: minLon,minLat,maxLon,maxLat` }
  const [x0, y0, x1, y1] = parts as BBox
  if (x0 < -180 || x1 > 180 || y0 < -90 || y1 > 90)
    return { error: `bbox "${raw}" lies outside longitude −180…180 / latitude −90…90` }
  if (x0 >= x1 || y0 >= y1) return { error: `bbox "${raw}": each minimum must be below its maximum` }
  if (x1 - x0 > MAX_BBOX_DEG || y1 - y0 > MAX_BBOX_DEG)
    return { error: `bbox "${raw}" is wider than ${MAX_BBOX_DEG}° (ask for a smaller part of the map)` }
  return [x0, y0, x1, y1]
}
