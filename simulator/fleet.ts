/**
 * The simulated devices on real MQTT connections: direct devices (one connection each, the
 * device client) and gateways (one connection carrying many devices). Every connected
 * device reports at its kind's interval (scaled by `reportScale`), spread over the interval;
 * scenarios override values and send at once. Actuators answer commands (a sounder sounds,
 * a gas valve closes) and the fleet records them.
 */
import { KINDS } from '../devices/catalogue.ts'
import type { ClientLogger } from '../devices/connection.ts'
import { type CommandResult, createDeviceClient, type DeviceClient } from '../devices/device-client.ts'
import { createGatewayClient, type GatewayClient } from '../devices/gateway-client.ts'
import { ACTUATOR_KINDS, type DeviceSpec, type District } from './district.ts'
import { pool } from './http.ts'
import type { Rng } from './prng.ts'
import { baseline, report, type Values } from './values.ts'

export interface SimDevice {
  spec: DeviceSpec
  base: Values
  overrides?: Values
  /** Set once connected: its own client, or the gateway that carries it. */
  client?: DeviceClient
  gateway?: GatewayClient
  /** Actuator state, as commands left it (sounding, closed, released). */
  state?: string
}

export interface CommandRecord {
  device: string
  action: string
  at: number
}

export interface FleetOptions {
  district: District
  secrets: ReadonlyMap<string, string>
  mqttUrl: string
  rng: Rng
  logger: ClientLogger
  /** Direct device connections at most. Default 5,000. */
  maxDirect?: number
  /** Reporting intervals are the catalogue's times this (0.1: ten times as often). Default 1. */
  reportScale?: number
  /** Connections being opened at once. Default 32. */
  connectConcurrency?: number
  /** QoS of the background telemetry. Default 1. */
  qos?: 0 | 1
  gatewayBatchSize?: number
  gatewayFlushMs?: number
}

export interface FleetStats {
  direct: number
  gateways: number
  carried: number
  connectFailures: number
  /** MQTT publishes (telemetry messages and gateway batches). */
  messages: number
  /** Readings sent (one per direct telemetry message, many per batch). */
  readings: number
  commands: number
}

export interface Fleet {
  readonly devices: ReadonlyMap<string, SimDevice>
  /**
   * Connect the gateways (all) and direct devices (the buildings in `first`, then the rest,
   * up to maxDirect), then start the background reports.
   */
  connect(first?: Iterable<string>, onProgress?: (done: number, total: number) => void): Promise<void>
  /** The devices of a building that are connected (directly or through a gateway). */
  connectedIn(building: string): SimDevice[]
  isConnected(device: string): boolean
  /** Override values (undefined clears them). */
  set(device: string, values: Values | undefined): void
  /** Report the device's values now (a gateway sends its batch at once). */
  send(device: string): Promise<void>
  /** A reading through a gateway, for load: queued, sent with the next batch. */
  queue(device: string): boolean
  /** Cut a device's (or gateway's) connection so that the broker sends its will. */
  drop(device: string): boolean
  commands(): readonly CommandRecord[]
  stats(): FleetStats
  close(): Promise<void>
}

