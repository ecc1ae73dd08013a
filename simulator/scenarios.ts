/**
 * Scenarios, driven through real MQTT connections (the fleet's devices and gateways), each
 * watching the service's own API for the outcome it should cause:
 *
 * - `fire`: a fire in a factory spreads across the building's detectors, one every few
 *   seconds: smoke climbs past 3 %/m, heat rises (past 8.3 °C/min, then 57 °C), CO on
 *   multi-sensors. Expected: an incident that reaches `alarm` (by coincidence, heat or CO).
 * - `cooking-smoke`: one smoke detector in a home sees smoke for ~10 s, then it clears, well
 *   inside the 30 s verification window. Expected: an incident resolved as
 *   `verification_cancelled`.
 * - `gas-leak`: a gas detector climbs past 25 %LEL. Expected: an alarm (no verification). The
 *   building's gas valves answer `valve.close` when the service sends it (linkage), and the
 *   gas then disperses; without a close it disperses after `gasHoldS`.
 * - `offline`: a few directly connected devices and one gateway lose their connections
 *   without DISCONNECT. Expected: the service shows each of them offline (the will).
 * - `load`: steady telemetry at `rate` readings/s through the gateways for `durationS`.
 *   Reported: what was sent, what the service counted (its /metrics).
 */
import { ACTUATOR_KINDS, type BuildingSpec, DETECTOR_KINDS, type District, type LonLat } from './district.ts'
import type { Fleet, SimDevice } from './fleet.ts'
import type { Api } from './http.ts'
import type { Rng } from './prng.ts'

export const SCENARIOS = ['fire', 'cooking-smoke', 'offline', 'gas-leak', 'load', 'repair'] as const
export type ScenarioName = (typeof SCENARIOS)[number]

export interface ScenarioPlan {
  name: ScenarioName
  building?: BuildingSpec
}

export interface ScenarioResult {
  scenario: ScenarioName
  building?: string
  ok: boolean
  /** One line: what happened. */
  outcome: string
  incident?: string
  startedAt: number
  /** When the expected outcome was seen in the service's API. */
  seenAt?: number
  details?: Record<string, number | string | boolean>
}

export interface ScenarioOptions {
  /** Seconds between detectors in a spreading fire. Default 6. */
  spreadS?: number
  /** Detectors a fire reaches, at most. Default 6. */
  spreadCount?: number
  /** Seconds between reports of a device in a scenario. Default 2. */
  sampleS?: number
  /** Devices dropped by `offline` (plus one gateway). Default 5. */
  offlineCount?: number
  /** Readings per second for `load`. Default 1000. */
  rate?: number
  /** Seconds `load` runs. Default 60. */
  durationS?: number
  /** Seconds a gas leak lasts when no valve closes. Default 45. */
  gasHoldS?: number
  /** How long to wait for the expected outcome in the API, seconds. Default 90. */
  timeoutS?: number
}

export interface ScenarioContext {
  district: District
  fleet: Fleet
  api: Api
  rng: Rng
  /** Wait `ms`, or less when the run is stopping. */
  sleep(ms: number): Promise<void>
  stopping(): boolean
  /** Work that goes on after the result (a fire keeps burning); awaited when the run stops. */
  background(p: Promise<unknown>): void
}

// ---- planning ----------------------------------------------------------------------------

function devicesOf(district: District): Map<string, District['devices']> {
  const m = new Map<string, District['devices']>()
  for (const d of district.devices) {
    if (d.kind === 'gateway') continue
    const list = m.get(d.building) ?? []
    list.push(d)
    m.set(d.building, list)
  }
  return m
}

/**
 * Pick a building for each scenario that needs one, all different, by the seed. Buildings in
 * `exclude` are not picked: one with an open incident would have new alarms join it (as they
 * should) instead of opening the incident the scenario watches for.
 */
