/**
 * The district's road network (issue 18), pure and deterministic for a seed: a GeoJSON
 * FeatureCollection of LineStrings with OSM `highway` / `oneway` properties, as FC_ROAD_NETWORK
 * reads it (lines join where they share a coordinate).
 *
 * - a street grid every `gridM` (default 75 m: Bao'an's urban villages are that dense) of
 *   `residential` streets, every 8th line a `primary` arterial, every 5th east–west residential
 *   street one-way (alternating east and west);
 * - a river running north–south at 40 % of the width, ~120 m wide, crossed only by `bridges`
 *   arterial bridges (default 4) and two `footway` footbridges (for walkers and nobody else);
 * - an expressway (`motorway`) running north–south at 72 % of the width, with no shared node
 *   with the grid except its interchanges (`motorway_link`s every `interchangeM`, default 4 km);
 *   the grid's streets pass under it only every 1.5 km (elsewhere they stop at its fence).
 *
 * At the default grid over Bao'an's box that is ≈ 215,000 edges (segments between nodes).
 */
import type { BBox } from './district.ts'
import { createRng } from './prng.ts'

const M_PER_DEG = (6_371_008.8 * Math.PI) / 180

export interface RoadOptions {
  bbox: BBox
  seed?: number | string
  gridM?: number
  bridges?: number
  interchangeM?: number
}

export interface RoadFeature {
  type: 'Feature'
  properties: { highway: string; oneway?: 'yes' | '-1'; name?: string }
  geometry: { type: 'LineString'; coordinates: [number, number][] }
}

export interface RoadCollection {
  type: 'FeatureCollection'
  features: RoadFeature[]
}

/** The district's roads (see the module note). */
export function generateRoads(opts: RoadOptions): RoadCollection {
  const [w, s, e, n] = opts.bbox
  const grid = opts.gridM ?? 75
  const rng = createRng(opts.seed ?? 'roads')
  const cos = Math.cos((((s + n) / 2) * Math.PI) / 180)
  const dLon = grid / (M_PER_DEG * cos)
  const dLat = grid / M_PER_DEG
  const cols = Math.floor((e - w) / dLon)
  const rows = Math.floor((n - s) / dLat)
  const x = (i: number) => w + i * dLon
  const y = (j: number) => s + j * dLat
  const riverI = Math.round(cols * 0.4) // the river between columns riverI and riverI + 1 (+ 1)
  const riverGap = Math.max(1, Math.round(120 / grid))
  const exprX = x(Math.round(cols * 0.72)) + dLon / 2 // between two grid columns: no shared node
  const exprCol = Math.round(cols * 0.72)
  const bridgeRows = new Set<number>()
  const nBridges = opts.bridges ?? 4
  for (let k = 0; k < nBridges; k++) bridgeRows.add(Math.round(((k + 0.5) * rows) / nBridges))
  const footRows = new Set([Math.round(rows * 0.3) + 3, Math.round(rows * 0.7) + 3])
  const underEvery = Math.max(1, Math.round(1500 / grid))
  const features: RoadFeature[] = []
  const line = (coords: [number, number][], highway: string, oneway?: 'yes' | '-1') => {
    if (coords.length >= 2)
      features.push({
        type: 'Feature',
        properties: { highway, ...(oneway ? { oneway } : {}) },
        geometry: { type: 'LineString', coordinates: coords },
      })
  }

  // North–south streets (the river's columns are water).
  for (let i = 0; i <= cols; i++) {
    if (i > riverI && i <= riverI + riverGap) continue
    const coords: [number, number][] = []
    for (let j = 0; j <= rows; j++) coords.push([x(i), y(j)])
    line(coords, i % 8 === 0 ? 'primary' : 'residential')
  }
  // East–west streets: cut at the river (but bridges), and at the expressway (but underpasses).
  for (let j = 0; j <= rows; j++) {
    const arterial = j % 8 === 0 || bridgeRows.has(j)
    const highway = arterial ? 'primary' : 'residential'
    const oneway = !arterial && j % 5 === 0 ? (j % 10 === 0 ? 'yes' : '-1') : undefined
    const crossesRiver = bridgeRows.has(j)
    const crossesExpressway = j % underEvery === 0
    let run: [number, number][] = []
    for (let i = 0; i <= cols; i++) {
      const inRiver = i > riverI && i <= riverI + riverGap
      if (inRiver && !crossesRiver) {
        line(run, highway, oneway)
        run = []
        continue
      }
      run.push([x(i), y(j)])
      if (i === exprCol && !crossesExpressway) {
        line(run, highway, oneway)
        run = []
      }
    }
    line(run, highway, oneway)
  }
  // Footbridges over the river: walkers only (and bicycles are not on footways either).
  for (const j of footRows) {
    if (bridgeRows.has(j) || j > rows) continue
    const coords: [number, number][] = []
    for (let i = riverI; i <= riverI + riverGap + 1; i++) coords.push([x(i), y(j)])
    line(coords, 'footway')
  }
  // The expressway, both carriageways as one two-way line, and its interchanges.
  const expr: [number, number][] = []
  for (let j = 0; j <= rows; j++) expr.push([exprX, y(j) + dLat / 2])
  line(expr, 'motorway')
  const every = Math.max(1, Math.round((opts.interchangeM ?? 4000) / grid))
  for (let j = Math.round(every / 2) + rng.int(0, 2); j < rows; j += every) {
    line(
      [
        [x(exprCol), y(j)],
        [exprX, y(j) + dLat / 2],
      ],
      'motorway_link',
    )
    line(
      [
        [exprX, y(j) + dLat / 2],
        [x(exprCol + 1), y(j)],
      ],
      'motorway_link',
    )
  }
  return { type: 'FeatureCollection', features }
}
