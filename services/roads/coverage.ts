/**
 * Coverage's search, the other way round ([docs/DOMAIN.md §The 5-minute circle on real roads]):
 * one forward Dijkstra per mode from every available responder at once (each starting at its
 * turnout + straight stretch), so that a whole district's buildings are answered by three
 * searches instead of three per building. A building's time is then the same arithmetic as a
 * responder's ETA in the reverse search: along its edge from either end its direction allows
 * (or from a responder on the same edge), plus its own straight stretch.
 */
import { BACKWARD, FORWARD, type RoadGraph } from './graph.ts'
import type { RoadNetwork, Snap } from './network.ts'
import type { RoadMode } from './profile.ts'

export interface Source {
  snap: Snap
  /** Seconds already spent before the road: turnout + stretch ÷ speed. */
  startS: number
}

export interface Arrivals {
  /** Seconds from the first responder to a point snapped at `s` (its stretch included), ∞ when none within the cutoff. */
  at(s: Snap): number
}

/** The forward search of `mode` from `sources`, times ≤ cutoffS. */
export function arrivals(
  net: RoadNetwork,
  mode: RoadMode,
  sources: readonly Source[],
  cutoffS: number,
): Arrivals {
  const g: RoadGraph = net.graph
  const mg = g.modes[mode]
  const time = new Float64Array(g.nodes).fill(Number.POSITIVE_INFINITY)
  const onEdge = new Map<number, Source[]>()
  // A small binary heap of (node, time) pairs, stale entries skipped.
  const heapN: number[] = []
  const heapT: number[] = []
  const push = (v: number, t: number) => {
    let i = heapN.length
    heapN.push(v)
    heapT.push(t)
    while (i > 0) {
      const p = (i - 1) >> 1
      if (heapT[p]! <= t) break
      heapN[i] = heapN[p]!
      heapT[i] = heapT[p]!
      i = p
    }
    heapN[i] = v
    heapT[i] = t
  }
  const pop = (): [number, number] => {
    const top: [number, number] = [heapN[0]!, heapT[0]!]
    const v = heapN.pop()!
    const t = heapT.pop()!
    const n = heapN.length
    if (n > 0) {
      let i = 0
      for (;;) {
        let c = 2 * i + 1
        if (c >= n) break
        if (c + 1 < n && heapT[c + 1]! < heapT[c]!) c++
        if (heapT[c]! >= t) break
        heapN[i] = heapN[c]!
        heapT[i] = heapT[c]!
        i = c
      }
      heapN[i] = v
      heapT[i] = t
    }
    return top
  }
  const relax = (v: number, t: number) => {
    if (t <= cutoffS && t < time[v]!) {
      time[v] = t
      push(v, t)
    }
  }
  for (const src of sources) {
    const { edge: f, t } = src.snap
    const L = g.length[f]!
    const v = mg.edgeSpeed[f]!
    if (v === 0) continue
    const dir = mg.edgeDir[f]!
    if (dir & FORWARD || t === 1) relax(g.to[f]!, src.startS + ((1 - t) * L) / v)
    if (dir & BACKWARD || t === 0) relax(g.from[f]!, src.startS + (t * L) / v)
    const list = onEdge.get(f)
    if (list === undefined) onEdge.set(f, [src])
    else list.push(src)
  }
  const { outStart, outTo, outTime } = mg
  while (heapN.length > 0) {
    const [x, tx] = pop()
    if (tx > time[x]!) continue
    for (let k = outStart[x]!; k < outStart[x + 1]!; k++) relax(outTo[k]!, tx + outTime[k]!)
  }
  return {
    at(s) {
      const e = s.edge
      const L = g.length[e]!
      const v = mg.edgeSpeed[e]!
      if (v === 0) return Number.POSITIVE_INFINITY
      const dir = mg.edgeDir[e]!
      let best = Number.POSITIVE_INFINITY
      if (dir & FORWARD || s.t === 0) best = Math.min(best, time[g.from[e]!]! + (s.t * L) / v)
      if (dir & BACKWARD || s.t === 1) best = Math.min(best, time[g.to[e]!]! + ((1 - s.t) * L) / v)
      for (const src of onEdge.get(e) ?? []) {
        const d = s.t - src.snap.t
        if (d === 0) best = Math.min(best, src.startS)
        else if (d > 0 && dir & FORWARD) best = Math.min(best, src.startS + (d * L) / v)
        else if (d < 0 && dir & BACKWARD) best = Math.min(best, src.startS + (-d * L) / v)
      }
      return best + s.stretchM / mg.speedMps
    },
  }
}