export function planScenarios(
  district: District,
  names: readonly ScenarioName[],
  rng: Rng,
  exclude: ReadonlySet<string> = new Set(),
): ScenarioPlan[] {
  const inBuilding = devicesOf(district)
  const used = new Set<string>(exclude)
  const count = (b: BuildingSpec, kinds: readonly string[]) =>
    (inBuilding.get(b.id) ?? []).filter((d) => kinds.includes(d.kind)).length
  const choose = (what: string, tiers: ((b: BuildingSpec) => boolean)[]): BuildingSpec => {
    for (const ok of tiers) {
      const list = district.buildings.filter((b) => !used.has(b.id) && ok(b))
      if (list.length > 0) {
        const b = rng.pick(list)
        used.add(b.id)
        return b
      }
    }
    throw new Error(`no building in the district suits a ${what} scenario (try more --devices)`)
  }
  return names.map((name): ScenarioPlan => {
    switch (name) {
      case 'fire':
        return {
          name,
          building: choose('fire', [
            (b) => b.type === 'factory' && count(b, DETECTOR_KINDS) >= 4,
            (b) => count(b, DETECTOR_KINDS) >= 2,
          ]),
        }
      case 'cooking-smoke':
        return {
          name,
          building: choose('cooking-smoke', [
            (b) => b.type === 'home' && count(b, ['smoke']) >= 1,
            (b) => b.type === 'shop' && count(b, ['smoke']) >= 1,
            (b) => count(b, ['smoke']) >= 1,
          ]),
        }
      case 'gas-leak':
        return {
          name,
          building: choose('gas-leak', [
            (b) => b.type === 'shop' && count(b, ['gas']) >= 1 && count(b, ['gas_valve']) >= 1,
            (b) => count(b, ['gas']) >= 1 && count(b, ['gas_valve']) >= 1,
            (b) => count(b, ['gas']) >= 1,
          ]),
        }
      case 'repair':
        return {
          name,
          building: choose('repair', [(b) => count(b, ['water_pressure']) >= 1]),
        }
      default:
        return { name }
    }
  })
}

/** Where the scenarios happen (for the responder apps to connect near them). */
export function planSites(plans: readonly ScenarioPlan[]): LonLat[] {
  return plans.flatMap((p) => (p.building ? [p.building.location] : []))
}

// ---- watching the service ----------------------------------------------------------------

interface IncidentItem {
  id: string
  status: string
  building?: string
  openedAt: string
  alarmAt?: string
  closedAt?: string
  resolution?: string
}

async function incidentIn(api: Api, building: string, since: number): Promise<IncidentItem | undefined> {
  const page = await api.get<{ items: IncidentItem[] }>(
    `/api/incidents?building=${encodeURIComponent(building)}&limit=20`,
  )
  return page.items
    .filter((i) => Date.parse(i.openedAt) >= since - 1000)
    .sort((a, b) => Date.parse(a.openedAt) - Date.parse(b.openedAt))[0]
}

async function waitFor<T>(
  ctx: ScenarioContext,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const end = Date.now() + timeoutMs
  while (!ctx.stopping() && Date.now() < end) {
    try {
      const x = await probe()
      if (x !== undefined) return x
    } catch {
      // The API may be busy (registration, load); try again.
    }
    await ctx.sleep(500)
  }
  return undefined
}

const r2 = (x: number) => Math.round(x * 100) / 100
const r1 = (x: number) => Math.round(x * 10) / 10

/** Report a device's values now; a failure (connection gone) is not the scenario's end. */
async function sendSafe(fleet: Fleet, id: string): Promise<void> {
  try {
    await fleet.send(id)
  } catch {}
}

// ---- the scenarios -----------------------------------------------------------------------

/** The values of a burning detector `e` seconds after the fire reached it. */
export function fireValues(e: number): { obscuration: number; temperature: number; co: number } {
  return {
    obscuration: r2(Math.min(25, 0.2 + 0.7 * e)),
    temperature: r1(Math.min(400, 27 + 0.4 * e + 0.012 * e * e)),
    co: r1(Math.min(800, 3 + 5 * e)),
  }
}

