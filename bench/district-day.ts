/**
 * The district day (issue #18 item 6): fires and cooking-smoke false alarms spread over every
 * community of the simulator's Bao'an through one simulated day, dispatched by the real
 * dispatcher (services/dispatch: offers, expiries, widening, top-ups, the probability model and
 * its history, SQLite state) on a simulated clock (ManualClock: no real waits), to responders who
 * accept with a chance and reply with a lag drawn per type and per responder, and travel along
 * the generated roads. Four columns in the same run, on the same day and the same responders'
 * draws (common random numbers): {straight line × 1.3, roads} × {fixed, probability}.
 *
 * What is modelled here, not by the service: the detectors' verification (smoke: 30 s window,
 * a cooking smoke shorter than it is cancelled; heat first: at once), the responders' answers,
 * and their real travel — always along the roads (× a lognormal noise of σ 0.1), whatever ETA
 * the dispatcher believed: the straight-line columns pay for the river and the expressway.
 *
 *     node --import tsx bench/district-day.ts [--speedup 0] [--fires 2] [--cooking 6] [--thin 1500] [--seed 18]
 *
 * `--speedup` is accepted for the simulator's habit; the clock is simulated (0: as fast as the
 * machine goes). Writes docs/DISTRICT-DAY.md and docs/district-day.json.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Incident, IncidentBook, IncidentEvent } from '../services/alarms/index.ts'
import {
  createDispatcher,
  createSqliteDispatchRepository,
  DEFAULT_ETA_PARAMS,
  type DispatchOfferEvent,
  type DispatchReplyEvent,
} from '../services/dispatch/index.ts'
import { createResponderIndex, roadEta } from '../services/dispatch/responder-index.ts'
import { createEventBus } from '../services/events/index.ts'
import type { Registry, Responder, ResponderType } from '../services/registry/index.ts'
import { loadRoadNetwork, type RoadNetwork } from '../services/roads/index.ts'
import { createManualClock } from '../services/shared/clock.ts'
import { createLogger } from '../services/shared/log.ts'
import { openStateDatabase } from '../services/state/index.ts'
import { BAOAN_BBOX, type District, generateDistrict, type ResponderSpec } from '../simulator/district.ts'
import { createRng, hash32 } from '../simulator/prng.ts'
import { generateRoads } from '../simulator/roads.ts'
import { fmt, pct, ROOT } from './lib.ts'

const arg = (name: string, fallback: number) => {
  const k = process.argv.indexOf(`--${name}`)
  return k === -1 ? fallback : Number(process.argv[k + 1])
}
const FIRES = arg('fires', 2)
const COOKING = arg('cooking', 6)
const THIN = arg('thin', 1500)
const SEED = arg('seed', 18)
const DAY_MS = 86_400_000
const T0 = Date.UTC(2026, 11, 3, 16) // 00:00 in Asia/Shanghai

/**
 * The responders' truth, per type: the chance to accept (each responder's own drawn around it,
 * σ 0.15), the median reply lag (lognormal, σ 0.6), the chance a non-accepting one declines
 * rather than stays silent. Not the dispatcher's priors (services/dispatch/probability.ts):
 * the probability policy must learn these from the day's history.
 */
const TRUTH: Record<ResponderType, { accept: number; lagS: number; declines: number }> = {
  micro_station: { accept: 0.85, lagS: 15, declines: 0.7 },
  fire_station: { accept: 0.95, lagS: 20, declines: 0.8 },
  grid_staff: { accept: 0.5, lagS: 25, declines: 0.5 },
  security_guard: { accept: 0.65, lagS: 15, declines: 0.5 },
  volunteer: { accept: 0.3, lagS: 40, declines: 0.4 },
}

/** A uniform draw fixed by its labels: the same responder answers the same incident alike in every column. */
const u = (...labels: (string | number)[]) => (hash32(labels.join('|')) + 0.5) / 4294967296
const normalOf = (...labels: (string | number)[]) =>
  Math.sqrt(-2 * Math.log(u(...labels, 'n1'))) * Math.cos(2 * Math.PI * u(...labels, 'n2'))

