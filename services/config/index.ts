/**
 * Settings: the environment turned into one typed, validated Config ([docs/PROTOCOL.md §Running]).
 * A setting that is present but wrong throws a ConfigError whose message names the setting;
 * the entry point prints it as one line and exits. Nothing falls back silently.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`)
    this.name = 'ConfigError'
  }
}

export type InfluxConfig =
  | { api: 'v2'; url: string; token: string; org: string; bucket: string }
  | { api: 'v1'; url: string; database: string; username?: string; password?: string }

export type TravelModeName = 'foot' | 'bicycle' | 'motor'

export interface EtaSettings {
  /** FC_CIRCUITY: road distance ÷ straight-line distance. */
  circuity?: number
  /** FC_<MODE>_SPEED_MPS and FC_<MODE>_TURNOUT_S. */
  modes: Partial<Record<TravelModeName, { speedMps?: number; turnoutS?: number }>>
}

function eta(env: Env): EtaSettings {
  const out: EtaSettings = { modes: {} }
  if (present(env, 'FC_CIRCUITY') !== undefined)
    out.circuity = positiveNumber(env, 'FC_CIRCUITY', 1.3, { min: 1, max: 3 })
  for (const mode of ['foot', 'bicycle', 'motor'] as const) {
    const speed = `FC_${mode.toUpperCase()}_SPEED_MPS`
    const turnout = `FC_${mode.toUpperCase()}_TURNOUT_S`
    const m: { speedMps?: number; turnoutS?: number } = {}
    if (present(env, speed) !== undefined) m.speedMps = positiveNumber(env, speed, 1, { min: 0.1, max: 60 })
    if (present(env, turnout) !== undefined)
      m.turnoutS = positiveNumber(env, turnout, 0, { min: 0, max: 600 })
    if (Object.keys(m).length > 0) out.modes[mode] = m
  }
  return out
}

/** The road network ([docs/PROTOCOL.md §Roads]); unset: straight line × FC_CIRCUITY. */
export interface RoadSettings {
  /** FC_ROAD_NETWORK: .osm.pbf, .osm (XML) or GeoJSON; checked here to exist, be readable and not be empty. */
  file: string
  /** FC_ROAD_SNAP_M: the longest straight stretch between a point and a road. */
  snapM: number
  /** FC_ROAD_PROFILE: per-mode class overrides (JSON), parsed. */
  profile?: unknown
}

function roads(env: Env): RoadSettings | undefined {
  const file = present(env, 'FC_ROAD_NETWORK')
  const snapM = positiveNumber(env, 'FC_ROAD_SNAP_M', 500, { min: 1, max: 5000 })
  const profileFile = present(env, 'FC_ROAD_PROFILE')
  if (file === undefined) {
    if (profileFile !== undefined)
      throw new ConfigError('FC_ROAD_PROFILE', 'applies to a road network only: set FC_ROAD_NETWORK as well')
    return undefined
  }
  let size: number
  try {
    const st = fs.statSync(file)
    if (!st.isFile()) throw new Error('not a file')
    fs.accessSync(file, fs.constants.R_OK)
    size = st.size
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'cannot be read'
    throw new ConfigError('FC_ROAD_NETWORK', `${why}: ${file}`)
  }
  if (size === 0) throw new ConfigError('FC_ROAD_NETWORK', `the road network file ${file} is empty`)
  const out: RoadSettings = { file: path.resolve(file), snapM }
  if (profileFile !== undefined) {
    try {
      out.profile = JSON.parse(fs.readFileSync(profileFile, 'utf8'))
    } catch (err) {
      throw new ConfigError(
        'FC_ROAD_PROFILE',
        `cannot read the road profile ${profileFile} as JSON (${(err as Error).message})`,
      )
    }
  }
  return out
}