async function fire(
  ctx: ScenarioContext,
  plan: ScenarioPlan,
  o: Required<ScenarioOptions>,
): Promise<ScenarioResult> {
  const b = plan.building!
  const startedAt = Date.now()
  const detectors = ctx.fleet.connectedIn(b.id).filter((d) => DETECTOR_KINDS.includes(d.spec.kind))
  if (detectors.length === 0)
    return {
      scenario: 'fire',
      building: b.id,
      ok: false,
      outcome: 'no detector of the building is connected',
      startedAt,
    }
  // Smoke first (a fire smoulders before it heats), then the rest in a seeded order.
  ctx.rng.shuffle(detectors)
  detectors.sort((x, y) => Number(x.spec.kind === 'heat') - Number(y.spec.kind === 'heat'))
  const path = detectors.slice(0, o.spreadCount)
  const burn = async (d: SimDevice, delayMs: number) => {
    await ctx.sleep(delayMs)
    const lit = Date.now()
    while (!ctx.stopping()) {
      const v = fireValues((Date.now() - lit) / 1000)
      ctx.fleet.set(d.spec.id, {
        ...(d.spec.kind !== 'heat' ? { obscuration: v.obscuration } : {}),
        ...(d.spec.kind !== 'smoke' ? { temperature: v.temperature } : {}),
        ...(d.spec.kind === 'multi' ? { co: v.co } : {}),
      })
      await sendSafe(ctx.fleet, d.spec.id)
      await ctx.sleep(o.sampleS * 1000)
    }
  }
  ctx.background(Promise.all(path.map((d, i) => burn(d, i * o.spreadS * 1000))))
  const seen = await waitFor(ctx, o.timeoutS * 1000, async () => {
    const i = await incidentIn(ctx.api, b.id, startedAt)
    return i?.alarmAt !== undefined ? i : undefined
  })
  const details = { detectors: path.length, kinds: path.map((d) => d.spec.kind).join(' ') }
  if (seen === undefined)
    return {
      scenario: 'fire',
      building: b.id,
      ok: false,
      outcome: `no alarm for ${b.id} within ${o.timeoutS} s`,
      startedAt,
      details,
    }
  return {
    scenario: 'fire',
    building: b.id,
    ok: true,
    incident: seen.id,
    outcome: `fire in ${b.name} (${b.id}): incident ${seen.id} reached alarm ${r1((Date.parse(seen.alarmAt!) - startedAt) / 1000)} s after ignition`,
    startedAt,
    seenAt: Date.now(),
    details,
  }
}

async function cookingSmoke(
  ctx: ScenarioContext,
  plan: ScenarioPlan,
  o: Required<ScenarioOptions>,
): Promise<ScenarioResult> {
  const b = plan.building!
  const startedAt = Date.now()
  const smoke = ctx.fleet.connectedIn(b.id).filter((d) => d.spec.kind === 'smoke')
  if (smoke.length === 0)
    return {
      scenario: 'cooking-smoke',
      building: b.id,
      ok: false,
      outcome: 'no smoke detector of the building is connected',
      startedAt,
    }
  const d = ctx.rng.pick(smoke)
  // Up past 3 %/m for about ten seconds, then clear: inside the 30 s verification window.
  const curve = [0.6, 2.2, 3.6, 4.1, 3.8, 3.3, 1.4, 0.4]
  for (const obscuration of curve) {
    if (ctx.stopping()) break
    ctx.fleet.set(d.spec.id, { obscuration })
    await sendSafe(ctx.fleet, d.spec.id)
    await ctx.sleep(o.sampleS * 1000)
  }
  ctx.fleet.set(d.spec.id, undefined)
  await sendSafe(ctx.fleet, d.spec.id)
  const seen = await waitFor(ctx, o.timeoutS * 1000, async () => {
    const i = await incidentIn(ctx.api, b.id, startedAt)
    return i?.closedAt !== undefined || i?.alarmAt !== undefined ? i : undefined
  })
  if (seen === undefined)
    return {
      scenario: 'cooking-smoke',
      building: b.id,
      ok: false,
      outcome: `no incident for ${b.id} closed within ${o.timeoutS} s`,
      startedAt,
      details: { device: d.spec.id },
    }
  const cancelled = seen.resolution === 'verification_cancelled'
  return {
    scenario: 'cooking-smoke',
    building: b.id,
    ok: cancelled,
    incident: seen.id,
    outcome: cancelled
      ? `cooking smoke in ${b.name} (${d.spec.id}): incident ${seen.id} cancelled by verification`
      : `cooking smoke in ${b.name} (${d.spec.id}): incident ${seen.id} is ${seen.status}${seen.resolution ? ` (${seen.resolution})` : ''}, not cancelled`,
    startedAt,
    seenAt: Date.now(),
    details: { device: d.spec.id },
  }
}

