/**
 * One simulator run, start to end: generate the district, register it, connect the devices,
 * gateways and responder apps, run the scenarios, show it live, summarise from the service's
 * API, disconnect. `npm run simulate`, `npm run demo` and the integration test all come here.
 */
import type { Writable } from 'node:stream'
import type { ClientLogger } from '../devices/connection.ts'
import { silentLogger } from '../devices/connection.ts'
import { createDisplay, type LiveStats } from './display.ts'
import { type District, describeDistrict, generateDistrict } from './district.ts'
import { type CommandRecord, createFleet } from './fleet.ts'
import { createApi } from './http.ts'
import { type PanelFleet, type PanelFleetOptions, startPanelFleet } from './panels.ts'
import { createRng } from './prng.ts'
import { type Registration, registerDistrict } from './register.ts'
import { createCrowd, type Journey, respondersNear } from './responders.ts'
import {
  planScenarios,
  planSites,
  runScenario,
  type ScenarioContext,
  type ScenarioName,
  type ScenarioOptions,
  type ScenarioResult,
} from './scenarios.ts'
import { collectIncidents, formatSummary, type ServiceIncident, type Summary, summarise } from './summary.ts'

export interface SimulationOptions {
  /** The service's HTTP base, e.g. http://127.0.0.1:8080. */
  base: string
  /** Its MQTT URL, e.g. mqtt://127.0.0.1:1883. */
  mqttUrl: string
  /** The administrator token. */
  token: string
  seed: number
  devices?: number
  responders?: number
  communities?: number
  streets?: number
  /** A district built already (then seed and the counts above only label the run). */
  district?: District
  scenarios: readonly ScenarioName[]
  scenario?: ScenarioOptions
  /** The longest the run goes on after the scenarios start, seconds. Default 420. */
  durationS?: number
  /** Registration requests in flight. Default 16. */
  concurrency?: number
  /** Direct device connections at most. Default 5,000. */
  maxDirect?: number
  /** Which responder apps connect: near the scenario sites (default), all, or none. */
  apps?: 'near' | 'all' | 'none'
  /** "Near", metres. Default 3,000. */
  appRadiusM?: number
  /** Responders move this many times faster than real. Default 1. */
  speedup?: number
  /** Device reporting intervals × this. Default 1. */
  reportScale?: number
  /** After an alarm, how long to wait for offers before calling the run done, seconds. Default 30. */
  offerWaitS?: number
  /** Secrets from an earlier run (devices and responders already registered). */
  knownSecrets?: ReadonlyMap<string, string>
  /** Called with every secret once registration is done (to save them). */
  onSecrets?: (secrets: ReadonlyMap<string, string>) => void | Promise<void>
  out?: Writable & { isTTY?: boolean }
  display?: 'auto' | 'tty' | 'plain' | 'none'
  logger?: ClientLogger
  /** Called once everything is connected, before the scenarios start. */
  onReady?: () => void
  /** Fire panels' UITDs and LoRaWAN detectors besides the MQTT devices (./panels.ts). */
  panels?: PanelFleetOptions
  /** Leave devices and apps connected (and reporting) after the summary; `report.close()` ends them. */
  keepConnected?: boolean
}

export interface SimulationReport {
  startedAt: number
  district: ReturnType<typeof describeDistrict>
  registration: Registration['counts'] & { ms: number }
  scenarios: ScenarioResult[]
  incidents: ServiceIncident[]
  summary: Summary
  journeys: readonly Journey[]
  commands: readonly CommandRecord[]
  /** Every scenario reached its expected outcome. */
  ok: boolean
  lines: string[]
  /** Disconnect the devices and apps (already done unless keepConnected). */
  close(): Promise<void>
}

const fmt = (x: number) => x.toLocaleString('en-US')

