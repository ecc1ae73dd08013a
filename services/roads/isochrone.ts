/**
 * The isochrone of one mode: the places from which the mode reaches the incident within a
 * budget (the circle's limit less the turnout), as a Polygon or MultiPolygon that follows the
 * roads ([docs/PROTOCOL.md §Roads]).
 *
 * Drawn on a grid of square cells over what the search reached: a cell is inside when its
 * centre's route — the very arithmetic of a responder's ETA (snap to the nearest road the mode
 * may use, its stretch, the search's time) — fits the budget. The cells of the responders
 * given are then set by the responders' own ETAs, so that the polygon agrees with them to the
 * letter: every responder inside lies in it, none outside does (a cell only ever holds one
 * decision; cells are ~10–40 m). The cells' outline is traced into rings (exterior
 * counter-clockwise, holes clockwise, as RFC 7946 asks); cells touching only at a corner are
 * separate.
 */
import type { MultiPolygon, Polygon, Position } from 'geojson'
import { cosDeg, M_PER_DEG } from './geo.ts'
import type { Reach, RoadNetwork } from './network.ts'

export interface IsochroneOptions {
  /** Most cells in the grid (the cell grows to keep to it); default 8,000. */
  maxCells?: number
  /** Smallest cell, m; default 10. */
  minCellM?: number
  /** Points whose own decision their cell takes (responders with their ETAs). */
  points?: readonly { lon: number; lat: number; inside: boolean }[]
}

interface Grid {
  lon0: number
  lat0: number
  dLon: number
  dLat: number
  w: number
  h: number
  inside: Uint8Array
}

/** The box of what can be inside: nodes reached within the budget, their neighbours, widened by a stretch. */
function extent(net: RoadNetwork, reach: Reach, budgetS: number): [number, number, number, number] {
  const g = net.graph
  const mg = g.modes[reach.mode]
  let minX = reach.incident.lon
  let maxX = minX
  let minY = reach.incident.lat
  let maxY = minY
  const take = (v: number) => {
    const x = g.lon[v]!
    const y = g.lat[v]!
    if (x < minX) minX = x
    if (x > maxX) maxX = x
    if (y < minY) minY = y
    if (y > maxY) maxY = y
  }
  take(g.from[reach.incident.edge]!)
  take(g.to[reach.incident.edge]!)
  for (const v of reach.settled) {
    if (reach.time[v]! > budgetS) break
    take(v)
    for (let k = mg.inStart[v]!; k < mg.inStart[v + 1]!; k++) take(mg.inFrom[k]!)
  }
  const r = Math.min(net.snapM, budgetS * mg.speedMps)
  const dLat = r / M_PER_DEG
  const dLon = dLat / Math.max(1e-6, cosDeg((minY + maxY) / 2))
  return [minX - dLon, minY - dLat, maxX + dLon, maxY + dLat]
}

/** Grids already filled, per search and budget (the search is cached by the network, so are they). */
const grids = new WeakMap<Reach, Map<string, Grid | undefined>>()

function filled(net: RoadNetwork, reach: Reach, budgetS: number, opts: IsochroneOptions): Grid | undefined {
  const key = `${budgetS} ${opts.maxCells} ${opts.minCellM}`
  let held = grids.get(reach)
  if (held === undefined) {
    held = new Map()
    grids.set(reach, held)
  }
  if (!held.has(key)) held.set(key, fill(net, reach, budgetS, opts))
  const grid = held.get(key)
  if (grid === undefined) return undefined
  const inside = grid.inside.slice()
  for (const p of opts.points ?? []) {
    const i = Math.floor((p.lon - grid.lon0) / grid.dLon)
    const j = Math.floor((p.lat - grid.lat0) / grid.dLat)
    if (i >= 0 && j >= 0 && i < grid.w && j < grid.h) inside[i + j * grid.w] = p.inside ? 1 : 0
  }
  return { ...grid, inside }
}

function fill(net: RoadNetwork, reach: Reach, budgetS: number, opts: IsochroneOptions): Grid | undefined {
  if (!(budgetS >= 0)) return undefined
  const [x0, y0, x1, y1] = extent(net, reach, budgetS)
  const cos = Math.max(1e-6, cosDeg((y0 + y1) / 2))
  const wM = (x1 - x0) * M_PER_DEG * cos
  const hM = (y1 - y0) * M_PER_DEG
  const cellM = Math.max(opts.minCellM ?? 10, Math.sqrt((wM * hM) / (opts.maxCells ?? 8000)))
  const dLat = cellM / M_PER_DEG
  const dLon = dLat / cos
  const w = Math.max(1, Math.ceil((x1 - x0) / dLon))
  const h = Math.max(1, Math.ceil((y1 - y0) / dLat))
  const inside = new Uint8Array(w * h)
  for (let j = 0; j < h; j++) {
    const lat = y0 + (j + 0.5) * dLat
    for (let i = 0; i < w; i++) {
      const s = net.snap(reach.mode, x0 + (i + 0.5) * dLon, lat)
      if (s === undefined) continue
      const route = reach.route(s)
      if (route !== undefined && route.timeS <= budgetS) inside[i + j * w] = 1
    }
  }
  // A point outside the grid cannot be inside: the grid holds every place within the budget.
  return { lon0: x0, lat0: y0, dLon, dLat, w, h, inside }
}

