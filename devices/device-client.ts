/**
 * A device as the MQTT contract sees it ([docs/PROTOCOL.md §MQTT]): one connection per device,
 * a retained `online` birth and a retained `offline` last will on `dev/{id}/status`,
 * telemetry validated against the device catalogue before it leaves, events, and commands
 * on `dev/{id}/cmd` answered on `dev/{id}/cmd/ack`.
 *
 *     const d = createDeviceClient({ url: 'mqtt://127.0.0.1:1883', id: 'smoke-1', secret, kind: 'smoke' })
 *     await d.connect()
 *     await d.telemetry({ obscuration: 0.4, battery: 97 })   // throws on a value the kind cannot report
 *     const stop = d.startReporting(() => ({ obscuration: 0.2 }))   // every 60 s (the kind's interval)
 *     d.drop()                                                // the socket dies: the broker sends the will
 */
import type { IClientOptions, MqttClient } from 'mqtt'
import {
  checkValue,
  type DeviceEventType,
  type DeviceKind,
  EVENT_TYPES,
  KINDS,
  type ValueName,
} from './catalogue.ts'
import {
  type ClientLogger,
  type Clock,
  type ConnectFn,
  openConnection,
  publish,
  silentLogger,
  systemClock,
} from './connection.ts'

export type Values = Partial<Record<ValueName, number>>

/** A command from the service (docs/PROTOCOL.md: `{"id", "action", "args"?}`). */
export interface Command {
  id: string
  action: string
  args?: Record<string, unknown>
}

export interface CommandResult {
  ok: boolean
  detail?: string
}

export type CommandHandler = (cmd: Command) => CommandResult | Promise<CommandResult>

/** A payload the catalogue refuses, thrown before anything is sent. */
export class InvalidPayload extends Error {
  constructor(
    readonly device: string,
    readonly reason: string,
  ) {
    super(`${device}: ${reason}`)
    this.name = 'InvalidPayload'
  }
}

export interface DeviceClientOptions {
  url: string
  id: string
  secret: string
  kind: DeviceKind
  clock?: Clock
  logger?: ClientLogger
  /** QoS of telemetry: 1 (default, acknowledged once on the service's disk) or 0. */
  qos?: 0 | 1
  /** The first `seq`; each telemetry message takes the next. Default 1. */
  seqStart?: number
  /** Answers commands; without one every action of the kind is acknowledged ok. */
  onCommand?: CommandHandler
  /** Extra MQTT.js options (reconnectPeriod, keepalive, connectTimeout…). */
  mqtt?: Partial<IClientOptions>
  connect?: ConnectFn
}

export interface TelemetryOptions {
  /** The reading's time, ms; default the clock's now. */
  ts?: number
  qos?: 0 | 1
}

export interface ReportingOptions {
  /** Delay before the first report, ms (spread a fleet's reports); default one interval. */
  firstAfterMs?: number
}

export interface DeviceClientStats {
  telemetry: number
  events: number
  commands: number
  /** Publishes that failed (connection gone, client closed). */
  failed: number
}

export interface DeviceClient {
  readonly id: string
  readonly kind: DeviceKind
  readonly connected: boolean
  /** The MQTT.js client once connected (for extensions such as the gateway's batches). */
  readonly mqtt: MqttClient | undefined
  connect(): Promise<void>
  /**
   * Publish `dev/{id}/telemetry`. Validates synchronously (throws InvalidPayload naming the
   * value); the promise settles on the PUBACK (QoS 1) or the write (QoS 0).
   */
  telemetry(values: Values, opts?: TelemetryOptions): Promise<void>
  /** Publish `dev/{id}/event` at QoS 1. Throws InvalidPayload for an unknown type. */
  event(type: DeviceEventType, detail?: string, opts?: { ts?: number }): Promise<void>
  /**
   * Report `values()` every `intervalMs` (default the kind's reporting interval) while
   * connected. Returns the function that stops it. A failed report is logged, not thrown.
   */
  startReporting(values: () => Values, intervalMs?: number, opts?: ReportingOptions): () => void
  onCommand(handler: CommandHandler): void
  stats(): DeviceClientStats
  /** Clean shutdown: retained `offline`, then DISCONNECT (the will is not sent). */
  close(): Promise<void>
  /** Destroy the socket without DISCONNECT, as a power cut would: the broker sends the will. */
  drop(): void
}

/** Why `values` cannot be telemetry of `kind`, or undefined. */
export function telemetryProblem(kind: DeviceKind, values: Record<string, unknown>): string | undefined {
  const names = Object.keys(values)
  if (names.length === 0) return 'telemetry must carry at least one value'
  for (const name of names) {
    const why = checkValue(kind, name, values[name])
    if (why !== undefined) return why
  }
  return undefined
}

const DETAIL_MAX = 1024