async function gasLeak(
  ctx: ScenarioContext,
  plan: ScenarioPlan,
  o: Required<ScenarioOptions>,
): Promise<ScenarioResult> {
  const b = plan.building!
  const startedAt = Date.now()
  const sensors = ctx.fleet.connectedIn(b.id).filter((d) => d.spec.kind === 'gas')
  if (sensors.length === 0)
    return {
      scenario: 'gas-leak',
      building: b.id,
      ok: false,
      outcome: 'no gas detector of the building is connected',
      startedAt,
    }
  const valves = ctx.fleet.connectedIn(b.id).filter((d) => d.spec.kind === 'gas_valve')
  const d = ctx.rng.pick(sensors)
  const closed = () => valves.some((v) => v.state === 'close')
  let closedAt: number | undefined
  const leak = async () => {
    let lel = 1.5
    const began = Date.now()
    while (!ctx.stopping()) {
      if (closedAt === undefined && closed()) closedAt = Date.now()
      const dispersing = closedAt !== undefined || Date.now() - began > o.gasHoldS * 1000
      lel = dispersing ? Math.max(0.5, lel * 0.6) : Math.min(45, lel + 4)
      ctx.fleet.set(d.spec.id, { lel: r1(lel) })
      await sendSafe(ctx.fleet, d.spec.id)
      if (dispersing && lel <= 0.5) break
      await ctx.sleep(o.sampleS * 1000)
    }
    ctx.fleet.set(d.spec.id, undefined)
  }
  ctx.background(leak())
  const seen = await waitFor(ctx, o.timeoutS * 1000, async () => {
    const i = await incidentIn(ctx.api, b.id, startedAt)
    return i?.alarmAt !== undefined ? i : undefined
  })
  if (seen === undefined)
    return {
      scenario: 'gas-leak',
      building: b.id,
      ok: false,
      outcome: `no gas alarm for ${b.id} within ${o.timeoutS} s`,
      startedAt,
      details: { device: d.spec.id },
    }
  // Give the linkage a moment to close the valves; the result says whether it did.
  await waitFor(ctx, 10_000, async () => (closed() ? true : undefined))
  return {
    scenario: 'gas-leak',
    building: b.id,
    ok: true,
    incident: seen.id,
    outcome: `gas leak in ${b.name} (${d.spec.id}): incident ${seen.id} reached alarm; ${
      valves.length === 0
        ? 'no gas valve connected'
        : closed()
          ? 'the gas valve closed on command'
          : 'no valve.close command came'
    }`,
    startedAt,
    seenAt: Date.now(),
    details: { device: d.spec.id, valves: valves.length, valveClosed: closed() },
  }
}