interface Alarm {
  id: string
  kind: 'fire' | 'cooking'
  community: string
  street: string
  building: string
  location: [number, number]
  /** First signal, and alarm (after verification) when dispatched. */
  signalAt: number
  alarmAt?: number
  /** Cooking smoke: its duration; cancelled by verification when shorter than the window. */
  smokeS?: number
}

/** The day's alarms: fires uniform over 24 h, cooking smoke at meal times. */
function dayOf(d: District): Alarm[] {
  const rng = createRng(`district-day-${SEED}`)
  const byCommunity = new Map<string, District['buildings']>()
  for (const b of d.buildings) byCommunity.set(b.community, [...(byCommunity.get(b.community) ?? []), b])
  const out: Alarm[] = []
  const meal = () => rng.pick([7.5, 12, 18.5]) * 3600_000 + rng.normal() * 40 * 60_000
  for (const c of d.communities) {
    const bs = byCommunity.get(c.id) ?? []
    if (bs.length === 0) continue
    const add = (kind: Alarm['kind'], at: number, n: number) => {
      const b = rng.pick(bs)
      const smoke = kind === 'cooking' ? Math.exp(Math.log(25) + 0.8 * rng.normal()) : undefined
      const alarm: Alarm = {
        id: `${c.id}-${kind}-${n}`,
        kind,
        community: c.id,
        street: c.street,
        building: b.id,
        location: b.location,
        signalAt: T0 + Math.max(0, Math.min(DAY_MS - 1, at)),
        ...(smoke !== undefined ? { smokeS: smoke } : {}),
      }
      // A fire seen first by a heat detector (30 %) needs no verification; smoke waits 30 s.
      if (kind === 'fire') alarm.alarmAt = alarm.signalAt + (rng.chance(0.3) ? 0 : 30_000)
      else if (smoke! >= 30) alarm.alarmAt = alarm.signalAt + 30_000
      out.push(alarm)
    }
    for (let k = 0; k < FIRES; k++) add('fire', rng.next() * DAY_MS, k)
    for (let k = 0; k < COOKING; k++) add('cooking', meal(), k)
  }
  return out.sort((a, b) => a.signalAt - b.signalAt)
}

interface Outcome {
  alarm: Alarm
  covered: boolean
  /** The nearest on-duty responder's road ETA (truth), s. */
  nearestS: number | undefined
  offers: number
  forced: number
  firstOfferAt?: number
  firstOnSceneAt?: number
  predicted?: number
}

interface Column {
  eta: 'straight' | 'roads'
  policy: 'fixed' | 'probability'
  /**
   * Information only, not a target column: micro station members and fire crews offered like
   * grid staff (by probability) instead of all of them inside — what docs/PROTOCOL.md's rule costs.
   */
  relaxed?: boolean
}