export interface Config {
  mqttPort: number
  httpPort: number
  /** Address the MQTT and HTTP listeners bind to. */
  host: string
  dataDir: string
  /** Administrator token from FC_ADMIN_TOKEN; undefined → generated at first start. */
  adminToken?: string
  /** Undefined → the embedded telemetry store in FC_DATA_DIR. */
  influx?: InfluxConfig
  tls?: { port: number; certFile: string; keyFile: string }
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** A `ts` more than this far ahead of receive time is not trusted. */
  tsFutureMs: number
  /** A `ts` more than this far behind receive time is not trusted. */
  tsPastMs: number
  /** Group-commit window of the intake spool: one fsync covers every message in it. */
  spoolCommitMs: number
  /**
   * FC_THREADS: 2 (default) runs the embedded node's spool commits and the pipeline to the
   * telemetry store on a worker thread of their own (services/spool-thread); 1 keeps
   * everything on the one thread, the layout before issue #14. A cluster's spool is
   * PostgreSQL's and stays on the node's thread.
   */
  threads: 1 | 2
  /**
   * The spool's bound in points (FC_SPOOL_MAX_POINTS): QoS 0 telemetry is shed from half of it,
   * /readyz is not ready from 80 %, QoS 1 telemetry waits for room at it (services/spool/bound.ts).
   */
  spoolMaxPoints: number
  /** Largest MQTT payload accepted, in bytes. */
  maxPayloadBytes: number
  /** Linked alerts (services/linkage): webhooks, 119 forwarding, rules. */
  linkage: LinkageSettings
  /** Travel model of the 5-minute circle (docs/DOMAIN.md defaults unless set). */
  eta: EtaSettings
  /** FC_TIME_ZONE: the district's IANA time zone (default Asia/Shanghai). */
  timeZone: string
  /** FC_GB26875_PORT / FC_GB26875_ADDRESS: the fire panels' listener; undefined = off. */
  gb26875?: Gb26875Config
  /** FC_CHIRPSTACK_TOKENS: ChirpStack HTTP integrations, name → token; empty = the route refuses all. */
  chirpstackTokens: Map<string, string>
  /** FC_CHIRPSTACK_MAPPING: the codec fields per device and per device profile, parsed (a JSON file). */
  chirpstackMapping?: string
  /** FC_ROAD_NETWORK set: ETAs along roads. */
  roads?: RoadSettings
  /** FC_MAP_TILES_URL / FC_MAP_ATTRIBUTION: the console's street map (unset: no tile request leaves the service). */
  map: MapSettings
  /** FC_POSITION_MAX_AGE_S in ms, when set (coverage: a live position older than this is not used; default 30 min). */
  positionMaxAgeMs?: number
  /** FC_COVERAGE_INTERVAL_S / FC_COVERAGE_WARNING_SHARE: the coverage watch (interval 0 = off). */
  coverage: { intervalMs: number; warningShare: number }
  /** Work orders (services/maintenance): grace, verification, deadlines by kind, photo size. */
  maintenance: MaintenanceSettings
  /** FC_CLOCK_*_S: the handling clocks' limits in seconds (services/reports). */
  clockLimits: ClockLimitSettings
  /**
   * FC_SUPERVISION_GATEWAY_S / FC_SUPERVISION_UITD_S: the longest a gateway or a UITD may stay
   * silent before its link is lost (NFPA 72: 60 min for a single path; GB 50440: 2 h).
   */
  supervision: { gatewayMs: number; uitdMs: number }
  /** Duty checks (services/duty): random checks per day, their hours and answer time. */
  duty: DutyConfig
  /** FC_AUDIT_RETENTION_DAYS: audit entries older than this move to the archive. */
  audit: { retentionDays: number }
  /** FC_DATABASE_URL set: a node of a cluster on PostgreSQL; unset: the embedded single node. */
  cluster?: ClusterSettings
  /** What one client may take: packet size and connections per listener and per address (issue #12). */
  connections: ConnectionSettings
  /** FC_OFFER_POLICY / FC_OFFER_TARGET_P: how dispatch chooses whom to offer (services/dispatch). */
  offers: OfferSettings
}

export interface OfferSettings {
  /** `fixed` (docs/PROTOCOL.md's default policy) or `probability` (the smallest set reaching the target). */
  policy: 'fixed' | 'probability'
  /** The target P(someone on scene ≤ 300 s), 0 < p < 1. */
  targetP: number
}

function offers(env: Env): OfferSettings {
  const policy = present(env, 'FC_OFFER_POLICY') ?? 'fixed'
  if (policy !== 'fixed' && policy !== 'probability')
    throw new ConfigError('FC_OFFER_POLICY', `"${policy}" is not fixed or probability`)
  const raw = present(env, 'FC_OFFER_TARGET_P')
  const targetP = raw === undefined ? 0.99 : Number(raw)
  if (!(Number.isFinite(targetP) && targetP > 0 && targetP < 1))
    throw new ConfigError(
      'FC_OFFER_TARGET_P',
      `"${raw}" is not a probability strictly between 0 and 1 (e.g. 0.99)`,
    )
  return { policy, targetP }
}

export interface ConnectionSettings {
  /** FC_MQTT_MAX_PACKET_BYTES: a packet declaring more closes its connection unread. */
  maxPacketBytes: number
  /** FC_MQTT_MAX_CONNECTIONS, FC_MQTT_MAX_CONNECTIONS_PER_ADDRESS (0 = no per-address cap). */
  mqtt: { max: number; perAddress: number }
  /** FC_HTTP_MAX_CONNECTIONS, FC_HTTP_MAX_CONNECTIONS_PER_ADDRESS (0 = no per-address cap). */
  http: { max: number; perAddress: number }
}