async function offline(
  ctx: ScenarioContext,
  _plan: ScenarioPlan,
  o: Required<ScenarioOptions>,
  avoid: ReadonlySet<string>,
): Promise<ScenarioResult> {
  const startedAt = Date.now()
  const direct = [...ctx.fleet.devices.values()].filter(
    (d) =>
      d.client?.connected === true && !avoid.has(d.spec.building) && !ACTUATOR_KINDS.includes(d.spec.kind),
  )
  const chosen = ctx.rng
    .shuffle(direct)
    .slice(0, o.offlineCount)
    .map((d) => d.spec.id)
  const gateway = ctx.rng
    .shuffle(ctx.district.devices.filter((d) => d.kind === 'gateway' && !avoid.has(d.building)))
    .find((g) => ctx.fleet.isConnected(g.id))
  if (gateway) chosen.push(gateway.id)
  if (chosen.length === 0)
    return { scenario: 'offline', ok: false, outcome: 'no connected device to drop', startedAt }
  for (const id of chosen) ctx.fleet.drop(id)
  const seen = new Map<string, number>()
  await waitFor(ctx, Math.min(o.timeoutS, 30) * 1000, async () => {
    await Promise.all(
      chosen
        .filter((id) => !seen.has(id))
        .map(async (id) => {
          const dev = await ctx.api.get<{ online: boolean }>(`/api/devices/${encodeURIComponent(id)}`)
          if (!dev.online) seen.set(id, Date.now())
        }),
    )
    return seen.size === chosen.length ? true : undefined
  })
  let slowest = 0
  for (const t of seen.values()) slowest = Math.max(slowest, t - startedAt)
  return {
    scenario: 'offline',
    ok: seen.size === chosen.length,
    outcome: `dropped ${chosen.length} connection(s)${gateway ? ` (one a gateway, ${gateway.id})` : ''} without DISCONNECT; the service shows ${seen.size} offline${seen.size ? `, the last after ${r1(slowest / 1000)} s` : ''}`,
    startedAt,
    seenAt: Date.now(),
    details: { dropped: chosen.length, seenOffline: seen.size },
  }
}

/** Sum of a counter's samples in a Prometheus text exposition. */
export function metricSum(text: string, name: string): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const rest = line.slice(name.length)
    if (rest[0] !== ' ' && rest[0] !== '{') continue
    const v = Number(line.slice(line.lastIndexOf(' ') + 1))
    if (Number.isFinite(v)) sum += v
  }
  return sum
}

async function metrics(api: Api): Promise<string> {
  const res = await api.request<string>('GET', '/metrics')
  return typeof res.body === 'string' ? res.body : ''
}

async function load(
  ctx: ScenarioContext,
  _plan: ScenarioPlan,
  o: Required<ScenarioOptions>,
): Promise<ScenarioResult> {
  const startedAt = Date.now()
  const carried = [...ctx.fleet.devices.values()]
    .filter((d) => d.gateway?.connected === true)
    .map((d) => d.spec.id)
  if (carried.length === 0)
    return {
      scenario: 'load',
      ok: false,
      outcome: 'no gateway is connected (more --devices put devices behind gateways)',
      startedAt,
    }
  const before = await metrics(ctx.api).catch(() => '')
  // Every 100 ms, whatever the target rate says is owed by now (timer drift does not lower it).
  let sent = 0
  let queued = 0
  let next = 0
  const end = startedAt + o.durationS * 1000
  while (!ctx.stopping() && Date.now() < end) {
    const owed = Math.floor((o.rate * (Date.now() - startedAt)) / 1000)
    for (; sent < owed; sent++) {
      if (ctx.fleet.queue(carried[next++ % carried.length]!)) queued++
    }
    await ctx.sleep(100)
  }
  const elapsedS = (Date.now() - startedAt) / 1000
  await ctx.sleep(1500) // the last batches
  const after = await metrics(ctx.api).catch(() => '')
  const intake =
    metricSum(after, 'firecircle_intake_readings_total') -
    metricSum(before, 'firecircle_intake_readings_total')
  const rejected =
    metricSum(after, 'firecircle_intake_rejected_total') -
    metricSum(before, 'firecircle_intake_rejected_total')
  const sentRate = queued / elapsedS
  return {
    scenario: 'load',
    ok: sentRate >= o.rate * 0.9 && rejected === 0,
    outcome: `load: ${queued} readings through ${new Set(carried.map((id) => ctx.fleet.devices.get(id)!.spec.gateway)).size} gateways in ${r1(elapsedS)} s (${Math.round(sentRate)}/s, target ${o.rate}/s); the service counted ${intake} readings (with background traffic) and ${rejected} rejections`,
    startedAt,
    seenAt: Date.now(),
    details: { queued, ratePerS: Math.round(sentRate), serviceReadings: intake, rejected },
  }
}

