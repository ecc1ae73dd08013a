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
  /** Largest MQTT payload accepted, in bytes. */
  maxPayloadBytes: number
  /** Linked alerts (services/linkage): webhooks, 119 forwarding, rules. */
  linkage: LinkageSettings
  /** Travel model of the 5-minute circle (docs/DOMAIN.md defaults unless set). */
  eta: EtaSettings
  /** Work orders (services/maintenance): grace, verification, deadlines by kind, photo size. */
  maintenance: MaintenanceSettings
  /** FC_DATABASE_URL set: a node of a cluster on PostgreSQL; unset: the embedded single node. */
  cluster?: ClusterSettings
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
  }
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

export function loadConfig(env: Env = process.env): Config {
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
    maxPayloadBytes: positiveNumber(env, 'FC_MAX_PAYLOAD_BYTES', 64 * 1024, {
      min: 256,
      max: 16 * 1024 * 1024,
    }),
    linkage: linkage(env),
    eta: eta(env),
    maintenance: maintenance(env),
    ...(clusterSettings !== undefined ? { cluster: clusterSettings } : {}),
  }
}