/** File descriptors kept for everything but client sockets: state files, the stores' sockets, webhooks. */
const RESERVED_FILES = 256

/** The process's soft open-file limit (`ulimit -n`), from /proc on Linux; undefined elsewhere. */
export function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'))
    if (m === null) return undefined
    return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1])
  } catch {
    return undefined
  }
}

/**
 * The listeners' caps share the open-file limit: by default HTTP gets a tenth (at most 1,000)
 * and MQTT the rest, less what the service keeps for its own files; set by hand, they must
 * fit in it together, or the start stops naming the setting — a flood on one listener must
 * never take the descriptors the other needs.
 */
function connections(env: Env, maxPayloadBytes: number, files: number | undefined): ConnectionSettings {
  const usable = files === undefined ? 11_000 : files - RESERVED_FILES
  if (usable < 20) {
    throw new ConfigError(
      'FC_MQTT_MAX_CONNECTIONS',
      `the open-file limit (ulimit -n ${files}) leaves no room for connections: raise it to at least ${RESERVED_FILES + 20}`,
    )
  }
  const httpMax = positiveNumber(
    env,
    'FC_HTTP_MAX_CONNECTIONS',
    Math.max(4, Math.min(1000, Math.floor(usable / 10))),
    {
      min: 1,
      max: 1_000_000,
    },
  )
  const mqttMax = positiveNumber(env, 'FC_MQTT_MAX_CONNECTIONS', Math.max(1, usable - httpMax), {
    min: 1,
    max: 10_000_000,
  })
  if (mqttMax + httpMax > usable) {
    const name =
      present(env, 'FC_MQTT_MAX_CONNECTIONS') !== undefined
        ? 'FC_MQTT_MAX_CONNECTIONS'
        : 'FC_HTTP_MAX_CONNECTIONS'
    throw new ConfigError(
      name,
      `FC_MQTT_MAX_CONNECTIONS (${mqttMax}) + FC_HTTP_MAX_CONNECTIONS (${httpMax}) + ${RESERVED_FILES} for the service's own files exceed the open-file limit (ulimit -n ${files}): lower them or raise the limit`,
    )
  }
  const maxPacketBytes = positiveNumber(
    env,
    'FC_MQTT_MAX_PACKET_BYTES',
    Math.max(1024 * 1024, maxPayloadBytes + 64 * 1024),
    { min: 1024, max: 268_435_455 },
  )
  if (maxPacketBytes <= maxPayloadBytes) {
    throw new ConfigError(
      'FC_MQTT_MAX_PACKET_BYTES',
      `${maxPacketBytes} must be larger than FC_MAX_PAYLOAD_BYTES (${maxPayloadBytes}): a payload between the two is dropped and acknowledged, past the cap the connection is closed`,
    )
  }
  const integer = (name: string, fallback: number) => {
    const n = positiveNumber(env, name, fallback, { min: 0, max: 10_000_000 })
    if (!Number.isInteger(n)) throw new ConfigError(name, `"${n}" is not a whole number`)
    return n
  }
  return {
    maxPacketBytes: Math.floor(maxPacketBytes),
    mqtt: { max: Math.floor(mqttMax), perAddress: integer('FC_MQTT_MAX_CONNECTIONS_PER_ADDRESS', 1000) },
    http: { max: Math.floor(httpMax), perAddress: integer('FC_HTTP_MAX_CONNECTIONS_PER_ADDRESS', 256) },
  }
}

/** The same shape as services/duty's DutySettings (config imports no stage). */
export interface DutyConfig {
  checksPerDay: number
  hours: { fromMin: number; toMin: number }
  answerWithinMs: number
  timeZone: string
}

/** The same shape as services/maintenance's MaintenanceSettings (config imports no stage). */
export interface MaintenanceSettings {
  graceMs: number
  verifyMs: number
  dueMs: { trouble: number; supervisory: number; hazard: number; false_alarms: number }
  falseAlarmLimit: number
  photoMaxBytes: number
}

export interface ClusterSettings {
  /** FC_DATABASE_URL: postgres://… (all state and every acknowledged MQTT message). */
  databaseUrl: string
  /** FC_NODE_ID: the node's unique name; default host name and HTTP port. */
  nodeId: string
  /** FC_LEASE_S in ms: a node that stops renewing its work this long loses it. */
  leaseMs: number
  /**
   * FC_NODE_URL: where the other nodes reach this node's HTTP port (an officer's action on an
   * incident is passed to the node that runs its community). Default: http://FC_HOST:port, or
   * the host name when FC_HOST is a wildcard address.
   */
  nodeUrl?: string
}

const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$/