/** One column's day through the real dispatcher. */
async function runDay(
  d: District,
  alarms: readonly Alarm[],
  roads: RoadNetwork,
  truthReach: (a: Alarm) => number | undefined,
  col: Column,
): Promise<{ outcomes: Outcome[]; wallMs: number }> {
  const started = performance.now()
  const clock = createManualClock(T0)
  const events = createEventBus()
  const index = createResponderIndex(DEFAULT_ETA_PARAMS, col.eta === 'roads' ? roads : undefined)
  index.upsertMany(
    d.responders.map((r) => ({
      id: r.id,
      type: r.type,
      mode: r.mode,
      onDuty: r.onDuty,
      community: r.community,
      ...(r.building !== undefined ? { building: r.building } : {}),
      location: { lon: r.location[0], lat: r.location[1], ts: T0 },
    })),
  )
  const people = new Map(d.responders.map((r) => [r.id, r]))
  const guards = new Map<string, Responder[]>()
  for (const r of d.responders) {
    if (r.building === undefined) continue
    const list = guards.get(r.building) ?? []
    list.push({ ...r, enabled: true, createdAt: T0 } as Responder)
    guards.set(r.building, list)
  }
  const buildings = new Map(d.buildings.map((b) => [b.id, b]))
  const incidents = new Map<string, Incident>()
  const closed = new Set(['false_alarm', 'resolved'])
  const book: Pick<IncidentBook, 'getOpen' | 'get' | 'update' | 'openIncidents'> = {
    getOpen: (id) => {
      const i = incidents.get(id)
      return i !== undefined && !closed.has(i.status) ? i : undefined
    },
    get: async (id) => incidents.get(id),
    async update(id, change) {
      const i = incidents.get(id)!
      change(i)
      return i
    },
    openIncidents: () => [...incidents.values()].filter((i) => !closed.has(i.status)),
  }
  const registry = {
    building: (id: string) => {
      const b = buildings.get(id)
      return b === undefined ? undefined : { id: b.id, name: b.name, location: b.location }
    },
    device: () => undefined,
    responder: (id: string) => ({ id, name: id }) as Responder,
    respondersOfBuilding: (b: string) => guards.get(b) ?? [],
  } as unknown as Pick<Registry, 'building' | 'device' | 'responder' | 'respondersOfBuilding'>
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'firecircle-district-day-'))
  const db = openStateDatabase(path.join(tmp, 'state.db'), { synchronous: 'NORMAL' })
  const dispatcher = createDispatcher({
    clock,
    events,
    incidents: book,
    index,
    registry,
    publish: async () => {},
    repository: createSqliteDispatchRepository(db),
    logger: createLogger('silent'),
    offerPolicy: col.policy,
    ...(col.relaxed
      ? {
          policy: {
            micro_station: { select: 'nearest', count: 3 },
            fire_station: { select: 'nearest', count: 3 },
          } as const,
        }
      : {}),
  })
  const emit = (i: Incident) =>
    events.emit('incident', {
      change: 'status',
      incident: i,
      entry: { at: clock.now(), type: 'status', status: i.status, actor: 'engine', reason: 'bench' },
    } as IncidentEvent)
  const outcomes = new Map<string, Outcome>()
  const setStatus = (id: string, status: Incident['status']) => {
    const i = incidents.get(id)
    if (i === undefined || closed.has(i.status)) return
    i.status = status
    emit(i)
  }
  const answer = (incident: string, responder: string, a: 'accept' | 'decline' | 'on_scene') =>
    dispatcher.reply(incident, responder, a, 'bench', 'http').catch(() => undefined)

  /** A responder offered an incident answers as its truth says. */
  const owner = { stage: 'bench' }
  events.on(owner, 'dispatch.offer', (e: DispatchOfferEvent) => {
    if (e.change !== 'offered') return
    const o = e.offer
    const out = outcomes.get(o.incident)!
    out.offers++
    if (o.type === 'micro_station' || o.type === 'fire_station' || o.type === 'security_guard') out.forced++
    if (out.firstOfferAt === undefined) {
      out.firstOfferAt = e.at
      if (o.probability !== undefined) out.predicted = o.probability
    }
    const r = people.get(o.responder)!
    const t = TRUTH[r.type]
    const own = Math.min(0.99, Math.max(0.01, t.accept + 0.15 * normalOf(r.id, 'accept')))
    const lagS = Math.exp(Math.log(t.lagS) + 0.6 * normalOf(r.id, o.incident, 'lag'))
    const accepts = u(r.id, o.incident, 'accepts') < own
    if (!accepts && u(r.id, o.incident, 'declines') >= t.declines) return // silent: the offer expires
    clock.at(e.at + lagS * 1000, () => {
      void answer(o.incident, o.responder, accepts ? 'accept' : 'decline')
    })
  })
  events.on(owner, 'dispatch.reply', (e: DispatchReplyEvent) => {
    if (e.answer === 'accept') {
      const r = people.get(e.offer.responder)!
      const i = incidents.get(e.offer.incident)!
      // The real travel: along the roads, whatever the dispatcher believed.
      const road = roadEta(roads, DEFAULT_ETA_PARAMS, r.mode, r.location, i.location)
      const travelS = (road?.eta_s ?? e.offer.eta_s * 1.5) * Math.exp(0.1 * normalOf(r.id, i.id, 'travel'))
      clock.at(e.at + travelS * 1000, () => void answer(i.id, r.id, 'on_scene'))
    } else if (e.answer === 'on_scene') {
      const out = outcomes.get(e.offer.incident)!
      if (out.firstOnSceneAt === undefined) {
        out.firstOnSceneAt = e.at
        // A fire: handled and resolved 20 min after the first arrival.
        if (out.alarm.kind === 'fire')
          clock.at(e.at + 20 * 60_000, () => setStatus(e.offer.incident, 'resolved'))
      }
    }
  })
  await dispatcher.start()

  for (const a of alarms) {
    if (a.alarmAt === undefined) continue
    clock.at(a.alarmAt, () => {
      const i: Incident = {
        id: a.id,
        status: 'alarm',
        cause: 'fire',
        building: a.building,
        community: a.community,
        street: a.street,
        location: a.location,
        openedAt: a.signalAt,
        updatedAt: clock.now(),
        alarmAt: a.alarmAt!,
        devices: [],
      }
      incidents.set(a.id, i)
      const nearestS = truthReach(a)
      outcomes.set(a.id, { alarm: a, covered: nearestS !== undefined, nearestS, offers: 0, forced: 0 })
      emit(i)
      // A cooking smoke that outlasted verification: the duty officer marks it false in 1–4 min;
      // a fire nobody reached is resolved after an hour.
      if (a.kind === 'cooking')
        clock.at(a.alarmAt! + (60 + 180 * u(a.id, 'officer')) * 1000, () => setStatus(a.id, 'false_alarm'))
      else clock.at(a.alarmAt! + 3600_000, () => setStatus(a.id, 'resolved'))
    })
  }
  const end = T0 + DAY_MS + 2 * 3600_000
  while (clock.now() < end) {
    clock.advance(1000)
    await dispatcher.flushed()
  }
  await dispatcher.stop()
  db.close()
  fs.rmSync(tmp, { recursive: true, force: true })
  return { outcomes: [...outcomes.values()], wallMs: performance.now() - started }
}

