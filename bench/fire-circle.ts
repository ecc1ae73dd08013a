/**
 * The 5-minute circle query, side by side in one run (issue 4 "Performance"):
 *
 * - index: `ResponderIndex.within(lon, lat, 300)` (an R-tree per mode + the exact ETA check),
 * - turf: per mode `turf.circle` (64 steps) + `turf.pointsWithinPolygon` over that mode's
 *   responders, then their ETAs, sorted: the same answer a polygon approach would give,
 *   except for the responders near the edge that the 64-gon misses (counted).
 *
 * At 10,419 responders (Bao'an's staff) and 200,000, spread uniformly over Bao'an
 * (113.75–113.95 E, 22.53–22.80 N), modes 50 % foot / 35 % bicycle / 15 % motor. Then
 * location updates/s while queries run in between, each checked against a brute-force scan
 * of an independent copy of the positions. Three runs; the median is reported.
 *
 *     node --import tsx bench/fire-circle.ts [runs]
 */
import { circle, featureCollection, point, pointsWithinPolygon } from '@turf/turf'
import type { Feature, FeatureCollection, Point } from 'geojson'
import {
  DEFAULT_ETA_PARAMS,
  etaSeconds,
  haversineM,
  reachRadiusM,
  withinLimit,
} from '../services/dispatch/eta.ts'
import { createResponderIndex, type ResponderIndex } from '../services/dispatch/responder-index.ts'
import { createEventBus } from '../services/events/index.ts'
import { TRAVEL_MODES, type TravelMode } from '../services/registry/types.ts'

/** The listeners this file puts on the event bus. */
const bench = { owner: 'bench/fire-circle.ts' }

const W = 113.75
const E = 113.95
const S = 22.53
const N = 22.8
const LIMIT_S = 300
const SIZES = [10_419, 200_000]
const RUNS = Math.max(3, Number(process.argv[2] ?? 3))

/** Deterministic, so that runs are comparable (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] as number
}
const median = (xs: number[]) => pct(xs, 0.5)
const ms = (x: number) => (x < 1 ? `${(x * 1000).toFixed(1)} µs` : `${x.toFixed(2)} ms`)

interface Population {
  ids: string[]
  lon: Float64Array
  lat: Float64Array
  mode: TravelMode[]
  ts: Float64Array
}

function populate(n: number, random: () => number): Population {
  const p: Population = {
    ids: [],
    lon: new Float64Array(n),
    lat: new Float64Array(n),
    mode: [],
    ts: new Float64Array(n),
  }
  for (let i = 0; i < n; i++) {
    p.ids.push(`r${String(i).padStart(6, '0')}`)
    p.lon[i] = W + random() * (E - W)
    p.lat[i] = S + random() * (N - S)
    const u = random()
    p.mode.push(u < 0.5 ? 'foot' : u < 0.85 ? 'bicycle' : 'motor')
  }
  return p
}

function load(p: Population): ResponderIndex {
  const index = createResponderIndex(DEFAULT_ETA_PARAMS)
  index.upsertMany(
    p.ids.map((id, i) => ({
      id,
      type: 'grid_staff' as const,
      mode: p.mode[i] as TravelMode,
      onDuty: true,
      location: { lon: p.lon[i] as number, lat: p.lat[i] as number, ts: 0 },
    })),
  )
  return index
}

/** The answer by scanning everybody: ids in ETA-then-id order. */
function bruteForce(p: Population, lon: number, lat: number): string[] {
  const out: [string, number][] = []
  for (let i = 0; i < p.ids.length; i++) {
    const eta = etaSeconds(
      haversineM(lon, lat, p.lon[i] as number, p.lat[i] as number),
      p.mode[i] as TravelMode,
    )
    if (withinLimit(eta, LIMIT_S)) out.push([p.ids[i] as string, eta])
  }
  out.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  return out.map((x) => x[0])
}

type Points = FeatureCollection<Point, { id: string }>

