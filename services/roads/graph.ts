/**
 * The road graph, compact: nodes and edges in typed arrays, and per travel mode the arcs
 * into each node in compressed sparse rows (CSR) for the reverse search (who reaches this
 * node, in how long). An edge is one straight segment of a way (between two consecutive
 * coordinates); ways join where they share a node (a coordinate in GeoJSON, a node id in OSM).
 *
 * Memory for E edges and N nodes: 16 N (coordinates) + 14 E (edges) + per mode up to
 * 4 N + 20 E (two arcs an edge): a 200,000-edge district is under 20 MB.
 */
import { haversineM } from './geo.ts'
import { ROAD_CLASSES, ROAD_MODES, type RoadMode, type RoadProfiles } from './profile.ts'

/** Collects nodes and segments while a file is read, then `build`s the graph. */
export class GraphBuilder {
  private lon: number[] = []
  private lat: number[] = []
  private from: number[] = []
  private to: number[] = []
  private cls: number[] = []
  private oneway: number[] = []
  /** Segments dropped: zero length or a coordinate out of range. */
  dropped = 0

  get nodeCount(): number {
    return this.lon.length
  }
  get edgeCount(): number {
    return this.from.length
  }

  addNode(lon: number, lat: number): number {
    this.lon.push(lon)
    this.lat.push(lat)
    return this.lon.length - 1
  }

  /** A segment from node a to node b of highway class `cls` (index into ROAD_CLASSES). */
  addSegment(a: number, b: number, cls: number, oneway: 1 | -1 | 0): void {
    if (a === b) {
      this.dropped++
      return
    }
    // A backward one-way street is a forward one from b to a.
    if (oneway === -1) [a, b] = [b, a]
    this.from.push(a)
    this.to.push(b)
    this.cls.push(cls)
    this.oneway.push(oneway === 0 ? 0 : 1)
  }

  build(profiles: RoadProfiles, speeds: Record<RoadMode, number>): RoadGraph {
    const n = this.lon.length
    const e = this.from.length
    const lon = Float64Array.from(this.lon)
    const lat = Float64Array.from(this.lat)
    const from = Int32Array.from(this.from)
    const to = Int32Array.from(this.to)
    const cls = Uint8Array.from(this.cls)
    const oneway = Uint8Array.from(this.oneway)
    const length = new Float64Array(e)
    for (let i = 0; i < e; i++) {
      length[i] = haversineM(lon[from[i]!]!, lat[from[i]!]!, lon[to[i]!]!, lat[to[i]!]!)
    }
    const graph: RoadGraph = {
      nodes: n,
      edges: e,
      lon,
      lat,
      from,
      to,
      cls,
      oneway,
      length,
      modes: {} as never,
    }
    for (const mode of ROAD_MODES) graph.modes[mode] = modeGraph(graph, mode, profiles, speeds[mode])
    return graph
  }
}

/** One mode's view of the graph. */
export interface ModeGraph {
  mode: RoadMode
  /** The mode's own speed (the straight stretches), m/s. */
  speedMps: number
  /** Per edge: the speed along it (0: the mode may not use it), and bit 1 forward / bit 2 backward allowed. */
  edgeSpeed: Float64Array
  edgeDir: Uint8Array
  /** The arcs into node v: inStart[v] ≤ k < inStart[v + 1]; inFrom[k] → v in inTime[k] s over inLen[k] m. */
  inStart: Int32Array
  inFrom: Int32Array
  inTime: Float64Array
  inLen: Float64Array
  /** The arcs out of node u (the forward search of coverage): outStart[u] ≤ k < outStart[u + 1]; u → outTo[k] in outTime[k] s. */
  outStart: Int32Array
  outTo: Int32Array
  outTime: Float64Array
}

export interface RoadGraph {
  nodes: number
  edges: number
  lon: Float64Array
  lat: Float64Array
  from: Int32Array
  to: Int32Array
  cls: Uint8Array
  /** 1: one-way from `from` to `to` (for the modes that obey it). */
  oneway: Uint8Array
  length: Float64Array
  modes: Record<RoadMode, ModeGraph>
}

export const FORWARD = 1
export const BACKWARD = 2

function modeGraph(g: RoadGraph, mode: RoadMode, profiles: RoadProfiles, speedMps: number): ModeGraph {
  const caps = ROAD_CLASSES.map((c) => profiles[mode][c])
  const obeysOneway = mode === 'motor'
  const edgeSpeed = new Float64Array(g.edges)
  const edgeDir = new Uint8Array(g.edges)
  const count = new Int32Array(g.nodes + 1)
  for (let i = 0; i < g.edges; i++) {
    const cap = caps[g.cls[i]!]
    if (cap === undefined) continue
    edgeSpeed[i] = Math.min(cap, speedMps)
    const dir = obeysOneway && g.oneway[i] === 1 ? FORWARD : FORWARD | BACKWARD
    edgeDir[i] = dir
    if (dir & FORWARD) count[g.to[i]! + 1]!++
    if (dir & BACKWARD) count[g.from[i]! + 1]!++
  }
  for (let v = 0; v < g.nodes; v++) count[v + 1]! += count[v]!
  const arcs = count[g.nodes]!
  const inStart = count
  const fill = inStart.slice(0, g.nodes)
  const inFrom = new Int32Array(arcs)
  const inTime = new Float64Array(arcs)
  const inLen = new Float64Array(arcs)
  const put = (u: number, v: number, edge: number) => {
    const k = fill[v]!++
    inFrom[k] = u
    inLen[k] = g.length[edge]!
    inTime[k] = g.length[edge]! / edgeSpeed[edge]!
  }
  for (let i = 0; i < g.edges; i++) {
    const dir = edgeDir[i]!
    if (dir & FORWARD) put(g.from[i]!, g.to[i]!, i)
    if (dir & BACKWARD) put(g.to[i]!, g.from[i]!, i)
  }
  // The same arcs by their tail.
  const outStart = new Int32Array(g.nodes + 1)
  for (let k = 0; k < arcs; k++) outStart[inFrom[k]! + 1]!++
  for (let v = 0; v < g.nodes; v++) outStart[v + 1]! += outStart[v]!
  const next = outStart.slice(0, g.nodes)
  const outTo = new Int32Array(arcs)
  const outTime = new Float64Array(arcs)
  for (let v = 0; v < g.nodes; v++) {
    for (let k = inStart[v]!; k < inStart[v + 1]!; k++) {
      const slot = next[inFrom[k]!]!++
      outTo[slot] = v
      outTime[slot] = inTime[k]!
    }
  }
  return { mode, speedMps, edgeSpeed, edgeDir, inStart, inFrom, inTime, inLen, outStart, outTo, outTime }
}