interface Summary {
  fires: number
  firesCovered: number
  reached300: number
  reached300Covered: number
  shareReached: number | null
  shareReachedCovered: number | null
  firstOfferP50S: number | null
  firstOfferP95S: number | null
  firstOnSceneP50S: number | null
  firstOnSceneP95S: number | null
  cooking: number
  cookingCancelledByVerification: number
  cookingDispatched: number
  offersPerFire: number | null
  forcedPerFire: number | null
  meanPredictedP: number | null
  /** Fires in covered places not reached ≤ 300 s: the nearest's ETA and when someone came (s after the alarm; null: nobody). */
  missedCovered: { fire: string; nearestS: number; onSceneS: number | null; offers: number }[]
}

const ratio = (a: number, b: number) => (b === 0 ? null : a / b)
const pctS = (xs: number[], p: number) =>
  xs.length === 0
    ? null
    : Math.round(
        pct(
          [...xs].sort((a, b) => a - b),
          p,
        ) / 100,
      ) / 10

function summarise(outcomes: readonly Outcome[], cooking: readonly Alarm[]): Summary {
  const fires = outcomes.filter((o) => o.alarm.kind === 'fire')
  const within = (o: Outcome) =>
    o.firstOnSceneAt !== undefined && o.firstOnSceneAt - o.alarm.alarmAt! <= 300_000
  const covered = fires.filter((o) => o.covered)
  const firstOffer = fires
    .filter((o) => o.firstOfferAt !== undefined)
    .map((o) => o.firstOfferAt! - o.alarm.signalAt)
  const onScene = fires
    .filter((o) => o.firstOnSceneAt !== undefined)
    .map((o) => o.firstOnSceneAt! - o.alarm.alarmAt!)
  const predicted = fires.filter((o) => o.predicted !== undefined).map((o) => o.predicted!)
  const cancelled = cooking.filter((a) => a.alarmAt === undefined).length
  return {
    fires: fires.length,
    firesCovered: covered.length,
    reached300: fires.filter(within).length,
    reached300Covered: covered.filter(within).length,
    shareReached: ratio(fires.filter(within).length, fires.length),
    shareReachedCovered: ratio(covered.filter(within).length, covered.length),
    firstOfferP50S: pctS(firstOffer, 0.5),
    firstOfferP95S: pctS(firstOffer, 0.95),
    firstOnSceneP50S: pctS(onScene, 0.5),
    firstOnSceneP95S: pctS(onScene, 0.95),
    cooking: cooking.length,
    cookingCancelledByVerification: cancelled,
    cookingDispatched: cooking.length - cancelled,
    offersPerFire: ratio(
      fires.reduce((s, o) => s + o.offers, 0),
      fires.length,
    ),
    forcedPerFire: ratio(
      fires.reduce((s, o) => s + o.forced, 0),
      fires.length,
    ),
    meanPredictedP: ratio(
      predicted.reduce((s, p) => s + p, 0),
      predicted.length,
    ),
    missedCovered: covered
      .filter((o) => !within(o))
      .map((o) => ({
        fire: o.alarm.id,
        nearestS: Math.round(o.nearestS!),
        onSceneS:
          o.firstOnSceneAt === undefined ? null : Math.round((o.firstOnSceneAt - o.alarm.alarmAt!) / 1000),
        offers: o.offers,
      })),
  }
}