/** The polygon way: turf.circle per mode, pointsWithinPolygon, ETAs, sort. */
function turfQuery(byMode: Record<TravelMode, Points>, lon: number, lat: number) {
  const out: { id: string; eta: number }[] = []
  for (const mode of TRAVEL_MODES) {
    const polygon = circle([lon, lat], reachRadiusM(LIMIT_S, mode), { steps: 64, units: 'meters' })
    const inside = pointsWithinPolygon(byMode[mode], polygon)
    for (const f of inside.features as Feature<Point, { id: string }>[]) {
      const [x, y] = f.geometry.coordinates as [number, number]
      out.push({ id: f.properties.id, eta: etaSeconds(haversineM(lon, lat, x, y), mode) })
    }
  }
  return out.sort((a, b) => a.eta - b.eta || (a.id < b.id ? -1 : 1))
}

interface RunResult {
  indexP50: number
  indexP99: number
  turfP50: number
  turfP99: number
  inside: number
  missedByPolygon: number
  updatesPerS: number
  busUpdatesPerS: number
  churnP50: number
  churnP99: number
  checked: number
  wrong: number
  loadMs: number
}

function run(n: number, seed: number): RunResult {
  const random = rng(seed)
  const p = populate(n, random)
  const t0 = performance.now()
  const index = load(p)
  const loadMs = performance.now() - t0
  const scene = () => [W + 0.015 + random() * (E - W - 0.03), S + 0.015 + random() * (N - S - 0.03)] as const

  // ---- query: index vs turf, side by side on the same scenes
  const byMode = Object.fromEntries(
    TRAVEL_MODES.map((mode) => [
      mode,
      featureCollection(
        p.ids.flatMap((id, i) =>
          p.mode[i] === mode ? [point([p.lon[i] as number, p.lat[i] as number], { id })] : [],
        ),
      ),
    ]),
  ) as Record<TravelMode, Points>
  for (let i = 0; i < 300; i++) {
    const [x, y] = scene()
    index.within(x, y, LIMIT_S)
    if (i < 10) turfQuery(byMode, x, y)
  }
  const indexTimes: number[] = []
  const turfTimes: number[] = []
  const turfEvery = n > 50_000 ? 40 : 10
  let inside = 0
  let missed = 0
  let turfQueries = 0
  for (let q = 0; q < 2000; q++) {
    const [x, y] = scene()
    let t = performance.now()
    const found = index.within(x, y, LIMIT_S)
    indexTimes.push(performance.now() - t)
    inside += found.length
    if (q % turfEvery === 0) {
      t = performance.now()
      const polygonAnswer = turfQuery(byMode, x, y)
      turfTimes.push(performance.now() - t)
      const seen = new Set(polygonAnswer.map((r) => r.id))
      missed += found.filter((r) => !seen.has(r.id)).length
      turfQueries++
    }
  }

  // ---- updates while queries run, each query checked against brute force
  const updates = n > 50_000 ? 1_000_000 : 500_000
  const checkEvery = n > 50_000 ? 50_000 : 10_000
  const queriesPerBatch = 20
  let updateMs = 0
  let clockTs = 1
  const churn: number[] = []
  let checked = 0
  let wrong = 0
  const step = 0.0002 // ≤ ~20 m a fix
  for (let done = 0; done < updates; ) {
    const batch = Math.min(checkEvery, updates - done)
    // Precomputed outside the timing: who moves where.
    const who = new Int32Array(batch)
    const xs = new Float64Array(batch)
    const ys = new Float64Array(batch)
    for (let k = 0; k < batch; k++) {
      const i = Math.floor(random() * n)
      who[k] = i
      xs[k] = Math.min(E, Math.max(W, (p.lon[i] as number) + (random() - 0.5) * step))
      ys[k] = Math.min(N, Math.max(S, (p.lat[i] as number) + (random() - 0.5) * step))
      p.lon[i] = xs[k] as number
      p.lat[i] = ys[k] as number
    }
    const t = performance.now()
    for (let k = 0; k < batch; k++) {
      index.move(p.ids[who[k] as number] as string, xs[k] as number, ys[k] as number, clockTs++)
    }
    updateMs += performance.now() - t
    done += batch
    for (let q = 0; q < queriesPerBatch; q++) {
      const [x, y] = scene()
      const tq = performance.now()
      const got = index.within(x, y, LIMIT_S)
      churn.push(performance.now() - tq)
      if (q < 2) {
        const expected = bruteForce(p, x, y)
        checked++
        if (got.length !== expected.length || got.some((r, j) => r.id !== expected[j])) wrong++
      }
    }
  }

  // ---- the same updates through the event bus and the feed's listener (the service's path)
  const events = createEventBus()
  events.on(bench, 'responder.location', (loc) => {
    index.move(loc.responder, loc.lon, loc.lat, loc.ts)
  })
  const busN = 300_000
  const msgs = Array.from({ length: busN }, () => {
    const i = Math.floor(random() * n)
    return {
      responder: p.ids[i] as string,
      lon: p.lon[i] as number,
      lat: p.lat[i] as number,
      ts: 0,
      receivedAt: 0,
    }
  })
  const tb = performance.now()
  for (const m of msgs) {
    m.ts = m.receivedAt = clockTs++
    events.emit('responder.location', m)
  }
  const busMs = performance.now() - tb

  return {
    indexP50: pct(indexTimes, 0.5),
    indexP99: pct(indexTimes, 0.99),
    turfP50: pct(turfTimes, 0.5),
    turfP99: pct(turfTimes, 0.99),
    inside: inside / indexTimes.length,
    missedByPolygon: missed / turfQueries,
    updatesPerS: updates / (updateMs / 1000),
    busUpdatesPerS: busN / (busMs / 1000),
    churnP50: pct(churn, 0.5),
    churnP99: pct(churn, 0.99),
    checked,
    wrong,
    loadMs,
  }
}