function cluster(env: Env, httpPort: number, hasInflux: boolean): ClusterSettings | undefined {
  const databaseUrl = present(env, 'FC_DATABASE_URL')
  if (databaseUrl === undefined) {
    for (const name of ['FC_NODE_ID', 'FC_LEASE_S', 'FC_NODE_URL']) {
      if (present(env, name) !== undefined)
        throw new ConfigError(name, 'applies to a cluster only: set FC_DATABASE_URL as well, or unset it')
    }
    return undefined
  }
  let parsed: URL
  try {
    parsed = new URL(databaseUrl)
  } catch {
    throw new ConfigError(
      'FC_DATABASE_URL',
      'is not a URL (e.g. postgres://firecircle:secret@db:5432/firecircle)',
    )
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    throw new ConfigError('FC_DATABASE_URL', `must be a postgres:// URL, not ${parsed.protocol}//`)
  if (!hasInflux) {
    throw new ConfigError(
      'FC_DATABASE_URL',
      'a cluster needs FC_INFLUX_URL as well (the embedded telemetry store would die with its node)',
    )
  }
  const nodeId = present(env, 'FC_NODE_ID') ?? `${os.hostname()}:${httpPort}`
  if (!NODE_ID.test(nodeId))
    throw new ConfigError('FC_NODE_ID', `"${nodeId}" must be 1-63 letters, digits, '.', '_', ':' or '-'`)
  const nodeUrl = present(env, 'FC_NODE_URL')
  if (nodeUrl !== undefined && !/^https?:\/\/[^/]+\/?$/.test(nodeUrl))
    throw new ConfigError('FC_NODE_URL', `"${nodeUrl}" must be http://host:port (no path)`)
  return {
    databaseUrl,
    nodeId,
    leaseMs: positiveNumber(env, 'FC_LEASE_S', 10, { min: 1, max: 300 }) * 1000,
    ...(nodeUrl !== undefined ? { nodeUrl: nodeUrl.replace(/\/$/, '') } : {}),
  }
}

export interface LinkageSettings {
  /** FC_FIRE_CENTRE_URL: the fire command centre (119) webhook; unset → confirmed fires are not forwarded. */
  fireCentreUrl?: string
  /** FC_WEBHOOK_SECRET: the shared secret that signs every webhook (HMAC-SHA256 of the body). */
  webhookSecret?: string
  /** FC_SMS_GATEWAY_URL: a webhook that sends SMS to phone-only responsible parties. */
  smsGatewayUrl?: string
  /** FC_LINKAGE_RULES: a JSON or YAML file of per-community linkage rules. */
  rulesFile?: string
  /** FC_WEBHOOK_TIMEOUT_S: per-request timeout of a webhook call (default 5 s). */
  webhookTimeoutMs: number
  /** FC_FIRE_CENTRE_TEST_AT: the daily 119 link test, local `HH:MM` (default 09:00); unset when `off`. */
  fireCentreTestAt?: string
}

/** Fire panels' transmission devices (GB/T 26875.3): off unless FC_GB26875_PORT or FC_GB26875_TLS_PORT is set. */
export interface Gb26875Config {
  /** FC_GB26875_PORT: plain TCP; undefined when only TLS is asked for. */
  port?: number
  /** FC_GB26875_TLS_PORT: TLS with FC_MQTT_TLS_CERT / FC_MQTT_TLS_KEY (the MQTT listener's). */
  tls?: { port: number; certFile: string; keyFile: string }
  /** FC_GB26875_ADDRESS: the centre's 48-bit address, 12 lowercase hex digits. */
  address: string
}

function gb26875(env: Env): Gb26875Config | undefined {
  const plain = present(env, 'FC_GB26875_PORT') !== undefined
  const secure = present(env, 'FC_GB26875_TLS_PORT') !== undefined
  if (!plain && !secure) return undefined
  const address = present(env, 'FC_GB26875_ADDRESS') ?? '000000000001'
  if (!/^[0-9a-fA-F]{12}$/.test(address))
    throw new ConfigError('FC_GB26875_ADDRESS', `"${address}" is not a 48-bit address (12 hex digits)`)
  const files = tls(env)
  if (secure && files === undefined)
    throw new ConfigError(
      'FC_GB26875_TLS_PORT',
      'needs FC_MQTT_TLS_CERT and FC_MQTT_TLS_KEY (the same certificate as MQTT over TLS)',
    )
  return {
    ...(plain ? { port: port(env, 'FC_GB26875_PORT', 0) } : {}),
    ...(secure && files !== undefined
      ? {
          tls: {
            port: port(env, 'FC_GB26875_TLS_PORT', 0),
            certFile: files.certFile,
            keyFile: files.keyFile,
          },
        }
      : {}),
    address: address.toLowerCase(),
  }
}

/** FC_CHIRPSTACK_MAPPING: a readable file's text (the lpwan stage checks its entries at start). */
function chirpstackMapping(env: Env): string | undefined {
  const file = present(env, 'FC_CHIRPSTACK_MAPPING')
  if (file === undefined) return undefined
  try {
    return fs.readFileSync(file, 'utf8')
  } catch {
    throw new ConfigError('FC_CHIRPSTACK_MAPPING', `cannot read the mapping file ${file}`)
  }
}

/** `name:token,name:token`: one token per ChirpStack integration, at least 16 characters each. */
function chirpstackTokens(env: Env): Map<string, string> {
  const out = new Map<string, string>()
  const raw = present(env, 'FC_CHIRPSTACK_TOKENS')
  if (raw === undefined) return out
  for (const entry of raw.split(',')) {
    const m = /^\s*([A-Za-z0-9_.-]{1,64}):(\S{16,256})\s*$/.exec(entry)
    if (!m)
      throw new ConfigError(
        'FC_CHIRPSTACK_TOKENS',
        'must be name:token pairs separated by commas, each token at least 16 characters',
      )
    if (out.has(m[1]!)) throw new ConfigError('FC_CHIRPSTACK_TOKENS', `integration "${m[1]}" is named twice`)
    out.set(m[1]!, m[2]!)
  }
  return out
}

function timeZone(env: Env): string {
  const zone = present(env, 'FC_TIME_ZONE') ?? 'Asia/Shanghai'
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone })
  } catch {
    throw new ConfigError('FC_TIME_ZONE', `"${zone}" is not an IANA time zone (e.g. Asia/Shanghai)`)
  }
  return zone
}