/** The share of (a sample of) each community's buildings that an on-duty responder reaches within 300 s. */
function coverageOf(d: District, within: (at: [number, number]) => boolean): Map<string, number> {
  const rng = createRng(`coverage-${SEED}`)
  const byCommunity = new Map<string, [number, number][]>()
  for (const b of d.buildings)
    byCommunity.set(b.community, [...(byCommunity.get(b.community) ?? []), b.location])
  const out = new Map<string, number>()
  for (const [c, points] of byCommunity) {
    const sample = rng.shuffle([...points]).slice(0, 20)
    out.set(c, sample.filter(within).length / sample.length)
  }
  return out
}

const COLUMNS: Column[] = [
  { eta: 'straight', policy: 'fixed' },
  { eta: 'straight', policy: 'probability' },
  { eta: 'roads', policy: 'fixed' },
  { eta: 'roads', policy: 'probability' },
  { eta: 'roads', policy: 'probability', relaxed: true },
]
const label = (c: Column) =>
  `${c.eta === 'roads' ? 'roads' : 'straight line'} × ${c.policy}${c.relaxed ? ' (rule relaxed: information only)' : ''}`

async function runDistrict(name: string, d: District, roads: RoadNetwork) {
  const alarms = dayOf(d)
  const cooking = alarms.filter((a) => a.kind === 'cooking')
  const truth = createResponderIndex(DEFAULT_ETA_PARAMS, roads)
  const straight = createResponderIndex(DEFAULT_ETA_PARAMS)
  const specs = (r: ResponderSpec) => ({
    id: r.id,
    type: r.type,
    mode: r.mode,
    onDuty: r.onDuty,
    location: { lon: r.location[0], lat: r.location[1], ts: T0 },
  })
  truth.upsertMany(d.responders.map(specs))
  straight.upsertMany(d.responders.map(specs))
  const reach = (index: typeof truth) => (at: [number, number]) =>
    index.within(at[0], at[1], 300, { onDuty: true }).length > 0
  const truthReach = (a: Alarm) => truth.within(a.location[0], a.location[1], 300, { onDuty: true })[0]?.eta_s
  const coverage = { roads: coverageOf(d, reach(truth)), straight: coverageOf(d, reach(straight)) }
  const results: {
    column: Column
    district: Summary
    communities: Record<string, Summary>
    wallS: number
  }[] = []
  for (const column of COLUMNS) {
    const { outcomes, wallMs } = await runDay(d, alarms, roads, truthReach, column)
    const communities: Record<string, Summary> = {}
    for (const c of d.communities)
      communities[c.id] = summarise(
        outcomes.filter((o) => o.alarm.community === c.id),
        cooking.filter((a) => a.community === c.id),
      )
    const district = summarise(outcomes, cooking)
    results.push({ column, district, communities, wallS: Math.round(wallMs / 100) / 10 })
    if (district.missedCovered.length > 0)
      process.stdout.write(
        `  missed in covered places (nearest road ETA s → on scene s, offers): ${district.missedCovered.map((m) => `${m.nearestS} → ${m.onSceneS ?? 'never'} (${m.offers})`).join(', ')}\n`,
      )
    process.stdout.write(
      `${name} · ${label(column)}: fires ${district.fires}, reached ≤ 300 s ${fmt((district.shareReached ?? 0) * 100, 1)} % (covered places ${fmt((district.shareReachedCovered ?? 0) * 100, 1)} %), offers/fire ${fmt(district.offersPerFire ?? 0, 2)} (forced ${fmt(district.forcedPerFire ?? 0, 2)}), first offer p50/p95 ${district.firstOfferP50S}/${district.firstOfferP95S} s, first on scene p50/p95 ${district.firstOnSceneP50S}/${district.firstOnSceneP95S} s${district.meanPredictedP !== null ? `, mean predicted P ${fmt(district.meanPredictedP, 3)}` : ''} (${fmt(wallMs / 1000, 1)} s)\n`,
    )
  }
  const mean = (m: Map<string, number>) => [...m.values()].reduce((s, x) => s + x, 0) / Math.max(1, m.size)
  return {
    name,
    responders: d.responders.length,
    communities: d.communities.length,
    alarms: { fires: alarms.length - cooking.length, cooking: cooking.length },
    coverage: {
      roads: mean(coverage.roads),
      straight: mean(coverage.straight),
      byCommunity: Object.fromEntries(
        [...coverage.roads].map(([c, s]) => [c, { roads: s, straight: coverage.straight.get(c) ?? 0 }]),
      ),
    },
    results,
  }
}