export function createFleet(opts: FleetOptions): Fleet {
  const { district, secrets, rng, logger } = opts
  const maxDirect = opts.maxDirect ?? 5000
  const scale = opts.reportScale ?? 1
  const devices = new Map<string, SimDevice>()
  const byBuilding = new Map<string, SimDevice[]>()
  const gatewaySpecs: DeviceSpec[] = []
  const carriedBy = new Map<string, DeviceSpec[]>()
  const valueRng = rng.fork('values')
  for (const spec of district.devices) {
    if (spec.kind === 'gateway') {
      gatewaySpecs.push(spec)
      continue
    }
    const sim: SimDevice = { spec, base: baseline(spec.kind, valueRng) }
    devices.set(spec.id, sim)
    const list = byBuilding.get(spec.building) ?? []
    list.push(sim)
    byBuilding.set(spec.building, list)
    if (spec.gateway !== undefined) {
      const carried = carriedBy.get(spec.gateway) ?? []
      carried.push(spec)
      carriedBy.set(spec.gateway, carried)
    }
  }
  const gateways = new Map<string, GatewayClient>()
  const direct = new Map<string, DeviceClient>()
  const commandLog: CommandRecord[] = []
  const counts = { connectFailures: 0, messages: 0, readings: 0 }
  const stoppers: (() => void)[] = []
  let wheelTimer: NodeJS.Timeout | undefined
  let closed = false

  const secretOf = (id: string) => {
    const s = secrets.get(id)
    if (s === undefined) throw new Error(`no secret for ${id}: was it registered?`)
    return s
  }

  const values = (d: SimDevice) => report(d.spec.kind, d.base, d.overrides, valueRng)

  function onCommand(d: SimDevice) {
    return (cmd: { id: string; action: string }): CommandResult => {
      commandLog.push({ device: d.spec.id, action: cmd.action, at: Date.now() })
      const [, verb] = cmd.action.split('.')
      if (cmd.action === 'selftest') return { ok: true, detail: 'self-test passed' }
      d.state = verb
      logger.info({ device: d.spec.id, action: cmd.action }, 'command carried out')
      return { ok: true, detail: `${d.spec.kind} ${verb === 'on' ? 'sounding' : verb}` }
    }
  }

  async function connectGateway(spec: DeviceSpec): Promise<void> {
    const carried = carriedBy.get(spec.id) ?? []
    const gw = createGatewayClient({
      url: opts.mqttUrl,
      id: spec.id,
      secret: secretOf(spec.id),
      devices: carried.map((c) => [c.id, c.kind] as const),
      logger,
      ...(opts.qos !== undefined ? { qos: opts.qos } : {}),
      ...(opts.gatewayBatchSize !== undefined ? { batchSize: opts.gatewayBatchSize } : {}),
      ...(opts.gatewayFlushMs !== undefined ? { flushIntervalMs: opts.gatewayFlushMs } : {}),
    })
    await gw.connect()
    gateways.set(spec.id, gw)
    for (const c of carried) devices.get(c.id)!.gateway = gw
  }

  async function connectDirect(d: SimDevice): Promise<void> {
    const client = createDeviceClient({
      url: opts.mqttUrl,
      id: d.spec.id,
      secret: secretOf(d.spec.id),
      kind: d.spec.kind,
      logger,
      ...(opts.qos !== undefined ? { qos: opts.qos } : {}),
      ...(ACTUATOR_KINDS.includes(d.spec.kind) ? { onCommand: onCommand(d) } : {}),
    })
    await client.connect()
    d.client = client
    direct.set(d.spec.id, client)
    const intervalMs = KINDS[d.spec.kind].reportingIntervalS * 1000 * scale
    stoppers.push(
      client.startReporting(
        () => {
          counts.messages++
          counts.readings++
          return values(d)
        },
        intervalMs,
        { firstAfterMs: rng.range(0, intervalMs) },
      ),
    )
  }

  /**
   * Gateway-carried reports: a timing wheel of one-second slots over the longest interval,
   * so each second costs only the devices due in it.
   */
  function startWheel(): void {
    const carried = [...devices.values()].filter((d) => d.gateway !== undefined)
    if (carried.length === 0) return
    const intervals = carried.map((d) =>
      Math.max(1, Math.round(KINDS[d.spec.kind].reportingIntervalS * scale)),
    )
    // A loop, not Math.max(...intervals): 900,000 arguments overflow the call stack.
    const size = intervals.reduce((a, b) => Math.max(a, b), 1)
    const slots: SimDevice[][] = Array.from({ length: size }, () => [])
    carried.forEach((d, i) => {
      slots[Math.floor(rng.next() * intervals[i]!)]!.push(d)
    })
    let tick = 0
    const step = () => {
      if (closed) return
      wheelTimer = setTimeout(step, 1000)
      const slot = slots[tick % size]!
      slots[tick % size] = []
      for (const d of slot) {
        const interval = Math.max(1, Math.round(KINDS[d.spec.kind].reportingIntervalS * scale))
        slots[(tick + interval) % size]!.push(d)
        if (!d.gateway?.connected) continue
        try {
          d.gateway.reading(d.spec.id, values(d))
          counts.readings++
        } catch (err) {
          logger.warn({ device: d.spec.id, err: (err as Error).message }, 'reading refused')
        }
      }
      tick++
    }
    wheelTimer = setTimeout(step, 1000)
  }

  return {
    devices,

    async connect(first = [], onProgress) {
      const firstSet = new Set(first)
      const candidates = [...devices.values()].filter((d) => d.spec.gateway === undefined)
      candidates.sort((a, b) => Number(firstSet.has(b.spec.building)) - Number(firstSet.has(a.spec.building)))
      const chosen = candidates.slice(0, maxDirect)
      const total = gatewaySpecs.length + chosen.length
      let done = 0
      const step = () => onProgress?.(++done, total)
      const attempt = async (id: string, fn: () => Promise<void>) => {
        try {
          await fn()
        } catch (err) {
          counts.connectFailures++
          logger.warn({ device: id, err: (err as Error).message }, 'could not connect')
        }
        step()
      }
      const limit = opts.connectConcurrency ?? 32
      await pool(gatewaySpecs, limit, (g) => attempt(g.id, () => connectGateway(g)))
      await pool(chosen, limit, (d) => attempt(d.spec.id, () => connectDirect(d)))
      if (total > 0 && counts.connectFailures === total)
        throw new Error(`no device could connect to ${opts.mqttUrl} (see the log)`)
      startWheel()
    },

    connectedIn(building) {
      return (byBuilding.get(building) ?? []).filter(
        (d) => d.client?.connected === true || d.gateway?.connected === true,
      )
    },

    isConnected(id) {
      const d = devices.get(id)
      if (d !== undefined) return d.client?.connected === true || d.gateway?.connected === true
      return gateways.get(id)?.connected === true
    },

    set(id, v) {
      const d = devices.get(id)
      if (d === undefined) throw new Error(`unknown device ${id}`)
      if (v === undefined) delete d.overrides
      else d.overrides = { ...d.overrides, ...v }
    },

    async send(id) {
      const d = devices.get(id)
      if (d === undefined) throw new Error(`unknown device ${id}`)
      const v = values(d)
      counts.readings++
      if (d.client !== undefined) {
        counts.messages++
        await d.client.telemetry(v)
      } else if (d.gateway !== undefined) {
        d.gateway.reading(id, v)
        await d.gateway.flush()
      } else {
        throw new Error(`device ${id} is not connected`)
      }
    },

    queue(id) {
      const d = devices.get(id)
      if (!d?.gateway?.connected) return false
      d.gateway.reading(id, values(d))
      counts.readings++
      return true
    },

    drop(id) {
      const c = direct.get(id) ?? gateways.get(id)
      if (c === undefined) return false
      c.drop()
      return true
    },

    commands: () => commandLog,

    stats() {
      let batches = 0
      let carried = 0
      for (const g of gateways.values()) {
        batches += g.stats().batches
        if (g.connected) carried += carriedBy.get(g.id)?.length ?? 0
      }
      let connected = 0
      for (const c of direct.values()) if (c.connected) connected++
      let gws = 0
      for (const g of gateways.values()) if (g.connected) gws++
      return {
        direct: connected,
        gateways: gws,
        carried,
        connectFailures: counts.connectFailures,
        messages: counts.messages + batches,
        readings: counts.readings,
        commands: commandLog.length,
      }
    },

    async close() {
      closed = true
      if (wheelTimer) clearTimeout(wheelTimer)
      for (const stop of stoppers) stop()
      await pool([...gateways.values()], 64, (g) => g.close())
      await pool([...direct.values()], 64, (c) => c.close())
    },
  }
}
