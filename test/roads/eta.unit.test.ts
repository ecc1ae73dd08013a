/**
 * Road ETAs against an independent brute force: small random networks written as GeoJSON,
 * loaded by the service's reader, searched by its reverse Dijkstra; the test snaps by trying
 * every edge, splits the two snapped edges into explicit arcs and runs Floyd–Warshall.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { buildRoadNetwork, GraphBuilder, type RoadMode, readGeoJson } from '../../services/roads/index.ts'

const LON0 = 113.9
const LAT0 = 22.6
const STEP = 0.0005 // ≈ 51 m of longitude, 55 m of latitude
const SPEEDS: Record<RoadMode, number> = { foot: 1.4, bicycle: 4.2, motor: 8.3 }
const SNAP_M = 120
const CUTOFF_S = 150

/** The test's own table of which mode may use which class, at what speed (m/s). */
const CAN: Record<RoadMode, Record<string, number>> = {
  foot: { residential: 1.4, footway: 1.4, steps: 0.7, service: 1.4 },
  bicycle: { residential: 4.2, service: 4.2 },
  motor: { residential: 8.3, service: 4.2, motorway: 8.3 },
}
const CLASSES = ['residential', 'footway', 'steps', 'motorway', 'service'] as const

const R = 6_371_008.8
const rad = Math.PI / 180
function hav(a: readonly number[], b: readonly number[]): number {
  const s1 = Math.sin(((b[1]! - a[1]!) * rad) / 2)
  const s2 = Math.sin(((b[0]! - a[0]!) * rad) / 2)
  const h = s1 * s1 + s2 * s2 * Math.cos(a[1]! * rad) * Math.cos(b[1]! * rad)
  return 2 * R * Math.atan2(Math.sqrt(h), Math.sqrt(1 - h))
}

interface Edge {
  a: number
  b: number
  cls: (typeof CLASSES)[number]
  oneway: boolean
}

/** The nearest point of every edge the mode may use, by trying them all. */
function bruteSnap(pts: number[][], edges: Edge[], mode: RoadMode, p: number[]) {
  const cos = Math.cos(p[1]! * rad)
  let best: { e: number; t: number; d: number } | undefined
  edges.forEach((ed, e) => {
    if (CAN[mode][ed.cls] === undefined) return
    const A = pts[ed.a]!
    const B = pts[ed.b]!
    const ux = (B[0]! - A[0]!) * cos
    const uy = B[1]! - A[1]!
    const t = Math.max(
      0,
      Math.min(1, ((p[0]! - A[0]!) * cos * ux + (p[1]! - A[1]!) * uy) / (ux * ux + uy * uy)),
    )
    const q = [A[0]! + (B[0]! - A[0]!) * t, A[1]! + (B[1]! - A[1]!) * t]
    const d = hav(p, q)
    if (best === undefined || d < best.d) best = { e, t, d }
  })
  return best !== undefined && best.d <= SNAP_M ? best : undefined
}

/** Road seconds from the responder's snap to the incident's, by Floyd–Warshall over the split graph. */
function bruteRoadS(
  pts: number[][],
  edges: Edge[],
  mode: RoadMode,
  rs: { e: number; t: number },
  is: { e: number; t: number },
) {
  const n = pts.length + 2
  const RN = n - 2
  const IN = n - 1
  const d = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0 : Infinity)))
  const arc = (u: number, v: number, s: number) => {
    if (s < d[u]![v]!) d[u]![v] = s
  }
  edges.forEach((ed, e) => {
    const v = CAN[mode][ed.cls]
    if (v === undefined) return
    const L = hav(pts[ed.a]!, pts[ed.b]!)
    const fwd = true
    const bwd = !(mode === 'motor' && ed.oneway)
    if (fwd) arc(ed.a, ed.b, L / v)
    if (bwd) arc(ed.b, ed.a, L / v)
    // The split points: on the edge at fraction t from a.
    for (const [node, sp] of [
      [RN, rs],
      [IN, is],
    ] as const) {
      if (sp.e !== e) continue
      if (fwd || sp.t === 0) arc(ed.a, node, (sp.t * L) / v)
      if (bwd || sp.t === 1) arc(ed.b, node, ((1 - sp.t) * L) / v)
      if (fwd || sp.t === 1) arc(node, ed.b, ((1 - sp.t) * L) / v)
      if (bwd || sp.t === 0) arc(node, ed.a, (sp.t * L) / v)
    }
    if (rs.e === e && is.e === e) {
      if (rs.t === is.t) arc(RN, IN, 0)
      else if (rs.t < is.t && fwd) arc(RN, IN, ((is.t - rs.t) * L) / v)
      else if (rs.t > is.t && bwd) arc(RN, IN, ((rs.t - is.t) * L) / v)
    }
  })
  for (let k = 0; k < n; k++)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) if (d[i]![k]! + d[k]![j]! < d[i]![j]!) d[i]![j] = d[i]![k]! + d[k]![j]!
  return d[RN]![IN]!
}