const bench0 = performance.now()
const roadFile = path.join(
  fs.mkdtempSync(path.join(os.tmpdir(), 'firecircle-district-roads-')),
  'roads.geojson',
)
fs.writeFileSync(roadFile, JSON.stringify(generateRoads({ bbox: BAOAN_BBOX })))
const loaded = await loadRoadNetwork(roadFile, {
  speeds: { foot: 1.4, bicycle: 4.2, motor: 8.3 },
  snapM: 500,
})
fs.rmSync(path.dirname(roadFile), { recursive: true, force: true })
process.stdout.write(
  `roads: ${fmt(loaded.nodes)} nodes, ${fmt(loaded.edges)} edges, loaded in ${fmt(loaded.loadMs)} ms; a day of ${FIRES} fires and ${COOKING} cooking smokes per community\n`,
)
const full = generateDistrict({ seed: SEED, devices: 2000 })
const thin = generateDistrict({
  seed: SEED,
  devices: 2000,
  responders: THIN,
  respondersMin: 4,
  respondersMax: 40,
})
const runs = [
  await runDistrict(`Bao'an (${fmt(full.responders.length)} responders)`, full, loaded.network),
  await runDistrict(`thin (${fmt(thin.responders.length)} responders)`, thin, loaded.network),
]

// ---- the targets, and the documents

