/**
 * Small road networks for tests, drawn in metres east and north of an origin and written as
 * the GeoJSON FC_ROAD_NETWORK reads (every LineString's coordinates shared where lines meet).
 */
import fs from 'node:fs'
import path from 'node:path'

const M_PER_DEG = (6_371_008.8 * Math.PI) / 180

export interface Frame {
  origin: readonly [number, number]
  /** [x m east, y m north] → [lon, lat]. */
  at(x: number, y: number): [number, number]
}

export function frame(origin: readonly [number, number]): Frame {
  const cos = Math.cos((origin[1] * Math.PI) / 180)
  return {
    origin,
    at: (x, y) => [origin[0] + x / (M_PER_DEG * cos), origin[1] + y / M_PER_DEG],
  }
}

export interface Way {
  /** Points in metres. */
  m: [number, number][]
  highway: string
  oneway?: string
}

export function roadsGeoJson(f: Frame, ways: Way[]) {
  return {
    type: 'FeatureCollection',
    features: ways.map((w) => ({
      type: 'Feature',
      properties: { highway: w.highway, ...(w.oneway !== undefined ? { oneway: w.oneway } : {}) },
      geometry: { type: 'LineString', coordinates: w.m.map(([x, y]) => f.at(x, y)) },
    })),
  }
}

/** A street along `from`→`to` with a node every `step` m (so crossings can share them). */
export function street(
  from: [number, number],
  to: [number, number],
  highway = 'residential',
  step = 50,
): Way {
  const d = Math.hypot(to[0] - from[0], to[1] - from[1])
  const n = Math.max(1, Math.round(d / step))
  const m: [number, number][] = []
  for (let i = 0; i <= n; i++)
    m.push([from[0] + ((to[0] - from[0]) * i) / n, from[1] + ((to[1] - from[1]) * i) / n])
  return { m, highway }
}

/**
 * The river with one bridge: a west bank street (x = −100 m) and an east bank street
 * (x = +150 m) from 2,000 m south to 500 m north, the river between them, and one bridge at
 * 1,500 m south. Nodes every 50 m, so the bridge meets both streets at a shared node.
 */
export function riverWays(): Way[] {
  return [
    street([-100, -2000], [-100, 500]),
    street([150, -2000], [150, 500]),
    street([-100, -1500], [150, -1500], 'secondary'),
  ]
}

export function writeRoads(dir: string, name: string, doc: unknown): string {
  const file = path.join(dir, name)
  fs.writeFileSync(file, JSON.stringify(doc))
  return file
}