console.log(
  `fire circle bench: node ${process.version}, ${RUNS} runs per size, limit ${LIMIT_S} s, median reported`,
)
for (const n of SIZES) {
  const results: RunResult[] = []
  for (let r = 0; r < RUNS; r++) {
    const res = run(n, 1000 + r)
    results.push(res)
    console.log(
      `  n=${n} run ${r + 1}: index p50 ${ms(res.indexP50)} p99 ${ms(res.indexP99)} | turf p50 ${ms(res.turfP50)} p99 ${ms(res.turfP99)} | updates/s ${Math.round(res.updatesPerS).toLocaleString('en')} | checked ${res.checked}, wrong ${res.wrong}`,
    )
  }
  const m = (f: (r: RunResult) => number) => median(results.map(f))
  const indexP99 = m((r) => r.indexP99)
  const ratioP50 = m((r) => r.turfP50 / r.indexP50)
  const ratioP99 = m((r) => r.turfP99 / r.indexP99)
  const updatesPerS = m((r) => r.updatesPerS)
  const wrong = results.reduce((a, r) => a + r.wrong, 0)
  const checked = results.reduce((a, r) => a + r.checked, 0)
  console.log(`\nn = ${n.toLocaleString('en')} responders (median of ${RUNS} runs)`)
  console.log(`  bulk load of the index            ${ms(m((r) => r.loadMs))}`)
  console.log(`  responders inside 300 s / query   ${m((r) => r.inside).toFixed(1)}`)
  console.log(`  index  within(…, 300)             p50 ${ms(m((r) => r.indexP50))}   p99 ${ms(indexP99)}`)
  console.log(
    `  turf   circle + pointsWithinPolygon  p50 ${ms(m((r) => r.turfP50))}   p99 ${ms(m((r) => r.turfP99))}`,
  )
  console.log(`  speed ratio (turf / index)        p50 ${ratioP50.toFixed(0)}×   p99 ${ratioP99.toFixed(0)}×`)
  console.log(
    `  missed by the 64-gon per query    ${m((r) => r.missedByPolygon).toFixed(2)} responders (found by the index)`,
  )
  console.log(`  location updates/s (index.move)   ${Math.round(updatesPerS).toLocaleString('en')}`)
  console.log(
    `  location updates/s (event bus)    ${Math.round(m((r) => r.busUpdatesPerS)).toLocaleString('en')}`,
  )
  console.log(
    `  queries during churn              p50 ${ms(m((r) => r.churnP50))}   p99 ${ms(m((r) => r.churnP99))}`,
  )
  console.log(`  checked against brute force       ${checked} queries, ${wrong} wrong`)
  const verdicts = [
    [`≥ 20× faster than turf (p50)`, ratioP50 >= 20],
    [`≥ 50,000 updates/s`, updatesPerS >= 50_000],
    [`every checked query correct`, wrong === 0],
  ] as [string, boolean][]
  if (n === 10_419) verdicts.push([`p99 ≤ 0.2 ms at 10,419`, indexP99 <= 0.2])
  for (const [what, ok] of verdicts) console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${what}`)
  console.log('')
}