// Directions of a boundary step: east, north, west, south.
const DX = [1, 0, -1, 0]
const DY = [0, 1, 0, -1]

/** The outline of the inside cells as closed rings of grid vertices, inside on the left of every step. */
function trace(grid: Grid): [number, number][][] {
  const { w, h, inside } = grid
  const at = (i: number, j: number) => i >= 0 && j >= 0 && i < w && j < h && inside[i + j * w] === 1
  const W1 = w + 1
  // Outgoing boundary steps per vertex: up to two (at a saddle), as direction + 1 (0: none).
  const out = new Uint8Array(W1 * (h + 1) * 2)
  const add = (i: number, j: number, d: number) => {
    const k = (i + j * W1) * 2
    out[out[k] === 0 ? k : k + 1] = d + 1
  }
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      if (!at(i, j)) continue
      if (!at(i, j - 1)) add(i, j, 0)
      if (!at(i + 1, j)) add(i + 1, j, 1)
      if (!at(i, j + 1)) add(i + 1, j + 1, 2)
      if (!at(i - 1, j)) add(i, j + 1, 3)
    }
  }
  const rings: [number, number][][] = []
  // 0: a left turn from `from`, 1 straight on, 2 right (3, back, never happens).
  const turn = (from: number, d: number) => (from < 0 ? 0 : (from - d + 5) % 4)
  /** Take the step out of (i, j) that turns most to the left of `from` (−1: any). */
  const take = (i: number, j: number, from: number): number => {
    const k = (i + j * W1) * 2
    let best = -1
    let slot = -1
    for (const s of [k, k + 1]) {
      const d = out[s]! - 1
      if (d < 0) continue
      if (best < 0 || turn(from, d) < turn(from, best)) {
        best = d
        slot = s
      }
    }
    if (slot >= 0) out[slot] = 0
    return best
  }
  // Every step leads on to another (inside cells' sides close up): a ring ends back at its start.
  for (let v = 0; v < W1 * (h + 1); v++) {
    while (out[v * 2] !== 0 || out[v * 2 + 1] !== 0) {
      const si = v % W1
      const sj = (v - si) / W1
      let i = si
      let j = sj
      const ring: [number, number][] = [[i, j]]
      let d = take(i, j, -1)
      for (;;) {
        i += DX[d]!
        j += DY[d]!
        if (i === si && j === sj) break
        const next = take(i, j, d)
        if (next < 0) break
        if (next !== d) ring.push([i, j])
        d = next
      }
      ring.push([si, sj])
      rings.push(ring)
    }
  }
  return rings
}

const signedArea = (r: [number, number][]) => {
  let a = 0
  for (let k = 1; k < r.length; k++) a += r[k - 1]![0] * r[k]![1] - r[k]![0] * r[k - 1]![1]
  return a / 2
}

function contains(r: [number, number][], x: number, y: number): boolean {
  let c = false
  for (let k = 0, l = r.length - 1; k < r.length; l = k++) {
    const [xi, yi] = r[k]!
    const [xj, yj] = r[l]!
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c
  }
  return c
}

/** The isochrone of `reach` for `budgetS` s of travel (turnout not included); undefined when nothing is inside. */
export function isochrone(
  net: RoadNetwork,
  reach: Reach,
  budgetS: number,
  opts: IsochroneOptions = {},
): Polygon | MultiPolygon | undefined {
  const grid = filled(net, reach, budgetS, opts)
  if (grid === undefined) return undefined
  const rings = trace(grid)
  const outers = rings
    .filter((r) => signedArea(r) > 0)
    .map((r) => ({ r, area: signedArea(r), holes: [] as typeof rings }))
  for (const hole of rings.filter((r) => signedArea(r) < 0)) {
    // The cell left of the hole's first step is inside: the smallest exterior around it owns the hole.
    const [a, b] = [hole[0]!, hole[1]!]
    const dx = Math.sign(b[0] - a[0])
    const dy = Math.sign(b[1] - a[1])
    const cx = a[0] + 0.5 * dx - 0.5 * dy
    const cy = a[1] + 0.5 * dy + 0.5 * dx
    let owner: (typeof outers)[number] | undefined
    for (const o of outers)
      if (contains(o.r, cx, cy) && (owner === undefined || o.area < owner.area)) owner = o
    owner?.holes.push(hole)
  }
  if (outers.length === 0) return undefined
  const toLonLat = (r: [number, number][]): Position[] =>
    r.map(([i, j]) => [grid.lon0 + i * grid.dLon, grid.lat0 + j * grid.dLat])
  const polygons = outers.map((o) => [toLonLat(o.r), ...o.holes.map(toLonLat)])
  return polygons.length === 1
    ? { type: 'Polygon', coordinates: polygons[0]! }
    : { type: 'MultiPolygon', coordinates: polygons }
}