type Env = Record<string, string | undefined>

function present(env: Env, name: string): string | undefined {
  const v = env[name]
  return v === undefined || v.trim() === '' ? undefined : v.trim()
}

function port(env: Env, name: string, fallback: number): number {
  const raw = present(env, name)
  if (raw === undefined) return fallback
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) {
    throw new ConfigError(name, `"${raw}" is not a port number (0-65535)`)
  }
  return Number(raw)
}

function positiveNumber(
  env: Env,
  name: string,
  fallback: number,
  opts: { min?: number; max?: number } = {},
): number {
  const raw = present(env, name)
  if (raw === undefined) return fallback
  const n = Number(raw)
  const min = opts.min ?? 0
  const max = opts.max ?? Number.MAX_SAFE_INTEGER
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new ConfigError(name, `"${raw}" is not a number between ${min} and ${max}`)
  }
  return n
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

function influx(env: Env): InfluxConfig | undefined {
  const url = present(env, 'FC_INFLUX_URL')
  const v2 = ['FC_INFLUX_TOKEN', 'FC_INFLUX_ORG', 'FC_INFLUX_BUCKET'] as const
  const v1 = ['FC_INFLUX_DATABASE', 'FC_INFLUX_USERNAME', 'FC_INFLUX_PASSWORD'] as const
  const given = [...v2, ...v1].filter((n) => present(env, n) !== undefined)
  if (url === undefined) {
    const first = given[0]
    if (first) throw new ConfigError(first, 'is set but FC_INFLUX_URL is not; set FC_INFLUX_URL or unset it')
    return undefined
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError('FC_INFLUX_URL', `"${url}" is not a URL (e.g. http://127.0.0.1:8086)`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError('FC_INFLUX_URL', `"${url}" must be an http:// or https:// URL`)
  }
  const base = url.replace(/\/+$/, '')
  const database = present(env, 'FC_INFLUX_DATABASE')
  const bucket = present(env, 'FC_INFLUX_BUCKET')
  if (database !== undefined && bucket !== undefined) {
    throw new ConfigError(
      'FC_INFLUX_DATABASE',
      'set either FC_INFLUX_DATABASE (InfluxDB 1.x) or FC_INFLUX_BUCKET (v2 API), not both',
    )
  }
  if (
    bucket !== undefined ||
    present(env, 'FC_INFLUX_TOKEN') !== undefined ||
    present(env, 'FC_INFLUX_ORG') !== undefined
  ) {
    for (const name of v2) {
      if (present(env, name) === undefined) {
        throw new ConfigError(
          name,
          'is required with the InfluxDB v2 write API (FC_INFLUX_TOKEN, FC_INFLUX_ORG, FC_INFLUX_BUCKET)',
        )
      }
    }
    return {
      api: 'v2',
      url: base,
      token: present(env, 'FC_INFLUX_TOKEN')!,
      org: present(env, 'FC_INFLUX_ORG')!,
      bucket: bucket!,
    }
  }
  if (database === undefined) {
    throw new ConfigError(
      'FC_INFLUX_DATABASE',
      'FC_INFLUX_URL is set: also set FC_INFLUX_DATABASE (InfluxDB 1.x) or FC_INFLUX_TOKEN/ORG/BUCKET (v2 API)',
    )
  }
  const username = present(env, 'FC_INFLUX_USERNAME')
  const password = present(env, 'FC_INFLUX_PASSWORD')
  if ((username === undefined) !== (password === undefined)) {
    throw new ConfigError(
      username === undefined ? 'FC_INFLUX_USERNAME' : 'FC_INFLUX_PASSWORD',
      'set both FC_INFLUX_USERNAME and FC_INFLUX_PASSWORD, or neither',
    )
  }
  return { api: 'v1', url: base, database, ...(username ? { username, password: password! } : {}) }
}

function tls(env: Env): Config['tls'] {
  const certFile = present(env, 'FC_MQTT_TLS_CERT')
  const keyFile = present(env, 'FC_MQTT_TLS_KEY')
  if (certFile === undefined && keyFile === undefined) return undefined
  if (certFile === undefined)
    throw new ConfigError('FC_MQTT_TLS_CERT', 'is required when FC_MQTT_TLS_KEY is set')
  if (keyFile === undefined)
    throw new ConfigError('FC_MQTT_TLS_KEY', 'is required when FC_MQTT_TLS_CERT is set')
  return { port: port(env, 'FC_MQTT_TLS_PORT', 8883), certFile, keyFile }
}

function webhookUrl(env: Env, name: string): string | undefined {
  const raw = present(env, name)
  if (raw === undefined) return undefined
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    throw new ConfigError(name, `"${raw}" is not a URL (e.g. https://119.example.org/firecircle)`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(name, `"${raw}" must be an http:// or https:// URL`)
  }
  return raw
}

function linkage(env: Env): LinkageSettings {
  const fireCentreUrl = webhookUrl(env, 'FC_FIRE_CENTRE_URL')
  const smsGatewayUrl = webhookUrl(env, 'FC_SMS_GATEWAY_URL')
  const webhookSecret = present(env, 'FC_WEBHOOK_SECRET')
  if (webhookSecret !== undefined && webhookSecret.length < 16) {
    throw new ConfigError('FC_WEBHOOK_SECRET', 'must be at least 16 characters')
  }
  if (webhookSecret === undefined && fireCentreUrl !== undefined) {
    throw new ConfigError(
      'FC_WEBHOOK_SECRET',
      'is required when FC_FIRE_CENTRE_URL is set (every webhook is signed with it)',
    )
  }
  if (webhookSecret === undefined && smsGatewayUrl !== undefined) {
    throw new ConfigError(
      'FC_WEBHOOK_SECRET',
      'is required when FC_SMS_GATEWAY_URL is set (every webhook is signed with it)',
    )
  }
  const rulesFile = present(env, 'FC_LINKAGE_RULES')
  if (rulesFile !== undefined) {
    try {
      if (!fs.statSync(rulesFile).isFile()) throw new Error('not a file')
      fs.accessSync(rulesFile, fs.constants.R_OK)
    } catch {
      throw new ConfigError('FC_LINKAGE_RULES', `cannot read the rules file ${rulesFile}`)
    }
  }
  return {
    ...(fireCentreUrl !== undefined ? { fireCentreUrl } : {}),
    ...(webhookSecret !== undefined ? { webhookSecret } : {}),
    ...(smsGatewayUrl !== undefined ? { smsGatewayUrl } : {}),
    ...(rulesFile !== undefined ? { rulesFile: path.resolve(rulesFile) } : {}),
    webhookTimeoutMs: positiveNumber(env, 'FC_WEBHOOK_TIMEOUT_S', 5, { min: 0.1, max: 120 }) * 1000,
    ...fireCentreTestAt(env),
  }
}

/** The handling clocks' limits in seconds (the standards' defaults: GB 50440, NFPA 72). */
export interface ClockLimitSettings {
  shownS: number
  acknowledgeS: number
  confirmS: number
  fireCentreS: number
  firstOfferS: number
  onSceneS: number
}

function clockLimits(env: Env): ClockLimitSettings {
  const s = (name: string, fallback: number) => positiveNumber(env, name, fallback, { min: 1, max: 86_400 })
  return {
    shownS: s('FC_CLOCK_SHOWN_S', 20),
    acknowledgeS: s('FC_CLOCK_ACKNOWLEDGE_S', 15),
    confirmS: s('FC_CLOCK_CONFIRM_S', 90),
    fireCentreS: s('FC_CLOCK_FIRE_CENTRE_S', 3),
    firstOfferS: s('FC_CLOCK_FIRST_OFFER_S', 90),
    onSceneS: s('FC_CLOCK_ON_SCENE_S', 300),
  }
}

export interface MapSettings {
  /** FC_MAP_TILES_URL: an XYZ raster template, http(s) with {z}, {x} and {y}. */
  tilesUrl?: string
  /** FC_MAP_ATTRIBUTION: shown on the map (the tiles' and the road data's licence, e.g. © OpenStreetMap). */
  attribution?: string
}

function mapSettings(env: Env): MapSettings {
  const tilesUrl = present(env, 'FC_MAP_TILES_URL')
  const attribution = present(env, 'FC_MAP_ATTRIBUTION')
  if (tilesUrl !== undefined) {
    let url: URL | undefined
    try {
      url = new URL(tilesUrl.replace(/\{[a-z]\}/g, '0'))
    } catch {
      url = undefined
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw new ConfigError('FC_MAP_TILES_URL', `"${tilesUrl}" must be an http(s) URL template`)
    const missing = ['{z}', '{x}', '{y}'].filter((p) => !tilesUrl.includes(p))
    if (missing.length > 0)
      throw new ConfigError(
        'FC_MAP_TILES_URL',
        `"${tilesUrl}" lacks ${missing.join(', ')} (e.g. https://tile.example/{z}/{x}/{y}.png)`,
      )
  }
  if (attribution !== undefined && attribution.length > 500)
    throw new ConfigError('FC_MAP_ATTRIBUTION', 'is longer than 500 characters')
  return {
    ...(tilesUrl !== undefined ? { tilesUrl } : {}),
    ...(attribution !== undefined ? { attribution } : {}),
  }
}

function fireCentreTestAt(env: Env): { fireCentreTestAt?: string } {
  const raw = present(env, 'FC_FIRE_CENTRE_TEST_AT') ?? '09:00'
  if (raw === 'off') return {}
  if (!/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(raw))
    throw new ConfigError('FC_FIRE_CENTRE_TEST_AT', `"${raw}" is not a local time HH:MM (e.g. 09:00) or off`)
  return { fireCentreTestAt: raw }
}

function maintenance(env: Env): MaintenanceSettings {
  const s = (name: string, fallback: number, max = 30 * 24 * 3600) =>
    positiveNumber(env, name, fallback, { min: 1, max }) * 1000
  return {
    graceMs: s('FC_WORK_ORDER_GRACE_S', 60, 24 * 3600),
    verifyMs: s('FC_WORK_ORDER_VERIFY_S', 60, 24 * 3600),
    dueMs: {
      supervisory: s('FC_WORK_ORDER_DUE_SUPERVISORY_S', 2 * 3600),
      trouble: s('FC_WORK_ORDER_DUE_TROUBLE_S', 4 * 3600),
      hazard: s('FC_WORK_ORDER_DUE_HAZARD_S', 24 * 3600),
      false_alarms: s('FC_WORK_ORDER_DUE_FALSE_ALARMS_S', 24 * 3600),
    },
    falseAlarmLimit: positiveNumber(env, 'FC_FALSE_ALARM_LIMIT', 5, { min: 1, max: 1000 }),
    photoMaxBytes: positiveNumber(env, 'FC_WORK_ORDER_PHOTO_MAX_BYTES', 2 * 1024 * 1024, {
      min: 1024,
      max: 16 * 1024 * 1024,
    }),
  }
}

/** Link supervision by kind: at most the standard's interval, one line naming the setting otherwise. */
function supervision(env: Env): Config['supervision'] {
  const s = (name: string, fallback: number, max: number, standard: string) => {
    const raw = present(env, name)
    if (raw === undefined) return fallback * 1000
    const n = Number(raw)
    if (!Number.isFinite(n) || n < 1) throw new ConfigError(name, `"${raw}" is not a number of seconds ≥ 1`)
    if (n > max) throw new ConfigError(name, `${raw} s is longer than ${standard} allows (at most ${max} s)`)
    return n * 1000
  }
  return {
    gatewayMs: s('FC_SUPERVISION_GATEWAY_S', 3600, 3600, 'NFPA 72 (a single path, 60 min)'),
    uitdMs: s('FC_SUPERVISION_UITD_S', 7200, 7200, 'GB 50440 (a transmission device, 2 h)'),
  }
}

function duty(env: Env, zone: string): DutyConfig {
  const perDay = positiveNumber(env, 'FC_DUTY_CHECKS_PER_DAY', 0, { min: 0, max: 1000 })
  if (!Number.isInteger(perDay))
    throw new ConfigError('FC_DUTY_CHECKS_PER_DAY', `"${perDay}" is not a whole number`)
  const written = present(env, 'FC_DUTY_CHECK_HOURS') ?? '08:00-22:00'
  const m = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$/.exec(written.trim())
  const fromMin = m === null ? Number.NaN : Number(m[1]) * 60 + Number(m[2])
  const toMin = m === null ? Number.NaN : Number(m[3]) * 60 + Number(m[4])
  if (m === null || !(toMin > fromMin) || toMin > 24 * 60)
    throw new ConfigError(
      'FC_DUTY_CHECK_HOURS',
      `"${written}" is not HH:MM-HH:MM with the end after the start (e.g. 08:00-22:00)`,
    )
  const answerS = positiveNumber(env, 'FC_DUTY_CHECK_ANSWER_S', 300, { min: 10, max: 3600 })
  return { checksPerDay: perDay, hours: { fromMin, toMin }, answerWithinMs: answerS * 1000, timeZone: zone }
}

/** FC_THREADS: 1 or 2 (see Config.threads). */
function threads(env: Env): 1 | 2 {
  const written = present(env, 'FC_THREADS') ?? '2'
  if (written !== '1' && written !== '2')
    throw new ConfigError(
      'FC_THREADS',
      `"${written}" is not 1 (everything on one thread) or 2 (the spool and the store's pipeline on a thread of their own)`,
    )
  return written === '1' ? 1 : 2
}

export function loadConfig(env: Env = process.env, files: number | undefined = openFileLimit()): Config {
  const logLevel = present(env, 'FC_LOG_LEVEL') ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError('FC_LOG_LEVEL', `"${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`)
  }
  const adminToken = present(env, 'FC_ADMIN_TOKEN')
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError('FC_ADMIN_TOKEN', 'must be at least 16 characters')
  }
  const host = present(env, 'FC_HOST') ?? '0.0.0.0'
  const httpPort = port(env, 'FC_HTTP_PORT', 8080)
  const clusterSettings = cluster(env, httpPort, influx(env) !== undefined)
  const maxPayloadBytes = positiveNumber(env, 'FC_MAX_PAYLOAD_BYTES', 64 * 1024, {
    min: 256,
    max: 16 * 1024 * 1024,
  })
  const roadSettings = roads(env)
  return {
    mqttPort: port(env, 'FC_MQTT_PORT', 1883),
    httpPort,
    host,
    dataDir: path.resolve(present(env, 'FC_DATA_DIR') ?? './data'),
    ...(adminToken !== undefined ? { adminToken } : {}),
    ...(influx(env) ? { influx: influx(env)! } : {}),
    ...(tls(env) ? { tls: tls(env)! } : {}),
    logLevel: logLevel as Config['logLevel'],
    tsFutureMs: positiveNumber(env, 'FC_TS_FUTURE_S', 600, { min: 1 }) * 1000,
    tsPastMs: positiveNumber(env, 'FC_TS_PAST_S', 7 * 24 * 3600, { min: 1 }) * 1000,
    spoolCommitMs: positiveNumber(env, 'FC_SPOOL_COMMIT_MS', 2, { min: 0, max: 1000 }),
    threads: threads(env),
    spoolMaxPoints: Math.floor(positiveNumber(env, 'FC_SPOOL_MAX_POINTS', 2_000_000, { min: 100, max: 1e9 })),
    maxPayloadBytes,
    linkage: linkage(env),
    eta: eta(env),
    timeZone: timeZone(env),
    chirpstackTokens: chirpstackTokens(env),
    ...(chirpstackMapping(env) !== undefined ? { chirpstackMapping: chirpstackMapping(env)! } : {}),
    ...(gb26875(env) ? { gb26875: gb26875(env)! } : {}),
    ...(roadSettings !== undefined ? { roads: roadSettings } : {}),
    map: mapSettings(env),
    ...(present(env, 'FC_POSITION_MAX_AGE_S') !== undefined
      ? {
          positionMaxAgeMs:
            positiveNumber(env, 'FC_POSITION_MAX_AGE_S', 1800, { min: 1, max: 86_400 }) * 1000,
        }
      : {}),
    coverage: {
      intervalMs: positiveNumber(env, 'FC_COVERAGE_INTERVAL_S', 30, { min: 0, max: 3600 }) * 1000,
      warningShare: positiveNumber(env, 'FC_COVERAGE_WARNING_SHARE', 0.9, { min: 0, max: 1 }),
    },
    maintenance: maintenance(env),
    clockLimits: clockLimits(env),
    supervision: supervision(env),
    duty: duty(env, timeZone(env)),
    audit: {
      retentionDays: positiveNumber(env, 'FC_AUDIT_RETENTION_DAYS', 365, { min: 1, max: 36_500 }),
    },
    ...(clusterSettings !== undefined ? { cluster: clusterSettings } : {}),
    connections: connections(env, maxPayloadBytes, files),
    offers: offers(env),
  }
}
