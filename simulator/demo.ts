/**
 * `npm run demo` (node --import tsx simulator/demo.ts): the service and the simulator in one
 * process, so that a newcomer sees within a minute a fire detected, responders dispatched and
 * arriving. The service runs with a fresh data directory in the system's temp dir and a known
 * administrator token; the district is small (4 communities, 400 devices, 240 responders) and
 * responders move 10× faster than real. After the summary the service and the district keep running
 * for a look around until Ctrl-C (or exits at once with --exit).
 *
 *   npm run demo [-- --seed N --speedup N --exit]
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { area } from '@turf/turf'
import type { Feature, MultiPolygon, Point, Polygon } from 'geojson'
import { type RunningService, startService } from '../services/app.ts'
import { ConfigError, loadConfig } from '../services/config/index.ts'
import { runSimulation, type SimulationReport } from './run.ts'

function fail(message: string, code: number): never {
  process.stderr.write(`demo: ${message}\n`)
  process.exit(code)
}

function options(): { seed: number; speedup: number; exit: boolean } {
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      strict: true,
      options: {
        seed: { type: 'string' },
        speedup: { type: 'string' },
        exit: { type: 'boolean' },
      },
    })
    const seed = Number(values.seed ?? 7)
    if (!Number.isInteger(seed) || seed < 0) fail(`--seed: "${values.seed}" is not a whole number ≥ 0`, 2)
    const speedup = Number(values.speedup ?? 10)
    if (!Number.isFinite(speedup) || speedup <= 0 || speedup > 1000)
      fail(`--speedup: "${values.speedup}" is not a number in 0..1000`, 2)
    return { seed, speedup, exit: values.exit === true }
  } catch (err) {
    const m = (err as Error).message
    return fail(
      `${/'(-[^' ]+)/.exec(m)?.[1] ?? 'options'}: ${m.includes('Unknown') ? 'unknown option' : m.split('\n')[0]}`,
      2,
    )
  }
}

async function start(dataDir: string, token: string): Promise<RunningService> {
  const env = (http: string, mqtt: string) => ({
    ...process.env,
    FC_DATA_DIR: dataDir,
    FC_ADMIN_TOKEN: token,
    FC_HOST: process.env['FC_HOST'] ?? '127.0.0.1',
    FC_HTTP_PORT: http,
    FC_MQTT_PORT: mqtt,
    FC_LOG_LEVEL: process.env['FC_LOG_LEVEL'] ?? 'error',
    // A demo's minute is short: a work order opens after 10 s of trouble, and a restore that
    // holds 10 s verifies it (the defaults are 60 s each).
    FC_WORK_ORDER_GRACE_S: process.env['FC_WORK_ORDER_GRACE_S'] ?? '10',
    FC_WORK_ORDER_VERIFY_S: process.env['FC_WORK_ORDER_VERIFY_S'] ?? '10',
  })
  const wanted = env(process.env['FC_HTTP_PORT'] ?? '8080', process.env['FC_MQTT_PORT'] ?? '1883')
  try {
    return await startService(loadConfig(wanted))
  } catch (err) {
    if (err instanceof ConfigError) fail(`cannot start the service: ${err.message}`, 1)
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
    process.stdout.write(`ports ${wanted.FC_HTTP_PORT}/${wanted.FC_MQTT_PORT} are taken; using free ones\n`)
    return await startService(loadConfig(env('0', '0')))
  }
}

/**
 * What the console draws for the district after the run, in words: the fire's 5-minute circle
 * (along the roads with FC_ROAD_NETWORK: one isochrone per mode) and the coverage per community.
 */
interface CircleAnswer {
  features: Feature<Polygon | MultiPolygon | Point, { mode?: string; radius_m?: number }>[]
}
interface CoverageAnswer {
  share: number
  communities: { id: string; share: number }[]
  uncovered: { features: unknown[] }
}

