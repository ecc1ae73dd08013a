/**
 * The road network at work: snapping a point to the nearest road its mode may use (an R-tree
 * of the edges), and the reverse search from an incident that gives every responder's road
 * time at once ([docs/DOMAIN.md §The 5-minute circle on real roads]).
 *
 * One reverse Dijkstra per mode from the incident's snapped point, with a cutoff: a node's
 * time is how long the mode needs from it to the incident along the roads (arcs taken in
 * their own direction: a one-way street is searched against its flow). A responder's route
 * is then its straight stretch to its snapped point + along its edge to either end (the ends
 * its direction allows) + that end's time + the incident's straight stretch; on the incident's
 * own edge, straight along it when the direction allows.
 *
 * Only times ≤ the cutoff are final (every label ≤ the cutoff was settled before the search
 * stopped); a route through a node beyond it counts as out of reach.
 */
import RBush, { type BBox } from 'rbush'
import { cosDeg, haversineM, M_PER_DEG, nearestFraction } from './geo.ts'
import { BACKWARD, FORWARD, type ModeGraph, type RoadGraph } from './graph.ts'
import type { RoadMode, RoadProfiles } from './profile.ts'

/** A point snapped to a road: the edge, the fraction t ∈ [0, 1] along it from its `from` node, the stretch. */
export interface Snap {
  edge: number
  t: number
  /** The point on the road. */
  lon: number
  lat: number
  /** Straight-line metres from the point to the road. */
  stretchM: number
}

/** A route to the incident, turnout not included. */
export interface Route {
  /** Straight stretches at the mode's speed + time along roads, s. */
  timeS: number
  /** Straight stretches + length along roads, m. */
  lengthM: number
}

/** One reverse search: from the incident's snapped point, every node within the cutoff. */
export interface Reach {
  mode: RoadMode
  /** The incident's snap. */
  incident: Snap
  /** Road seconds searched. */
  cutoffS: number
  /** Per node: road seconds to the incident (final when ≤ cutoffS) and road metres. */
  time: Float64Array
  length: Float32Array
  /** Nodes settled (time ≤ cutoffS), in order of time. */
  settled: Int32Array
  /** The route of a responder snapped at `s`; undefined when it is out of reach. */
  route(s: Snap): Route | undefined
}

interface EdgeBox extends BBox {
  edge: number
}

export interface RoadNetwork {
  readonly graph: RoadGraph
  readonly profiles: RoadProfiles
  /** FC_ROAD_SNAP_M: the longest straight stretch between a point and a road. */
  readonly snapM: number
  /** The nearest road `mode` may use within snapM of (lon, lat), or undefined. */
  snap(mode: RoadMode, lon: number, lat: number): Snap | undefined
  /**
   * The reverse search from (lon, lat) for `mode`, road time ≤ cutoffS; undefined when no road
   * is near. Cached: the answer is good until REACH_CACHE (12) other searches have run (its
   * arrays then serve another search), so use it at once, never keep it.
   */
  reach(mode: RoadMode, lon: number, lat: number, cutoffS: number): Reach | undefined
}

/** A binary min-heap of (node, key) in typed arrays; stale entries are skipped by the caller. */
class Heap {
  private nodes = new Int32Array(1024)
  private keys = new Float64Array(1024)
  size = 0
  push(node: number, key: number): void {
    if (this.size === this.nodes.length) {
      const n = new Int32Array(this.size * 2)
      n.set(this.nodes)
      this.nodes = n
      const k = new Float64Array(this.size * 2)
      k.set(this.keys)
      this.keys = k
    }
    let i = this.size++
    const { nodes, keys } = this
    while (i > 0) {
      const p = (i - 1) >> 1
      if (keys[p]! <= key) break
      nodes[i] = nodes[p]!
      keys[i] = keys[p]!
      i = p
    }
    nodes[i] = node
    keys[i] = key
  }
  /** Pops the minimum; its key is left in `key`. */
  key = 0
  pop(): number {
    const { nodes, keys } = this
    const top = nodes[0]!
    this.key = keys[0]!
    const n = --this.size
    const lastNode = nodes[n]!
    const lastKey = keys[n]!
    let i = 0
    for (;;) {
      let c = 2 * i + 1
      if (c >= n) break
      if (c + 1 < n && keys[c + 1]! < keys[c]!) c++
      if (keys[c]! >= lastKey) break
      nodes[i] = nodes[c]!
      keys[i] = keys[c]!
      i = c
    }
    nodes[i] = lastNode
    keys[i] = lastKey
    return top
  }
}