const pctOf = (x: number | null, digits = 1) => (x === null ? '—' : `${fmt(x * 100, digits)} %`)
const num = (x: number | null, digits = 2) => (x === null ? '—' : fmt(x, digits))
const lines: string[] = []
for (const r of runs) {
  const byCol = (c: Column) =>
    r.results.find((x) => x.column.eta === c.eta && x.column.policy === c.policy && !x.column.relaxed)!
  for (const eta of ['straight', 'roads'] as const) {
    const f = byCol({ eta, policy: 'fixed' }).district
    const p = byCol({ eta, policy: 'probability' }).district
    const offersRatio = f.offersPerFire && p.offersPerFire ? p.offersPerFire / f.offersPerFire : null
    lines.push(
      `${r.name}, ${eta === 'roads' ? 'roads' : 'straight line'}: offers/fire probability ÷ fixed = ${pctOf(offersRatio)} (target ≤ 60 %: ${offersRatio !== null && offersRatio <= 0.6 ? 'met' : 'missed'}); on-scene share ${pctOf(p.shareReached)} vs ${pctOf(f.shareReached)} (${(p.shareReached ?? 0) >= (f.shareReached ?? 0) ? 'same or better' : 'worse'}); covered places reached ≤ 300 s: fixed ${pctOf(f.shareReachedCovered)}, probability ${pctOf(p.shareReachedCovered)} (target ≥ 99 %)`,
    )
  }
  const f = byCol({ eta: 'roads', policy: 'fixed' }).district
  const x = r.results.find((y) => y.column.relaxed)!.district
  lines.push(
    `${r.name}, roads: the floor the rule sets — forced offers ÷ fixed offers = ${pctOf(ratio(f.forcedPerFire ?? 0, f.offersPerFire ?? 0))}; with the rule relaxed (information only) probability ÷ fixed = ${pctOf(ratio(x.offersPerFire ?? 0, f.offersPerFire ?? 0))} at an on-scene share of ${pctOf(x.shareReached)} (covered places ${pctOf(x.shareReachedCovered)})`,
  )
}
for (const l of lines) process.stdout.write(`${l}\n`)
const wallS = (performance.now() - bench0) / 1000
process.stdout.write(`whole run: ${fmt(wallS, 0)} s\n`)

