/**
 * `npm run simulate -- <options>`: the command line, parsed with node:util parseArgs and
 * checked; a bad option is an OptionError whose message names it (main prints it as one line
 * and exits with 2).
 */
import { parseArgs } from 'node:util'
import { DEFAULTS, MAX_DEVICES } from './district.ts'
import { SCENARIOS, type ScenarioName } from './scenarios.ts'

export class OptionError extends Error {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`)
    this.name = 'OptionError'
  }
}

export interface CliOptions {
  url: string
  mqtt: string
  token: string
  seed: number
  devices: number
  responders: number
  communities: number
  streets: number
  scenarios: ScenarioName[]
  rate: number
  /** Seconds: the load's length, and for other scenarios the longest the run goes on. */
  duration?: number
  concurrency: number
  maxDirect: number
  apps: 'near' | 'all' | 'none'
  speedup: number
  reportScale: number
  secrets?: string
  display: 'auto' | 'tty' | 'plain' | 'none'
  verbose: boolean
  help: boolean
  /** Fire panels' UITDs and LoRaWAN detectors (./panels.ts). */
  uitds: number
  lorawan: number
  gb26875: { host: string; port: number }
  chirpstackToken?: string
}

export const USAGE = `usage: npm run simulate -- [options]

  --url URL            the service's HTTP API (default http://127.0.0.1:8080)
  --mqtt URL           its MQTT broker (default mqtt://<the URL's host>:1883)
  --token TOKEN        the administrator token (default $FC_ADMIN_TOKEN)
  --seed N             the district and the run are the same for the same seed (default 42)
  --devices N          sensors and actuators, gateways on top (default ${DEFAULTS.devices}, at most ${MAX_DEVICES})
  --responders N       (default ${DEFAULTS.responders})
  --uitds N            buildings with a fire panel's UITD over GB/T 26875.3 (default 0)
  --gb26875 HOST:PORT  the service's FC_GB26875_PORT (default <the URL's host>:9000)
  --lorawan N          shops with a LoRaWAN smoke detector through ChirpStack's HTTP integration (default 0)
  --chirpstack-token T one of FC_CHIRPSTACK_TOKENS' tokens (default $FC_CHIRPSTACK_TOKEN)
  --communities N      (default ${DEFAULTS.communities}); --streets N (default ${DEFAULTS.streets})
  --scenario LIST      fire, cooking-smoke, offline, gas-leak, load; several with commas (default fire)
  --rate N             readings per second for load (default 1000)
  --duration S         seconds of load (default 60); for the other scenarios the longest the run
                       lasts (default 420: time for responders inside the 5-minute circle to arrive)
  --concurrency N      registration requests in flight (default 16)
  --max-direct N       devices with their own connection, at most (default 5000; the rest stay offline)
  --apps near|all|none responder apps to connect: within 3 km of a scenario (default), all, none
  --speedup N          responders move N times faster than real (default 1)
  --report-scale X     device reporting intervals × X (default 1: the catalogue's)
  --secrets FILE       keep the devices' and responders' secrets here (reused by a rerun)
  --display MODE       auto (default), tty, plain, none
  --verbose            log connection warnings to stderr
`

function int(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!/^-?\d+$/.test(raw.trim()) || n < min || n > max)
    throw new OptionError(`--${name}`, `"${raw}" is not a whole number in ${min}..${max}`)
  return n
}

function num(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    throw new OptionError(`--${name}`, `"${raw}" is not a number in ${min}..${max}`)
  return n
}

function url(name: string, raw: string, protocols: string[]): string {
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    throw new OptionError(`--${name}`, `"${raw}" is not a URL`)
  }
  if (!protocols.includes(u.protocol))
    throw new OptionError(
      `--${name}`,
      `"${raw}" must start with ${protocols.map((p) => `${p}//`).join(' or ')}`,
    )
  return raw
}

function oneOf<T extends string>(
  name: string,
  raw: string | undefined,
  fallback: T,
  allowed: readonly T[],
): T {
  if (raw === undefined) return fallback
  if (!(allowed as readonly string[]).includes(raw))
    throw new OptionError(`--${name}`, `"${raw}" is not one of ${allowed.join(', ')}`)
  return raw as T
}

function hostPort(s: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(s)
  if (m === null || Number(m[2]) > 65535) throw new OptionError('--gb26875', `"${s}" is not host:port`)
  return { host: m[1]!, port: Number(m[2]) }
}

export function parseCli(argv: readonly string[], env: Record<string, string | undefined> = {}): CliOptions {
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        mqtt: { type: 'string' },
        token: { type: 'string' },
        seed: { type: 'string' },
        devices: { type: 'string' },
        uitds: { type: 'string' },
        lorawan: { type: 'string' },
        gb26875: { type: 'string' },
        'chirpstack-token': { type: 'string' },
        responders: { type: 'string' },
        communities: { type: 'string' },
        streets: { type: 'string' },
        scenario: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        concurrency: { type: 'string' },
        'max-direct': { type: 'string' },
        apps: { type: 'string' },
        speedup: { type: 'string' },
        'report-scale': { type: 'string' },
        secrets: { type: 'string' },
        display: { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values
  } catch (err) {
    const m = (err as Error).message
    const opt = /'([^' ]+)/.exec(m)?.[1] ?? 'options'
    const why = m.includes('Unknown option')
      ? 'unknown option (see --help)'
      : m.includes('argument missing') || m.includes('requires a value') || m.includes('<value>')
        ? 'needs a value'
        : m.includes('positional')
          ? 'unexpected argument (options are --name value)'
          : m.split('\n')[0]!
    throw new OptionError(opt, why)
  }
  const str = (k: string) => values[k] as string | undefined
  const base = url('url', str('url') ?? 'http://127.0.0.1:8080', ['http:', 'https:'])
  const mqtt = url('mqtt', str('mqtt') ?? `mqtt://${new URL(base).hostname}:1883`, [
    'mqtt:',
    'mqtts:',
    'ws:',
    'wss:',
  ])
  const help = values['help'] === true
  const token = str('token') ?? env['FC_ADMIN_TOKEN'] ?? ''
  if (!help && token === '')
    throw new OptionError('--token', 'the administrator token is needed (or set FC_ADMIN_TOKEN)')
  const scenarios = (str('scenario') ?? 'fire').split(',').map((s) => s.trim())
  for (const s of scenarios) {
    if (!(SCENARIOS as readonly string[]).includes(s))
      throw new OptionError('--scenario', `"${s}" is not one of ${SCENARIOS.join(', ')}`)
  }
  const o: CliOptions = {
    url: base,
    mqtt,
    token,
    seed: int('seed', str('seed'), 42, 0, 2 ** 32 - 1),
    devices: int('devices', str('devices'), DEFAULTS.devices, 1, MAX_DEVICES),
    responders: int('responders', str('responders'), DEFAULTS.responders, 0, 1_000_000),
    communities: int('communities', str('communities'), DEFAULTS.communities, 1, 1000),
    streets: int('streets', str('streets'), DEFAULTS.streets, 1, 100),
    scenarios: scenarios as ScenarioName[],
    rate: num('rate', str('rate'), 1000, 1, 1_000_000),
    ...(str('duration') !== undefined ? { duration: num('duration', str('duration'), 0, 1, 86_400) } : {}),
    concurrency: int('concurrency', str('concurrency'), 16, 1, 256),
    maxDirect: int('max-direct', str('max-direct'), 5000, 0, 1_000_000),
    apps: oneOf('apps', str('apps'), 'near', ['near', 'all', 'none'] as const),
    speedup: num('speedup', str('speedup'), 1, 0.01, 1000),
    reportScale: num('report-scale', str('report-scale'), 1, 0.001, 1000),
    display: oneOf('display', str('display'), 'auto', ['auto', 'tty', 'plain', 'none'] as const),
    verbose: values['verbose'] === true,
    help,
    uitds: int('uitds', str('uitds'), 0, 0, 100_000),
    lorawan: int('lorawan', str('lorawan'), 0, 0, 100_000),
    gb26875: hostPort(str('gb26875') ?? `${new URL(base).hostname}:9000`),
    ...((str('chirpstack-token') ?? env['FC_CHIRPSTACK_TOKEN']) !== undefined
      ? { chirpstackToken: (str('chirpstack-token') ?? env['FC_CHIRPSTACK_TOKEN'])! }
      : {}),
  }
  const secrets = str('secrets')
  if (secrets !== undefined) o.secrets = secrets
  if (o.devices < 8 * o.communities)
    throw new OptionError(
      '--devices',
      `${o.devices} is too few for ${o.communities} communities (at least 8 per community)`,
    )
  return o
}