const arbNetwork = fc
  .uniqueArray(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 7 })), {
    minLength: 3,
    maxLength: 12,
    selector: ([x, y]) => `${x},${y}`,
  })
  .chain((cells) =>
    fc.record({
      pts: fc.constant(cells.map(([x, y]) => [LON0 + x * STEP, LAT0 + y * STEP])),
      edges: fc.array(
        fc.record({
          a: fc.nat(cells.length - 1),
          b: fc.nat(cells.length - 1),
          cls: fc.constantFrom(...CLASSES),
          oneway: fc.boolean(),
        }),
        { minLength: 1, maxLength: 20 },
      ),
      r: fc.tuple(fc.double({ min: -1, max: 8, noNaN: true }), fc.double({ min: -1, max: 8, noNaN: true })),
      i: fc.tuple(fc.double({ min: -1, max: 8, noNaN: true }), fc.double({ min: -1, max: 8, noNaN: true })),
      mode: fc.constantFrom<RoadMode>('foot', 'bicycle', 'motor'),
    }),
  )

describe('road ETAs', () => {
  it('equal an independent brute force (Floyd–Warshall) on small random networks', () => {
    let compared = 0
    let reached = 0
    fc.assert(
      fc.property(arbNetwork, ({ pts, edges: raw, r, i, mode }) => {
        const edges = raw.filter((e) => e.a !== e.b)
        if (edges.length === 0) return
        const doc = {
          type: 'FeatureCollection',
          features: edges.map((e) => ({
            type: 'Feature',
            properties: { highway: e.cls, ...(e.oneway ? { oneway: 'yes' } : {}) },
            geometry: { type: 'LineString', coordinates: [pts[e.a], pts[e.b]] },
          })),
        }
        const b = new GraphBuilder()
        readGeoJson(JSON.stringify(doc), b)
        const net = buildRoadNetwork(b, { speeds: SPEEDS, snapM: SNAP_M })
        const rp = [LON0 + r[0] * STEP, LAT0 + r[1] * STEP]
        const ip = [LON0 + i[0] * STEP, LAT0 + i[1] * STEP]
        const rs = bruteSnap(pts, edges, mode, rp)
        const is = bruteSnap(pts, edges, mode, ip)
        const snap = net.snap(mode, rp[0]!, rp[1]!)
        const reach = net.reach(mode, ip[0]!, ip[1]!, CUTOFF_S)
        expect(snap === undefined).toBe(rs === undefined)
        expect(reach === undefined).toBe(is === undefined)
        if (rs === undefined || is === undefined || snap === undefined || reach === undefined) return
        expect(snap.stretchM).toBeCloseTo(rs.d, 6)
        const road = bruteRoadS(pts, edges, mode, rs, is)
        const route = reach.route(snap)
        compared++
        // Only a route whose road part is clearly inside or outside the cutoff is decided.
        if (Math.abs(road - CUTOFF_S) < 1e-6) return
        if (road > CUTOFF_S) {
          expect(route).toBeUndefined()
          return
        }
        reached++
        expect(route).toBeDefined()
        const v = SPEEDS[mode]
        expect(route!.timeS).toBeCloseTo((rs.d + is.d) / v + road, 6)
      }),
      { numRuns: 400, seed: 18 },
    )
    // The property must have been exercised, reached and not.
    expect(compared).toBeGreaterThan(100)
    expect(reached).toBeGreaterThan(30)
  })
})

describe('searches reusing their arrays', () => {
  it('answer as a fresh network does, after many searches have come and gone', () => {
    const ways = []
    for (let k = 0; k <= 8; k++) {
      ways.push({ a: [0, k], b: [8, k] }, { a: [k, 0], b: [k, 8] })
    }
    const doc = {
      type: 'FeatureCollection',
      features: ways.map((w, k) => ({
        type: 'Feature',
        properties: { highway: 'residential', ...(k % 3 === 0 ? { oneway: 'yes' } : {}) },
        geometry: {
          type: 'LineString',
          coordinates: Array.from({ length: 9 }, (_, s) => {
            const x = w.a[0]! + ((w.b[0]! - w.a[0]!) * s) / 8
            const y = w.a[1]! + ((w.b[1]! - w.a[1]!) * s) / 8
            return [LON0 + x * STEP, LAT0 + y * STEP]
          }),
        },
      })),
    }
    const fresh = () => {
      const b = new GraphBuilder()
      readGeoJson(JSON.stringify(doc), b)
      return buildRoadNetwork(b, { speeds: SPEEDS, snapM: SNAP_M })
    }
    const shared = fresh()
    let s = 7
    const rnd = () => {
      s = (s * 16_807) % 2_147_483_647
      return (s / 2_147_483_647) * 8
    }
    for (let k = 0; k < 60; k++) {
      const mode = (['foot', 'bicycle', 'motor'] as const)[k % 3]!
      const inc = [LON0 + rnd() * STEP, LAT0 + rnd() * STEP] as const
      const rsp = [LON0 + rnd() * STEP, LAT0 + rnd() * STEP] as const
      const one = fresh()
      const expected = one.reach(mode, inc[0], inc[1], 300)!.route(one.snap(mode, rsp[0], rsp[1])!)
      const got = shared.reach(mode, inc[0], inc[1], 300)!.route(shared.snap(mode, rsp[0], rsp[1])!)
      expect(got).toEqual(expected)
    }
  })
})