const ROWS: [string, (s: Summary) => string][] = [
  ['fires', (s) => String(s.fires)],
  ['fires in covered places', (s) => String(s.firesCovered)],
  ['fires reached ≤ 300 s after the alarm', (s) => `${s.reached300} (${pctOf(s.shareReached)})`],
  [
    '… of those in covered places (target ≥ 99 %)',
    (s) => `${s.reached300Covered} (${pctOf(s.shareReachedCovered)})`,
  ],
  [
    'first signal → first offer p50 / p95 (s)',
    (s) => `${num(s.firstOfferP50S, 1)} / ${num(s.firstOfferP95S, 1)}`,
  ],
  [
    'alarm → first on scene p50 / p95 (s)',
    (s) => `${num(s.firstOnSceneP50S, 1)} / ${num(s.firstOnSceneP95S, 1)}`,
  ],
  ['offers per fire', (s) => num(s.offersPerFire)],
  [
    '… of them to micro stations, fire crews, the building’s guards (forced by the rule, but in the relaxed column)',
    (s) => num(s.forcedPerFire),
  ],
  ['mean predicted P (probability policy)', (s) => num(s.meanPredictedP, 3)],
  [
    'missed in covered places: nearest road ETA → on scene (s)',
    (s) =>
      s.missedCovered.length === 0
        ? '—'
        : s.missedCovered.map((m) => `${m.nearestS} → ${m.onSceneS ?? 'never'}`).join(', '),
  ],
  [
    'cooking smoke: alarms / cancelled by verification / dispatched',
    (s) => `${s.cooking} / ${s.cookingCancelledByVerification} / ${s.cookingDispatched}`,
  ],
]
const md: string[] = [
  '# The district day (issue #18 item 6)',
  '',
  'Produced by `npm run district-day` (bench/district-day.ts): one simulated day over every community',
  'of the simulator’s Bao’an, dispatched by the real dispatcher (services/dispatch, SQLite state) on a',
  'simulated clock, four columns in the same run on the same alarms and the same responders’ draws.',
  'The responders’ truth (accept chance and reply lag per type, each responder drawn around its type)',
  'is in the bench and is not the dispatcher’s prior: the probability policy learns it from the day.',
  'Real travel is always along the generated roads (× lognormal noise σ 0.1); the straight-line columns',
  'dispatch on straight line × 1.3. Coverage: the share of 20 sampled buildings per community that an',
  'on-duty responder reaches within 300 s (roads: truth; straight line: what the dispatcher believes).',
  '',
  '```sh',
  `node --import tsx bench/district-day.ts --fires ${FIRES} --cooking ${COOKING} --thin ${THIN} --seed ${SEED}`,
  '```',
  '',
  `Run on ${new Date().toISOString()} (${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, node ${process.version}), ${fmt(wallS, 0)} s in all.`,
  '',
  '## Against the targets',
  '',
  ...lines.map((l) => `- ${l}`),
  '',
  // The figures in this paragraph are from the run of 2026-12-03 (docs/BENCHMARKS.md); re-read them after a new run.
  'Why the offers target is missed: the probability policy keeps PROTOCOL.md’s rule (every micro',
  'station member and fire crew inside the circle, the building’s own guards), and that rule alone is',
  'the "floor" line above. A community’s micro station members wait together at one station (12 % of',
  'its responders), and a motor crew’s 300 s reaches the neighbouring communities’ stations too, so a',
  'fire has 10–25 of them inside. With them P(someone on scene ≤ 300 s) is already ≈ 1 (the row "mean',
  'predicted P"), and the policy adds almost nobody (offers − forced ≈ 0.3 per fire), where the fixed',
  'policy adds three grid staff, three volunteers and their replacements after declines (≈ 10 per',
  'fire). The prior is not the cause: it is learnt during the day, and the prediction matches what',
  'happened (thin district: mean predicted 0.979, observed 98.0 %). With the rule relaxed (the',
  'information-only column) the target is met in both districts at the same or a better on-scene',
  'share; changing the contract’s rule is for its owners to decide, not for a benchmark. What fewer',
  'offers cost: the p95 of alarm → first on scene rises (≈ 180 → 246 s in Bao’an), still within 300 s.',
  'The thin district misses the ≥ 99 % target in every column, on the same fires: the nearest',
  'responder (62–272 s away) declined or did not answer, and the next came too late (the row "missed").',
  '',
]
for (const r of runs) {
  md.push(
    `## ${r.name}`,
    '',
    `${r.communities} communities; ${r.alarms.fires} fires and ${r.alarms.cooking} cooking smokes; coverage ${pctOf(r.coverage.roads)} along roads (${pctOf(r.coverage.straight)} by straight line).`,
    '',
    `| | ${r.results.map((x) => label(x.column)).join(' | ')} |`,
    `|---|${r.results.map(() => '---').join('|')}|`,
    ...ROWS.map(([name, f]) => `| ${name} | ${r.results.map((x) => f(x.district)).join(' | ')} |`),
    `| simulated day took (s of wall time) | ${r.results.map((x) => fmt(x.wallS, 1)).join(' | ')} |`,
    '',
    'Per community: fires reached ≤ 300 s and offers per fire in each column, coverage along roads.',
    '',
    `| community | fires | ${r.results.map((x) => `${label(x.column)}: reached / offers`).join(' | ')} | coverage |`,
    `|---|---|${r.results.map(() => '---').join('|')}|---|`,
  )
  for (const c of Object.keys(r.results[0]!.communities)) {
    const s0 = r.results[0]!.communities[c]!
    md.push(
      `| ${c} | ${s0.fires} | ${r.results.map((x) => `${x.communities[c]!.reached300} / ${num(x.communities[c]!.offersPerFire, 1)}`).join(' | ')} | ${pctOf(r.coverage.byCommunity[c]?.roads ?? null, 0)} |`,
    )
  }
  md.push('')
}
fs.writeFileSync(path.join(ROOT, 'docs/DISTRICT-DAY.md'), `${md.join('\n')}\n`)
fs.writeFileSync(
  path.join(ROOT, 'docs/district-day.json'),
  `${JSON.stringify({ args: { fires: FIRES, cooking: COOKING, thin: THIN, seed: SEED }, runs }, null, 1)}\n`,
)
process.stdout.write('wrote docs/DISTRICT-DAY.md and docs/district-day.json\n')