async function circleAndCoverage(base: string, token: string, report: SimulationReport): Promise<string[]> {
  const get = async <T>(url: string): Promise<T | undefined> => {
    const res = await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${token}` } })
    return res.ok ? ((await res.json()) as T) : undefined
  }
  const lines: string[] = []
  const fire = report.incidents.find((i) => i.cause !== 'gas' && i.alarmAt !== undefined)
  const circle =
    fire !== undefined
      ? await get<CircleAnswer>(`/api/incidents/${encodeURIComponent(fire.id)}/circle`)
      : undefined
  if (fire !== undefined && circle !== undefined) {
    const polygons = circle.features.filter((f) => f.geometry.type !== 'Point')
    const inside = circle.features.length - polygons.length
    const areas = polygons.map((f) => `${f.properties.mode} ${(area(f) / 1e6).toFixed(2)} km²`).join(', ')
    const along = polygons.some((f) => f.properties.radius_m === undefined)
      ? 'along the roads'
      : 'straight line'
    lines.push(`the fire's 5-minute circle (${fire.id}, ${along}): ${areas}; ${inside} responders inside`)
  }
  const coverage = await get<CoverageAnswer>('/api/coverage?scope=district')
  if (coverage !== undefined) {
    const per = coverage.communities.map((c) => `${c.id} ${(c.share * 100).toFixed(1)} %`).join(', ')
    lines.push(
      `coverage now: ${(coverage.share * 100).toFixed(1)} % of buildings reached within 5 min by an available responder (${per}); ` +
        `${coverage.uncovered.features.length} buildings uncovered — the console's Coverage button draws them`,
    )
  }
  return lines
}

async function main(): Promise<void> {
  const o = options()
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'firecircle-demo-'))
  const token = `demo-${randomBytes(16).toString('hex')}`
  const service = await start(dataDir, token)
  const host =
    process.env['FC_HOST'] && process.env['FC_HOST'] !== '0.0.0.0' ? process.env['FC_HOST'] : '127.0.0.1'
  const base = `http://${host}:${service.httpPort}`
  const mqttUrl = `mqtt://${host}:${service.mqttPort}`
  let stopped = false
  let simulation: { close(): Promise<void> } | undefined
  const stop = async (code: number) => {
    if (stopped) return
    stopped = true
    await simulation?.close().catch(() => {})
    await service.stop().catch(() => {})
    fs.rmSync(dataDir, { recursive: true, force: true })
    process.exit(code)
  }
  process.on('SIGINT', () => void stop(0))
  process.on('SIGTERM', () => void stop(0))

  // A district duty officer for the console, signed in by the link printed below.
  const officer = await fetch(`${base}/api/officers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'demo-officer', name: 'Demo duty officer', scope: 'district' }),
  })
  if (officer.status !== 201) fail(`could not create the demo's duty officer: HTTP ${officer.status}`, 1)
  const officerToken = ((await officer.json()) as { token: string }).token
  const consoleLink = `${base}/console/#token=${encodeURIComponent(officerToken)}`

  const look = [
    '',
    `firecircle is running (data in ${dataDir}, removed on exit)`,
    `  administrator token  ${token}`,
    `  API                  ${base}/api   (OpenAPI at ${base}/docs)`,
    `  incidents            curl -H "Authorization: Bearer ${token}" ${base}/api/incidents`,
    `  live stream (SSE)    curl -N -H "Authorization: Bearer ${token}" ${base}/api/stream`,
    `                       or in a browser: ${base}/api/stream?access_token=${token}`,
    `  MQTT                 ${mqttUrl}`,
    `  console              ${consoleLink}`,
    `                       (the district's duty officer; or sign in at ${base}/console/ with ${officerToken})`,
    '',
  ]
  for (const l of look) process.stdout.write(`${l}\n`)

  let dutyChecks: Promise<string> | undefined
  const report = await runSimulation({
    base,
    mqttUrl,
    token,
    seed: o.seed,
    communities: 4,
    streets: 2,
    devices: 400,
    responders: 240,
    scenarios: ['fire', 'cooking-smoke', 'repair'],
    speedup: o.speedup,
    apps: 'all',
    durationS: 150,
    offerWaitS: 30,
    keepConnected: !o.exit,
    onReady: () => {
      dutyChecks = runDutyChecks(base, token)
      process.stdout.write(
        `\na fire starts in a factory, someone burns the toast in a flat and a sprinkler main loses pressure until it is repaired; responders move ${o.speedup}× faster than real\n\n`,
      )
    },
  })
  if (dutyChecks !== undefined) process.stdout.write(`${await dutyChecks}\n`)
  simulation = report
  await printDailyReport(base, token)
  for (const l of await circleAndCoverage(base, token, report)) process.stdout.write(`${l}\n`)
  if (o.exit) return stop(report.ok ? 0 : 1)
  for (const l of look) process.stdout.write(`${l}\n`)
  process.stdout.write('the service and the district keep running for a look around; Ctrl-C stops them\n')
}