export const SCENARIO_DEFAULTS: Required<ScenarioOptions> = {
  spreadS: 6,
  spreadCount: 6,
  sampleS: 2,
  offlineCount: 5,
  rate: 1000,
  durationS: 60,
  gasHoldS: 45,
  timeoutS: 90,
}

/** Run one planned scenario; resolves with its result once its outcome is seen (or not). */
export function runScenario(
  ctx: ScenarioContext,
  plan: ScenarioPlan,
  opts: ScenarioOptions = {},
  avoid: ReadonlySet<string> = new Set(),
): Promise<ScenarioResult> {
  const o = { ...SCENARIO_DEFAULTS, ...opts }
  switch (plan.name) {
    case 'fire':
      return fire(ctx, plan, o)
    case 'cooking-smoke':
      return cookingSmoke(ctx, plan, o)
    case 'gas-leak':
      return gasLeak(ctx, plan, o)
    case 'offline':
      return offline(ctx, plan, o, avoid)
    case 'load':
      return load(ctx, plan, o)
    case 'repair':
      return repair(ctx, plan, o)
  }
}

interface WorkOrderItem {
  id: string
  status: string
  device?: string
  opened: string
  history: { actor: string; status: string }[]
}

/**
 * A sprinkler main loses pressure (supervisory) for longer than the grace: a work order opens;
 * the valve is reopened, the pressure comes back and stays, and the device verifies its own
 * order (actor `device`) — the maintenance loop of docs/DOMAIN.md §Running a monitoring centre.
 */
async function repair(
  ctx: ScenarioContext,
  plan: ScenarioPlan,
  o: Required<ScenarioOptions>,
): Promise<ScenarioResult> {
  const b = plan.building!
  const startedAt = Date.now()
  const main = ctx.fleet.connectedIn(b.id).find((d) => d.spec.kind === 'water_pressure')
  const failed = (outcome: string): ScenarioResult => ({
    scenario: 'repair',
    building: b.id,
    ok: false,
    outcome,
    startedAt,
  })
  if (main === undefined) return failed('no water-pressure device of the building is connected')
  const id = main.spec.id
  const orderOf = async () =>
    (
      await ctx.api.get<{ items: WorkOrderItem[] }>(
        `/api/work-orders?building=${encodeURIComponent(b.id)}&limit=20`,
      )
    ).items.find((w) => w.device === id && Date.parse(w.opened) >= startedAt - 1000)
  ctx.fleet.set(id, { pressure: 0.04 })
  const opened = await waitFor(ctx, o.timeoutS * 1000, async () => {
    await sendSafe(ctx.fleet, id)
    return orderOf()
  })
  if (opened === undefined) return failed(`no work order for ${id} within ${o.timeoutS} s`)
  ctx.fleet.set(id, undefined)
  const verified = await waitFor(ctx, o.timeoutS * 1000, async () => {
    await sendSafe(ctx.fleet, id)
    const w = await orderOf()
    return w?.status === 'verified' ? w : undefined
  })
  const byDevice = verified?.history.at(-1)?.actor === 'device'
  return {
    scenario: 'repair',
    building: b.id,
    ok: byDevice,
    outcome: byDevice
      ? `low pressure on ${id} in ${b.name}: work order ${opened.id} opened, then verified by the device itself`
      : `work order ${opened.id} for ${id} was not verified by the device within ${o.timeoutS} s`,
    startedAt,
    seenAt: Date.now(),
    details: { device: id },
  }
}