function edgeBoxes(g: RoadGraph): RBush<EdgeBox> {
  const items: EdgeBox[] = new Array(g.edges)
  for (let i = 0; i < g.edges; i++) {
    const a = g.from[i]!
    const b = g.to[i]!
    items[i] = {
      minX: Math.min(g.lon[a]!, g.lon[b]!),
      minY: Math.min(g.lat[a]!, g.lat[b]!),
      maxX: Math.max(g.lon[a]!, g.lon[b]!),
      maxY: Math.max(g.lat[a]!, g.lat[b]!),
      edge: i,
    }
  }
  return new RBush<EdgeBox>().load(items)
}

/** The nearest edge of `mg` to (lon, lat) within `maxM`: boxes growing ×4 from 50 m. */
function snapTo(g: RoadGraph, tree: RBush<EdgeBox>, mg: ModeGraph, lon: number, lat: number, maxM: number) {
  const cos = cosDeg(lat)
  for (let r = Math.min(50, maxM); ; r = Math.min(r * 4, maxM)) {
    const dLat = (r / M_PER_DEG) * 1.001
    const dLon = dLat / Math.max(cos, 1e-6)
    let best: Snap | undefined
    for (const box of tree.search({
      minX: lon - dLon,
      minY: lat - dLat,
      maxX: lon + dLon,
      maxY: lat + dLat,
    })) {
      if (mg.edgeSpeed[box.edge] === 0) continue
      const a = g.from[box.edge]!
      const b = g.to[box.edge]!
      const t = nearestFraction(lon, lat, g.lon[a]!, g.lat[a]!, g.lon[b]!, g.lat[b]!, cos)
      const plon = g.lon[a]! + (g.lon[b]! - g.lon[a]!) * t
      const plat = g.lat[a]! + (g.lat[b]! - g.lat[a]!) * t
      const d = haversineM(lon, lat, plon, plat)
      if (best === undefined || d < best.stretchM || (d === best.stretchM && box.edge < best.edge)) {
        best = { edge: box.edge, t, lon: plon, lat: plat, stretchM: d }
      }
    }
    // Any edge nearer than r meets the box: the best found is the nearest of all.
    if (best !== undefined && best.stretchM <= r) return best.stretchM <= maxM ? best : undefined
    if (r >= maxM) return undefined
  }
}

/**
 * A search's per-node arrays. They are as long as the graph has nodes, so they are not
 * allocated per search (a district's 110,000 nodes are 1.4 MB a search, and the garbage
 * collector's pauses were the p99): a search evicted from the cache gives its arrays back,
 * reset only where that search wrote (`touched`).
 */
interface Work {
  time: Float64Array
  length: Float32Array
  done: Uint8Array
  touched: number[]
}

function freshWork(n: number): Work {
  return {
    time: new Float64Array(n).fill(Number.POSITIVE_INFINITY),
    length: new Float32Array(n),
    done: new Uint8Array(n),
    touched: [],
  }
}

function resetWork(w: Work): Work {
  for (const v of w.touched) {
    w.time[v] = Number.POSITIVE_INFINITY
    w.length[v] = 0
    w.done[v] = 0
  }
  w.touched.length = 0
  return w
}