/**
 * The district's duty checks (查岗): two communities' duty rooms are checked with 10 s to answer;
 * Xixiang's officer answers at once, Xin'an's does not — missed, and told to the street.
 */
async function runDutyChecks(base: string, token: string): Promise<string> {
  const call = async (method: string, url: string, body: unknown, as = token) => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: { authorization: `Bearer ${as}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, string> }
  }
  const officers: Record<string, string> = {}
  for (const community of ['xixiang-01', 'xinan-01']) {
    const o = await call('POST', '/api/officers', {
      id: `duty-${community}`,
      name: `${community} duty room`,
      scope: `community:${community}`,
    })
    if (o.status !== 201)
      return `duty checks: could not create the ${community} duty officer (HTTP ${o.status})`
    officers[community] = o.body['token']!
  }
  const sent: Record<string, string> = {}
  for (const community of Object.keys(officers)) {
    const c = await call('POST', '/api/duty-checks', { scope: `community:${community}`, answerWithinS: 10 })
    if (c.status !== 201) return `duty checks: could not send one to ${community} (HTTP ${c.status})`
    sent[community] = c.body['id']!
  }
  const answer = await call(
    'POST',
    `/api/duty-checks/${sent['xixiang-01']}/answer`,
    {},
    officers['xixiang-01'],
  )
  await new Promise((r) => setTimeout(r, 11_000))
  const missed = await fetch(`${base}/api/duty-checks/${sent['xinan-01']}`, {
    headers: { authorization: `Bearer ${token}` },
  }).then((r) => r.json() as Promise<{ status: string }>)
  return `duty checks: xixiang-01 answered (HTTP ${answer.status}), xinan-01 ${missed.status} — told to the street's officers`
}

/** The district's daily report, in short: one line per section (GET /api/reports/daily). */
async function printDailyReport(base: string, token: string): Promise<void> {
  const date = new Intl.DateTimeFormat('en-CA', {
    timeZone: process.env.FC_TIME_ZONE ?? 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date())
  const url = `${base}/api/reports/daily?scope=district&date=${date}`
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
  if (res.status !== 200) {
    process.stdout.write(`daily report: HTTP ${res.status}\n`)
    return
  }
  // biome-ignore lint/suspicious/noExplicitAny: a printout of the JSON as it came
  const r = (await res.json()) as any
  const kv = (o: Record<string, unknown>) =>
    Object.entries(o)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')
  const clocks = Object.entries(
    r.clocks as Record<string, { count: number; p50S: number | null; maxS: number | null }>,
  )
    .filter(([, c]) => c.count > 0)
    .map(([k, c]) => `${k} p50 ${c.p50S} s max ${c.maxS} s`)
    .join('; ')
  const lines = [
    `daily report, district, ${r.date} (${r.timeZone}):`,
    `  alarms             ${r.incidents.total}: ${kv(r.incidents.byOutcome)}; by class ${kv(r.incidents.byClass)}`,
    `  false alarms       ${r.falseAlarms.total}: by cause ${kv(r.falseAlarms.byCause) || '-'}; by site ${kv(r.falseAlarms.bySite) || '-'}`,
    `  handling clocks    ${clocks}`,
    `  breaches           ${r.breaches.total}: ${kv(r.breaches.byClock) || '-'}`,
    `  work orders        ${kv(r.workOrders)}`,
    `  devices            ${kv(r.devices)}`,
    `  duty checks        ${kv(r.dutyChecks)}`,
    `  responders         ${kv(r.responders)}`,
    `  5-minute outcome   ${r.fiveMinute.reachedWithin300s} of ${r.fiveMinute.alarms} alarms reached within 300 s`,
    `  (also ${url}&format=csv or &format=html)`,
  ]
  for (const l of lines) process.stdout.write(`${l}\n`)
}

main().catch((err: Error) => {
  process.stderr.write(`demo: ${err.message}\n`)
  process.exit(1)
})
