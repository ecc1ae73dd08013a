/**
 * A gateway (a user transmission device, GB 26875): one MQTT connection carrying the readings
 * of many devices as `gw/{id}/telemetry` `{"readings": [{"device", "ts"?, "values"}]}`. The
 * gateway is a device itself (kind `gateway`): its own birth and last will on
 * `dev/{id}/status`, its own telemetry and commands, through `device`.
 *
 * Readings are validated against the catalogue for the carried device's kind when they are
 * queued, and leave in batches: when `batchSize` readings wait, or `flushIntervalMs` after
 * the first one queued, whichever comes first; a batch is also split so that its payload
 * stays under `maxBatchBytes` (the service refuses more than 64 KiB by default).
 *
 *     const gw = createGatewayClient({ url, id: 'gw-1', secret, devices: [['smoke-7', 'smoke']] })
 *     await gw.connect()
 *     gw.reading('smoke-7', { obscuration: 0.3, battery: 88 })
 *     await gw.flush()
 */
import type { IClientOptions } from 'mqtt'
import type { DeviceKind } from './catalogue.ts'
import {
  type ClientLogger,
  type Clock,
  type ConnectFn,
  publish,
  silentLogger,
  systemClock,
} from './connection.ts'
import {
  type CommandHandler,
  createDeviceClient,
  type DeviceClient,
  InvalidPayload,
  telemetryProblem,
  type Values,
} from './device-client.ts'

export interface GatewayReading {
  device: string
  ts?: number
  seq?: number
  values: Values
}

export interface GatewayClientOptions {
  url: string
  id: string
  secret: string
  /** The devices this gateway carries (as registered with `"gateway": id`), with their kinds. */
  devices?: Iterable<readonly [string, DeviceKind]>
  clock?: Clock
  logger?: ClientLogger
  /** Readings per message, at most. Default 200. */
  batchSize?: number
  /** Longest a queued reading waits for its batch, ms. Default 1000. */
  flushIntervalMs?: number
  /** Largest payload, bytes. Default 60,000 (under the service's 64 KiB). */
  maxBatchBytes?: number
  /** Queued readings kept while the connection is down; the oldest go first. Default 100,000. */
  maxQueued?: number
  qos?: 0 | 1
  onCommand?: CommandHandler
  mqtt?: Partial<IClientOptions>
  connect?: ConnectFn
}

export interface GatewayStats {
  readings: number
  batches: number
  queued: number
  /** Readings dropped because the queue was full. */
  dropped: number
  /** Batches whose publish failed (their readings are lost). */
  failed: number
  /** Batches sent and not yet acknowledged. */
  inFlight: number
}

export interface GatewayClient {
  readonly id: string
  /** The gateway as a device: status, its own telemetry (rssi), commands. */
  readonly device: DeviceClient
  readonly connected: boolean
  connect(): Promise<void>
  /** Carry one more device (registered with this gateway). */
  carry(device: string, kind: DeviceKind): void
  carries(device: string): boolean
  /** Queue a reading of a carried device; throws InvalidPayload when the catalogue refuses it. */
  reading(device: string, values: Values, opts?: { ts?: number; seq?: number }): void
  /** Send everything queued; resolves when the broker has acknowledged it. */
  flush(): Promise<void>
  stats(): GatewayStats
  /** Flush, then close cleanly (retained `offline`, DISCONNECT). */
  close(): Promise<void>
  /** Destroy the socket: the broker sends the gateway's will. Queued readings are lost. */
  drop(): void
}

export function createGatewayClient(opts: GatewayClientOptions): GatewayClient {
  const { id } = opts
  const clock = opts.clock ?? systemClock
  const log = opts.logger ?? silentLogger
  const batchSize = opts.batchSize ?? 200
  const flushIntervalMs = opts.flushIntervalMs ?? 1000
  const maxBatchBytes = opts.maxBatchBytes ?? 60_000
  const maxQueued = opts.maxQueued ?? 100_000
  const qos = opts.qos ?? 1
  if (!(batchSize >= 1)) throw new Error(`batchSize must be at least 1, not ${batchSize}`)
  const topic = `gw/${id}/telemetry`
  const kinds = new Map<string, DeviceKind>(opts.devices ?? [])
  const device = createDeviceClient({
    url: opts.url,
    id,
    secret: opts.secret,
    kind: 'gateway',
    clock,
    logger: log,
    ...(opts.onCommand ? { onCommand: opts.onCommand } : {}),
    ...(opts.mqtt ? { mqtt: opts.mqtt } : {}),
    ...(opts.connect ? { connect: opts.connect } : {}),
  })
  /** Queued readings, already serialised (so a batch's size is known before it is built). */
  let queue: string[] = []
  let timer: NodeJS.Timeout | undefined
  const inFlight = new Set<Promise<void>>()
  const counts = { readings: 0, batches: 0, dropped: 0, failed: 0 }

  function sendBatch(items: string[]): void {
    const c = device.mqtt
    if (c === undefined) throw new Error(`${id}: not connected (call connect() first)`)
    const p = publish(c, topic, `{"readings":[${items.join(',')}]}`, { qos })
      .then(() => {
        counts.readings += items.length
      })
      .catch((err: Error) => {
        counts.failed++
        log.warn({ gateway: id, readings: items.length, err: err.message }, 'batch not acknowledged')
      })
      .finally(() => inFlight.delete(p))
    inFlight.add(p)
    counts.batches++
  }

  /** Send queued readings in batches; `all` also sends a last partial batch. */
  function drain(all: boolean): void {
    if (!device.connected) return
    while (queue.length >= batchSize || (all && queue.length > 0)) {
      const items: string[] = []
      let bytes = 16
      while (items.length < batchSize && queue.length > 0) {
        const next = queue[0]!
        if (items.length > 0 && bytes + next.length + 1 > maxBatchBytes) break
        items.push(next)
        bytes += next.length + 1
        queue.shift()
      }
      sendBatch(items)
    }
  }

  function arm(): void {
    if (timer !== undefined || queue.length === 0) return
    timer = setTimeout(() => {
      timer = undefined
      drain(true)
      arm()
    }, flushIntervalMs)
  }

  function disarm(): void {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }

  async function flush(): Promise<void> {
    drain(true)
    while (inFlight.size > 0) await Promise.all([...inFlight])
  }

  return {
    id,
    device,
    get connected() {
      return device.connected
    },
    connect: () => device.connect(),
    carry(d, kind) {
      kinds.set(d, kind)
    },
    carries: (d) => kinds.has(d),

    reading(d, values, o = {}) {
      const kind = kinds.get(d)
      if (kind === undefined) throw new InvalidPayload(id, `device "${d}" is not carried by this gateway`)
      const why = telemetryProblem(kind, values)
      if (why !== undefined) throw new InvalidPayload(d, why)
      const r: GatewayReading = { device: d, ts: o.ts ?? clock.now(), values }
      if (o.seq !== undefined) r.seq = o.seq
      queue.push(JSON.stringify(r))
      if (queue.length > maxQueued) {
        const excess = queue.length - maxQueued
        queue = queue.slice(excess)
        counts.dropped += excess
      }
      if (queue.length >= batchSize) drain(false)
      arm()
    },

    flush,

    stats: () => ({ ...counts, queued: queue.length, inFlight: inFlight.size }),

    async close() {
      disarm()
      await flush().catch(() => {})
      await device.close()
    },

    drop() {
      disarm()
      queue = []
      device.drop()
    },
  }
}