export async function runSimulation(opts: SimulationOptions): Promise<SimulationReport> {
  const out = opts.out ?? process.stdout
  const logger = opts.logger ?? silentLogger
  const speedup = opts.speedup ?? 1
  const durationMs = (opts.durationS ?? 420) * 1000
  const offerWaitMs = (opts.offerWaitS ?? 30) * 1000
  const rng = createRng(opts.seed)
  const api = createApi(opts.base, opts.token)
  const print = (line: string) => out.write(`${line}\n`)

  // The district.
  const district =
    opts.district ??
    generateDistrict({
      seed: opts.seed,
      ...(opts.devices !== undefined ? { devices: opts.devices } : {}),
      ...(opts.responders !== undefined ? { responders: opts.responders } : {}),
      ...(opts.communities !== undefined ? { communities: opts.communities } : {}),
      ...(opts.streets !== undefined ? { streets: opts.streets } : {}),
    })
  const about = describeDistrict(district)
  print(
    `district (seed ${opts.seed}): ${about.streets} streets, ${about.communities} communities of ${district.areaKm2} km², ` +
      `${fmt(district.buildings.length)} buildings (${about.buildings.factory} factories, ${about.buildings.shop} shops, ${about.buildings.home} homes), ` +
      `${fmt(about.devices)} devices (${fmt(about.direct)} direct, ${fmt(about.behindGateways)} behind ${fmt(about.gateways)} gateways), ` +
      `${fmt(about.responders)} responders (${about.respondersPerCommunity.min}–${about.respondersPerCommunity.max} per community)`,
  )

  // Registration.
  let phase = ''
  let decile = -1
  const registration = await registerDistrict(api, district, {
    concurrency: opts.concurrency ?? 16,
    ...(opts.knownSecrets ? { known: opts.knownSecrets } : {}),
    onProgress: (p) => {
      const line = `registering ${p.phase}: ${fmt(p.done)}/${fmt(p.total)}${p.reused ? ` (${fmt(p.reused)} already there)` : ''}`
      if (out.isTTY) {
        out.write(`\r\x1b[2K${line}${p.done === p.total ? '\n' : ''}`)
        return
      }
      // Plain output: each phase's start and end, and every tenth in between.
      const d = p.total < 100 ? (p.done === p.total ? 10 : 0) : Math.floor((10 * p.done) / p.total)
      if (p.phase !== phase || d !== decile) print(line)
      phase = p.phase
      decile = d
    },
  })
  print(`registered in ${(registration.ms / 1000).toFixed(1)} s`)
  await opts.onSecrets?.(registration.secrets)

  // Connections: the scenario buildings first, responder apps near the scenarios.
  const busy = new Set<string>()
  for (const i of (await api.get<{ items: ServiceIncident[] }>('/api/incidents?status=open&limit=1000'))
    .items)
    if (i.building !== undefined) busy.add(i.building)
  const plans = planScenarios(district, opts.scenarios, rng.fork('plans'), busy)
  const sites = planSites(plans)
  const fleet = createFleet({
    district,
    secrets: registration.secrets,
    mqttUrl: opts.mqttUrl,
    rng: rng.fork('fleet'),
    logger,
    ...(opts.maxDirect !== undefined ? { maxDirect: opts.maxDirect } : {}),
    ...(opts.reportScale !== undefined ? { reportScale: opts.reportScale } : {}),
  })
  const crowd = createCrowd({
    district,
    secrets: registration.secrets,
    mqttUrl: opts.mqttUrl,
    rng: rng.fork('crowd'),
    logger,
    speedup,
  })
  const progress = (what: string) => (done: number, total: number) => {
    if (out.isTTY)
      out.write(`\r\x1b[2Kconnecting ${what}: ${fmt(done)}/${fmt(total)}${done === total ? '\n' : ''}`)
    else if (done === total) print(`connected ${what}: ${fmt(total)}`)
  }
  const appsMode = opts.apps ?? 'near'
  const appIds =
    appsMode === 'all'
      ? district.responders.map((r) => r.id)
      : appsMode === 'near'
        ? respondersNear(district, sites, opts.appRadiusM ?? 3000)
        : []
  const buildingIds = new Set(plans.flatMap((p) => (p.building ? [p.building.id] : [])))
  let panelFleet: PanelFleet | undefined
  try {
    await fleet.connect(buildingIds, progress('devices and gateways'))
    await crowd.connect(appIds, progress('responder apps'))
    if (opts.panels !== undefined && opts.panels.uitds + opts.panels.lorawan > 0) {
      panelFleet = await startPanelFleet(api, district, opts.panels)
      print(
        `fire panels: ${panelFleet.uitds} UITDs connected, ${panelFleet.lorawan} LoRaWAN detectors reporting`,
      )
    }
  } catch (err) {
    await Promise.allSettled([fleet.close(), crowd.close(), panelFleet?.close()])
    throw err
  }

  // The run.
  const startedAt = Date.now()
  let stopping = false
  const wakers = new Set<() => void>()
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopping) return resolve()
      const done = () => {
        clearTimeout(t)
        wakers.delete(done)
        resolve()
      }
      const t = setTimeout(done, ms)
      wakers.add(done)
    })
  const background: Promise<unknown>[] = []
  const ctx: ScenarioContext = {
    district,
    fleet,
    api,
    rng: rng.fork('scenarios'),
    sleep,
    stopping: () => stopping,
    background: (p) => {
      background.push(p.catch(() => {}))
    },
  }
  const allBuildings = new Set(district.buildings.map((b) => b.id))
  let incidents: ServiceIncident[] = []
  const watch = async () => {
    while (!stopping) {
      try {
        const page = await api.get<{ items: ServiceIncident[] }>('/api/incidents?limit=1000')
        incidents = page.items.filter(
          (i) =>
            Date.parse(i.openedAt) >= startedAt - 1000 &&
            i.building !== undefined &&
            allBuildings.has(i.building),
        )
      } catch {}
      await sleep(2000)
    }
  }
  const results: (ScenarioResult | undefined)[] = plans.map(() => undefined)
  const live = (): LiveStats => {
    const f = fleet.stats()
    const c = crowd.stats()
    const open = incidents.filter((i) =>
      ['verifying', 'alarm', 'acknowledged', 'confirmed'].includes(i.status),
    )
    return {
      elapsedS: (Date.now() - startedAt) / 1000,
      direct: f.direct,
      gateways: f.gateways,
      carried: f.carried,
      apps: c.apps,
      messages: f.messages + c.messages,
      readings: f.readings,
      commands: f.commands,
      incidents: {
        open: open.length,
        alarm: incidents.filter((i) => i.alarmAt !== undefined).length,
        cancelled: incidents.filter((i) => i.resolution === 'verification_cancelled').length,
        total: incidents.length,
      },
      responders: { offers: c.offers, enRoute: c.enRoute, onScene: c.onScene },
      scenarios: plans.map((p, k) => {
        const r = results[k]
        const where = p.building ? ` @ ${p.building.id}` : ''
        return `${p.name}${where}: ${r === undefined ? 'running' : `${r.ok ? 'done' : 'FAILED'} — ${r.outcome}`}`
      }),
    }
  }
  const display = createDisplay({
    out,
    stats: live,
    mode: opts.display ?? 'auto',
    title: `firecircle simulator · seed ${opts.seed}`,
  })
  opts.onReady?.()
  display.start()
  const watching = watch()
  const avoid = buildingIds
  const running = plans.map((plan, k) =>
    sleep(1000 * k)
      .then(() => runScenario(ctx, plan, opts.scenario, avoid))
      .catch(
        (err: Error): ScenarioResult => ({
          scenario: plan.name,
          ok: false,
          outcome: `failed: ${err.message}`,
          startedAt: Date.now(),
        }),
      )
      .then((r) => {
        results[k] = r
        return r
      }),
  )

  // Done when every scenario has its outcome and the responders it drew have arrived (or no
  // offer came within offerWaitS of the alarm); at the latest after durationS.
  const settled = () => {
    if (results.some((r) => r === undefined)) return false
    for (const r of results) {
      if (r?.incident === undefined || r.scenario === 'cooking-smoke') continue
      const js = crowd.journeys().filter((j) => j.incident === r.incident)
      if (js.some((j) => j.state === 'offered' || j.state === 'accepted' || j.state === 'en_route'))
        return false
      if (js.length === 0 && Date.now() - (r.seenAt ?? r.startedAt) < offerWaitMs) return false
    }
    return true
  }
  while (!settled() && Date.now() - startedAt < durationMs) await new Promise((r) => setTimeout(r, 250))
  const timedOut = !settled()
  stopping = true
  for (const wake of [...wakers]) wake()
  await Promise.all(running)
  await Promise.race([Promise.all(background), new Promise((r) => setTimeout(r, 5000))])
  await watching

  // The summary, from the service.
  let finalIncidents: ServiceIncident[] = []
  try {
    finalIncidents = await collectIncidents(api, startedAt, allBuildings)
  } catch (err) {
    display.log(`could not read the incidents: ${(err as Error).message}`)
  }
  display.stop()
  const scenarios = results.filter((r): r is ScenarioResult => r !== undefined)
  const summary = summarise(finalIncidents, crowd.journeys(), speedup)
  const notes: string[] = []
  if (timedOut) notes.push(`the run stopped after --duration ${durationMs / 1000} s`)
  if (summary.alarms > 0 && summary.offers === 0)
    notes.push(
      `no dispatch offer reached a simulated responder within ${offerWaitMs / 1000} s of an alarm (is dispatch running in this service?)`,
    )
  if (speedup !== 1)
    notes.push(`responders moved ${speedup}× faster than real; on-scene times are scaled back to real speed`)
  if (appsMode === 'near')
    notes.push(
      `${fmt(crowd.stats().apps)} of ${fmt(district.responders.length)} responder apps connected (those within ${fmt(opts.appRadiusM ?? 3000)} m of a scenario); --apps all connects every one`,
    )
  const f = fleet.stats()
  if (f.connectFailures > 0) notes.push(`${f.connectFailures} device connection(s) failed`)
  const lines = formatSummary(summary, scenarios, notes)
  for (const l of lines) print(l)

  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= Promise.allSettled([crowd.close(), fleet.close(), panelFleet?.close()]).then(() => {})
    return closing
  }
  if (!opts.keepConnected) await close()
  return {
    close,
    startedAt,
    district: about,
    registration: { ...registration.counts, ms: registration.ms },
    scenarios,
    incidents: finalIncidents,
    summary,
    journeys: crowd.journeys(),
    commands: fleet.commands(),
    ok: scenarios.length === plans.length && scenarios.every((r) => r.ok),
    lines,
  }
}