/** The reverse Dijkstra from the incident's snap `inc`, road time ≤ cutoffS. */
function search(
  g: RoadGraph,
  mg: ModeGraph,
  inc: Snap,
  cutoffS: number,
  heap: Heap,
  work: Work,
): Reach & { work: Work } {
  const { time, length, done, touched } = work
  const settled: number[] = []
  const e = inc.edge
  const L = g.length[e]!
  const v = mg.edgeSpeed[e]!
  const dir = mg.edgeDir[e]!
  const a = g.from[e]!
  const b = g.to[e]!
  heap.size = 0
  // From `from` the incident is t·L ahead along the edge (forward); from `to`, (1 − t)·L back.
  // A point at an end of its edge is at that node, whatever the edge's direction.
  if (dir & FORWARD || inc.t === 0) {
    time[a] = (inc.t * L) / v
    length[a] = inc.t * L
    touched.push(a)
    heap.push(a, time[a]!)
  }
  if ((dir & BACKWARD || inc.t === 1) && ((1 - inc.t) * L) / v < time[b]!) {
    time[b] = ((1 - inc.t) * L) / v
    length[b] = (1 - inc.t) * L
    touched.push(b)
    heap.push(b, time[b]!)
  }
  const { inStart, inFrom, inTime, inLen } = mg
  while (heap.size > 0) {
    const x = heap.pop()
    const tx = heap.key
    if (tx > cutoffS) break
    if (done[x] === 1 || tx > time[x]!) continue
    done[x] = 1
    settled.push(x)
    for (let k = inStart[x]!, end = inStart[x + 1]!; k < end; k++) {
      const y = inFrom[k]!
      const ty = tx + inTime[k]!
      if (ty < time[y]!) {
        if (time[y] === Number.POSITIVE_INFINITY) touched.push(y)
        time[y] = ty
        length[y] = length[x]! + inLen[k]!
        heap.push(y, ty)
      }
    }
  }
  const reach: Reach & { work: Work } = {
    work,
    mode: mg.mode,
    incident: inc,
    cutoffS,
    time,
    length,
    settled: Int32Array.from(settled),
    route: (s) => routeOf(g, mg, reach, s),
  }
  return reach
}

function routeOf(g: RoadGraph, mg: ModeGraph, reach: Reach, s: Snap): Route | undefined {
  const { time, length, cutoffS, incident: inc } = reach
  const f = s.edge
  const L = g.length[f]!
  const v = mg.edgeSpeed[f]!
  const dir = mg.edgeDir[f]!
  if (v === 0) return undefined
  let best = Number.POSITIVE_INFINITY
  let bestLen = 0
  const consider = (t: number, len: number) => {
    if (t < best) {
      best = t
      bestLen = len
    }
  }
  if (dir & FORWARD || s.t === 1) {
    const to = g.to[f]!
    if (time[to]! <= cutoffS) consider(((1 - s.t) * L) / v + time[to]!, (1 - s.t) * L + length[to]!)
  }
  if (dir & BACKWARD || s.t === 0) {
    const from = g.from[f]!
    if (time[from]! <= cutoffS) consider((s.t * L) / v + time[from]!, s.t * L + length[from]!)
  }
  if (f === inc.edge) {
    if (s.t === inc.t) consider(0, 0)
    else if (s.t < inc.t && dir & FORWARD) consider(((inc.t - s.t) * L) / v, (inc.t - s.t) * L)
    else if (s.t > inc.t && dir & BACKWARD) consider(((s.t - inc.t) * L) / v, (s.t - inc.t) * L)
  }
  if (!(best <= cutoffS)) return undefined
  return {
    timeS: (s.stretchM + inc.stretchM) / mg.speedMps + best,
    lengthM: s.stretchM + inc.stretchM + bestLen,
  }
}

/** Searches kept (the last few incidents × modes): the circle, the offers and the widening ask again. */
const REACH_CACHE = 12

export function createRoadNetwork(graph: RoadGraph, profiles: RoadProfiles, snapM: number): RoadNetwork {
  const tree = edgeBoxes(graph)
  const heap = new Heap()
  const cache = new Map<string, Reach & { work: Work }>()
  const pool: Work[] = []
  return {
    graph,
    profiles,
    snapM,
    snap: (mode, lon, lat) => snapTo(graph, tree, graph.modes[mode], lon, lat, snapM),
    reach(mode, lon, lat, cutoffS) {
      const key = `${mode} ${lon} ${lat}`
      const held = cache.get(key)
      if (held !== undefined && held.cutoffS >= cutoffS) {
        cache.delete(key)
        cache.set(key, held)
        return held
      }
      const inc = snapTo(graph, tree, graph.modes[mode], lon, lat, snapM)
      if (inc === undefined) return undefined
      if (held !== undefined) {
        cache.delete(key)
        pool.push(resetWork(held.work))
      }
      const r = search(graph, graph.modes[mode], inc, cutoffS, heap, pool.pop() ?? freshWork(graph.nodes))
      cache.set(key, r)
      while (cache.size > REACH_CACHE) {
        const oldest = cache.keys().next().value!
        pool.push(resetWork(cache.get(oldest)!.work))
        cache.delete(oldest)
      }
      return r
    },
  }
}
