/**
 * The circle on real roads (issue 18), on the simulator's Bao'an (simulator/roads.ts: a street
 * grid every 75 m with arterials, a river with 4 bridges, an expressway; ≥ 200,000 edges):
 *
 * - load: FC_ROAD_NETWORK read (GeoJSON) and built (graph, CSR per mode, edge R-tree), ms;
 * - road ETAs: `ResponderIndex.within(lon, lat, 300)` with the network, 10,419 responders
 *   uniform over Bao'an (50 % foot / 35 % bicycle / 15 % motor): three reverse Dijkstras
 *   (cutoff 600 s less the turnout) and every candidate's route, at incidents that are all
 *   different (no search reused), p50 / p99 per incident;
 * - the same incidents again at 600 s (the widening: the searches are reused);
 * - the isochrones of GET /api/incidents/{id}/circle (three modes), p50 / p99;
 * - coverage's recomputation: 20,000 buildings (the district's order) by three forward searches
 *   from every available responder; first (buildings snapped) and again after responders moved.
 *
 *     node --import tsx bench/roads.ts [incidents]
 */

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { roadCircle } from '../services/dispatch/circle.ts'
import { coverageOf } from '../services/dispatch/coverage.ts'
import { DEFAULT_ETA_PARAMS } from '../services/dispatch/eta.ts'
import { createResponderIndex, type ResponderInfo } from '../services/dispatch/responder-index.ts'
import { loadRoadNetwork } from '../services/roads/index.ts'
import { BAOAN_BBOX } from '../simulator/district.ts'
import { generateRoads } from '../simulator/roads.ts'
import { fmt, median, pct } from './lib.ts'

const INCIDENTS = Math.max(50, Number(process.argv[2] ?? 300))
const RESPONDERS = 10_419
const [W, S, E, N] = BAOAN_BBOX

let seed = 18
const rnd = () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const at = (): [number, number] => [W + rnd() * (E - W), S + rnd() * (N - S)]
const timed = <T>(fn: () => T): [T, number] => {
  const t0 = performance.now()
  const r = fn()
  return [r, performance.now() - t0]
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'firecircle-bench-roads-'))
const file = path.join(dir, 'baoan-roads.geojson')
fs.writeFileSync(file, JSON.stringify(generateRoads({ bbox: BAOAN_BBOX })))
const size = fs.statSync(file).size
const speeds = { foot: 1.4, bicycle: 4.2, motor: 8.3 }
const loads: number[] = []
let loaded = await loadRoadNetwork(file, { speeds, snapM: 500 })
for (let k = 0; k < 3; k++) {
  loaded = await loadRoadNetwork(file, { speeds, snapM: 500 })
  loads.push(loaded.loadMs)
}
fs.rmSync(dir, { recursive: true, force: true })
const roads = loaded.network
process.stdout.write(
  `network: ${fmt(loaded.nodes)} nodes, ${fmt(loaded.edges)} edges (GeoJSON, ${fmt(size / 2 ** 20, 1)} MiB); load (read + build) median of 3: ${fmt(median(loads))} ms\n`,
)

const index = createResponderIndex(DEFAULT_ETA_PARAMS, roads)
const people: ResponderInfo[] = []
for (let k = 0; k < RESPONDERS; k++) {
  const [lon, lat] = at()
  const u = rnd()
  people.push({
    id: `r${k}`,
    type: 'volunteer',
    mode: u < 0.5 ? 'foot' : u < 0.85 ? 'bicycle' : 'motor',
    onDuty: true,
    location: { lon, lat, ts: 1 },
  })
}
const [, upsertMs] = timed(() => index.upsertMany(people))
process.stdout.write(`${fmt(RESPONDERS)} responders indexed and snapped: ${fmt(upsertMs)} ms\n`)

const points = Array.from({ length: INCIDENTS }, at)
const first: number[] = []
const widen: number[] = []
let inside = 0
for (const [lon, lat] of points) {
  const [found, ms] = timed(() => index.within(lon, lat, 300, { onDuty: true, busy: false }))
  first.push(ms)
  inside += found.length
  widen.push(timed(() => index.within(lon, lat, 600, { onDuty: true, busy: false }))[1])
}
const s1 = [...first].sort((a, b) => a - b)
const s2 = [...widen].sort((a, b) => a - b)
process.stdout.write(
  `road ETAs at ${fmt(INCIDENTS)} different incidents, 300 s (3 searches each): p50 ${fmt(pct(s1, 0.5), 2)} ms, p99 ${fmt(pct(s1, 0.99), 2)} ms, max ${fmt(s1[s1.length - 1]!, 2)} ms; ${fmt(inside / INCIDENTS, 1)} responders inside on average\n`,
)
process.stdout.write(
  `the same at 600 s (searches reused): p50 ${fmt(pct(s2, 0.5), 2)} ms, p99 ${fmt(pct(s2, 0.99), 2)} ms\n`,
)

const iso = points
  .slice(0, 30)
  .map(([lon, lat]) => timed(() => roadCircle(lon, lat, 300, index, roads, undefined))[1])
const s3 = iso.sort((a, b) => a - b)
process.stdout.write(
  `isochrones (3 modes, GET …/circle): p50 ${fmt(pct(s3, 0.5), 1)} ms, p99 ${fmt(pct(s3, 0.99), 1)} ms over 30 incidents\n`,
)

// Coverage: the district's buildings in one scope, three forward searches from every available responder.
const BUILDINGS = 20_000
const buildings = Array.from({ length: BUILDINGS }, (_, k) => ({
  id: `b${k}`,
  name: `b${k}`,
  location: at(),
  community: 'baoan',
}))
const registry = {
  community: (id: string) => (id === 'baoan' ? ({ id, street: 'all' } as never) : undefined),
  communities: () => [],
  listBuildings: async (_f: unknown, page: { limit: number; offset: number }) => ({
    items: buildings.slice(page.offset, page.offset + page.limit) as never[],
    total: BUILDINGS,
    limit: page.limit,
    offset: page.offset,
  }),
}
const covDeps = { index, registry, clock: { now: () => 2 } }
const scope = { level: 'community', community: 'baoan' } as const
let t0 = performance.now()
const cov = await coverageOf(covDeps, 'community:baoan', scope)
const firstMs = performance.now() - t0
const again: number[] = []
for (let k = 0; k < 5; k++) {
  // Responders move between recomputations.
  for (let m = 0; m < 500; m++) {
    const [lon, lat] = at()
    index.move(`r${Math.floor(rnd() * RESPONDERS)}`, lon, lat, 10 + k)
  }
  t0 = performance.now()
  await coverageOf(covDeps, 'community:baoan', scope)
  again.push(performance.now() - t0)
}
process.stdout.write(
  `coverage of ${fmt(BUILDINGS)} buildings (3 forward searches from ${fmt(RESPONDERS)} responders): first ${fmt(firstMs)} ms (buildings snapped), recomputed after 500 moves median ${fmt(median(again))} ms; share ${fmt(cov.share * 100, 1)} %\n`,
)