export function createDeviceClient(opts: DeviceClientOptions): DeviceClient {
  const { id, kind } = opts
  const clock = opts.clock ?? systemClock
  const log = opts.logger ?? silentLogger
  const qos = opts.qos ?? 1
  const statusTopic = `dev/${id}/status`
  const cmdTopic = `dev/${id}/cmd`
  let handler: CommandHandler | undefined = opts.onCommand
  let client: MqttClient | undefined
  let seq = opts.seqStart ?? 1
  let ended = false
  const reporters = new Set<() => void>()
  const counts: DeviceClientStats = { telemetry: 0, events: 0, commands: 0, failed: 0 }

  function live(): MqttClient {
    if (client === undefined) throw new Error(`${id}: not connected (call connect() first)`)
    if (ended) throw new Error(`${id}: the client was closed`)
    return client
  }

  function send(topic: string, payload: string, q: 0 | 1, retain = false): Promise<void> {
    return publish(live(), topic, payload, { qos: q, retain }).catch((err: Error) => {
      counts.failed++
      throw err
    })
  }

  async function answer(raw: Buffer): Promise<void> {
    let cmd: Command
    try {
      const body = JSON.parse(raw.toString('utf8')) as Partial<Command>
      if (typeof body.id !== 'string' || body.id === '' || typeof body.action !== 'string')
        throw new Error('needs "id" and "action" strings')
      cmd = { id: body.id, action: body.action }
      if (body.args !== undefined && typeof body.args === 'object' && body.args !== null) cmd.args = body.args
    } catch (err) {
      log.warn({ device: id, err: (err as Error).message }, 'ignoring a command that is not one')
      return
    }
    counts.commands++
    let result: CommandResult
    if (!KINDS[kind].actions.includes(cmd.action)) {
      const known = KINDS[kind].actions
      result = {
        ok: false,
        detail: `a ${kind} device does not take "${cmd.action}" (${known.length ? `known: ${known.join(', ')}` : 'it takes none'})`,
      }
    } else if (handler === undefined) {
      result = { ok: true }
    } else {
      try {
        result = await handler(cmd)
      } catch (err) {
        result = { ok: false, detail: (err as Error).message }
      }
    }
    const ack: { id: string; ok: boolean; detail?: string } = { id: cmd.id, ok: result.ok }
    if (result.detail !== undefined) ack.detail = result.detail.slice(0, DETAIL_MAX)
    try {
      await send(`${cmdTopic}/ack`, JSON.stringify(ack), 1)
    } catch (err) {
      log.warn({ device: id, command: cmd.id, err: (err as Error).message }, 'command ack not sent')
    }
  }

  function telemetry(values: Values, o: TelemetryOptions = {}): Promise<void> {
    const why = telemetryProblem(kind, values)
    if (why !== undefined) throw new InvalidPayload(id, why)
    const c = live()
    const body = JSON.stringify({ ts: o.ts ?? clock.now(), seq: seq++, values })
    counts.telemetry++
    return publish(c, `dev/${id}/telemetry`, body, { qos: o.qos ?? qos }).catch((err: Error) => {
      counts.failed++
      throw err
    })
  }

  return {
    id,
    kind,
    get connected() {
      return client?.connected === true && !ended
    },
    get mqtt() {
      return client
    },

    async connect() {
      if (client !== undefined) throw new Error(`${id}: already connected`)
      const c = await openConnection({
        url: opts.url,
        id,
        secret: opts.secret,
        will: { topic: statusTopic, payload: 'offline', qos: 1, retain: true },
        logger: log,
        ...(opts.mqtt ? { mqtt: opts.mqtt } : {}),
        ...(opts.connect ? { connect: opts.connect } : {}),
      })
      client = c
      const birth = () => {
        publish(c, statusTopic, 'online', { qos: 1, retain: true }).catch((err: Error) =>
          log.warn({ device: id, err: err.message }, 'birth not sent'),
        )
      }
      c.on('connect', birth) // every reconnect: the will may have said offline meanwhile
      c.on('message', (topic, payload) => {
        if (topic === cmdTopic) void answer(payload)
      })
      c.on('error', (err) => log.warn({ device: id, err: err.message }, 'connection error'))
      birth()
      await c.subscribeAsync(cmdTopic, { qos: 1 })
      log.debug({ device: id, kind }, 'device connected')
    },

    telemetry,

    event(type, detail, o = {}) {
      if (!(EVENT_TYPES as readonly string[]).includes(type))
        throw new InvalidPayload(id, `event type "${type}" is not one of ${EVENT_TYPES.join(', ')}`)
      if (detail !== undefined && detail.length > DETAIL_MAX)
        throw new InvalidPayload(id, `event detail is longer than ${DETAIL_MAX} characters`)
      const body: { ts: number; type: string; detail?: string } = { ts: o.ts ?? clock.now(), type }
      if (detail !== undefined) body.detail = detail
      counts.events++
      return send(`dev/${id}/event`, JSON.stringify(body), 1)
    },

    startReporting(values, intervalMs = KINDS[kind].reportingIntervalS * 1000, o = {}) {
      if (!(intervalMs > 0)) throw new Error(`${id}: reporting interval must be > 0 ms, not ${intervalMs}`)
      let timer: NodeJS.Timeout | undefined
      let stopped = false
      const tick = () => {
        if (stopped) return
        timer = setTimeout(tick, intervalMs)
        if (!(client?.connected === true) || ended) return
        let v: Values
        try {
          v = values()
        } catch (err) {
          log.warn({ device: id, err: (err as Error).message }, 'no values to report')
          return
        }
        try {
          telemetry(v).catch((err: Error) =>
            log.debug({ device: id, err: err.message }, 'report not acknowledged'),
          )
        } catch (err) {
          log.warn({ device: id, err: (err as Error).message }, 'report refused by the catalogue')
        }
      }
      timer = setTimeout(tick, o.firstAfterMs ?? intervalMs)
      const stop = () => {
        stopped = true
        if (timer) clearTimeout(timer)
        reporters.delete(stop)
      }
      reporters.add(stop)
      return stop
    },

    onCommand(h) {
      handler = h
    },

    stats: () => ({ ...counts }),

    async close() {
      for (const stop of [...reporters]) stop()
      const c = client
      if (c === undefined || ended) return
      if (c.connected) {
        await publish(c, statusTopic, 'offline', { qos: 1, retain: true }).catch(() => {})
      }
      ended = true
      await c.endAsync().catch(() => {})
    },

    drop() {
      for (const stop of [...reporters]) stop()
      if (client === undefined || ended) return
      ended = true
      client.end(true)
    },
  }
}
