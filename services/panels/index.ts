/**
 * The fire panels stage: user information transmission devices (UITDs, GB/T 26875.3 over
 * TCP, docs/GB26875.md) in, through the same intake and spool as MQTT. A UITD is a registered
 * device of kind `uitd` known by its 48-bit address; a frame from any other address is denied
 * and its connection closed. Every good data frame is confirmed once what it says is on disk.
 */
import fs from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import tls from 'node:tls'
import type { Registry as MetricsRegistry } from 'prom-client'
import client from 'prom-client'
import type { Intake } from '../intake/index.ts'
import type { Device, PrincipalDirectory, RegistryEvents } from '../registry/index.ts'
import type { Clock, EventBus, Logger } from '../shared/index.ts'
import { createPanelState, type PanelComponent, type PanelState } from './components.ts'
import { type FrameResult, serveConnection } from './connection.ts'
import { clockSyncFrame, dutyCheckFrame } from './downlink.ts'
import { createQueries, type QueryAnswer, type UitdLine } from './queries.ts'
import type { PanelsRepository } from './repository.ts'

export { parseAdu } from './adu.ts'
export { conditionsOfStatus, labelOf, type PanelComponent } from './components.ts'
export {
  addressBytes,
  confirmOf,
  createFrameDecoder,
  encodeFrame,
  type Frame,
  frameTimeIn,
} from './frame.ts'
export type { QueryAnswer } from './queries.ts'
export type { PanelOperation, PanelsRepository } from './repository.ts'
export { createPostgresPanelsRepository } from './repository-postgres.ts'
export { createSqlitePanelsRepository } from './repository-sqlite.ts'
export { registerPanelRoutes } from './routes.ts'

export interface PanelsDeps {
  intake: Pick<Intake, 'accept' | 'seen'>
  repository: PanelsRepository
  registry: Pick<PrincipalDirectory, 'device'> & { allDevices(): Iterable<Device> }
  /** The registry's changes: a device registered or changed makes the address index stale. */
  events?: Pick<EventBus<RegistryEvents>, 'on' | 'removeListeners'>
  clock: Clock
  logger: Logger
  metrics: MetricsRegistry
  /** FC_TIME_ZONE: panels keep local time. */
  timeZone: string
  /** FC_GB26875_ADDRESS: the centre's own address, 12 hex digits. */
  centre: string
  /** A connection with no byte for this long before a known UITD's first frame is closed (default 60 s; after it: 3 heartbeats + 10 s). */
  idleMs?: number
  /** How long a query (81, 88) waits for the UITD's answer (default 10 s, GB26875.md's retransmission time). */
  queryTimeoutMs?: number
}

export interface Panels {
  /** Listen on FC_HOST:port (0: a free one); resolves with the port. */
  listen(host: string, port: number): Promise<number>
  /** GB/T 26875.3 over TLS (FC_GB26875_TLS_PORT) with the MQTT listener's certificate and key. */
  listenTls(host: string, port: number, files: { certFile: string; keyFile: string }): Promise<number>
  /** Ask a connected UITD (81: its running status, 88: its clock) and wait for its answer. */
  query(device: string, type: 81 | 88): Promise<QueryAnswer>
  /**
   * The duty room's check (查岗, type 91): sent when the UITD is connected to this node (true),
   * else nothing is sent (false). The answer is told to `onDutyAnswer`'s listeners.
   */
  checkDuty(deviceId: string, answerWithinS: number): boolean
  /** Told each duty answer (a type-24 object with bit 5) at its receive time; returns the unsubscribe. */
  onDutyAnswer(listener: (deviceId: string, atMs: number) => void): () => void
  /** Whether the UITD is connected to this node now. */
  connected(device: string): boolean
  /** A `uitd`'s components as its panel last reported them (undefined: not a UITD, or nothing yet). */
  components(device: string): PanelComponent[] | undefined
  connections(): number
  close(): Promise<void>
}

const DAY_MS = 24 * 3600 * 1000

/** How often an address missing from the index may send the index to be rebuilt. */
const REINDEX_MS = 1000

/**
 * Address → device id, rebuilt from the registry when an address is missing (a UITD just
 * registered), at most once a second so that a flood of unknown addresses costs no scans.
 */
function addressIndex(deps: Pick<PanelsDeps, 'registry' | 'events' | 'clock'>) {
  const { registry, clock } = deps
  let index = new Map<string, string>()
  let indexedAt = Number.NEGATIVE_INFINITY
  let stale = true
  deps.events?.on(OWNER, 'registry.changed', (c) => {
    if (c.entity === 'device') stale = true
  })
  const reindex = () => {
    const next = new Map<string, string>()
    for (const d of registry.allDevices()) if (d.kind === 'uitd' && d.address) next.set(d.address, d.id)
    index = next
    indexedAt = clock.now()
    stale = false
  }
  return function uitdOf(address: string): Device | undefined {
    let id = index.get(address)
    // (A cluster's other nodes' registrations arrive without the event: once a second then.)
    if (id === undefined && (stale || clock.now() - indexedAt >= REINDEX_MS)) {
      reindex()
      id = index.get(address)
    }
    const d = id === undefined ? undefined : registry.device(id)
    // The registry is the truth: a device since changed or disabled is not this address's.
    return d?.enabled && d.kind === 'uitd' && d.address === address ? d : undefined
  }
}

const OWNER = { stage: 'panels' }

function listenOn(server: Server, host: string, port: number, what: string, logger: Logger): Promise<number> {
  server.maxConnections = 20_000
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      const address = server.address()
      const bound = typeof address === 'object' && address !== null ? address.port : port
      logger.info({ port: bound }, what)
      resolve(bound)
    })
  })
}

export function createPanels(deps: PanelsDeps): Panels {
  const { intake, registry, clock } = deps
  const logger = deps.logger.child({ stage: 'panels' })
  const frames = new client.Counter({
    name: 'firecircle_gb26875_frames_total',
    help: 'GB/T 26875.3 frames from transmission devices, by result (confirmed, or why not)',
    labelNames: ['result'],
    registers: [deps.metrics],
  })
  const byResult = new Map<FrameResult, client.Counter.Internal>()
  const count = (r: FrameResult) => {
    let c = byResult.get(r)
    if (c === undefined) {
      c = frames.labels({ result: r })
      byResult.set(r, c)
    }
    c.inc()
  }

  const uitdOf = addressIndex(deps)

  const states = new Map<string, PanelState>()
  const stateOf = (device: string) => {
    let s = states.get(device)
    if (s === undefined) {
      s = createPanelState()
      states.set(device, s)
    }
    return s
  }

  const sockets = new Set<Socket>()
  const servers: Server[] = []
  /** The UITDs connected to this node, by device id (the last connection of each). */
  const lines = new Map<string, UitdLine & { socket: Socket }>()
  let serial = 0
  const nextSerial = () => {
    serial = (serial + 1) & 0xffff
    return serial
  }
  const queries = createQueries({
    clock,
    timeZone: deps.timeZone,
    centre: deps.centre,
    nextSerial,
    lineOf: (id) => lines.get(id),
    timeoutMs: deps.queryTimeoutMs ?? 10_000,
  })
  const dutyListeners = new Set<(deviceId: string, atMs: number) => void>()

  // Panels keep local time and drift: the UITD's clock is set at once (type 90, command 1),
  // then every day while it stays connected (GB/T 26875.3 centres sync daily).
  function onIdentified(device: Device, socket: Socket): void {
    const line = { device, socket, write: (b: Buffer) => void (socket.destroyed || socket.write(b)) }
    lines.set(device.id, line)
    socket.once('close', () => {
      if (lines.get(device.id) === line) lines.delete(device.id)
    })
    const sync = () => {
      if (socket.destroyed) return
      const at = clock.now()
      socket.write(
        clockSyncFrame({
          serial: nextSerial(),
          centre: deps.centre,
          uitd: device.address!,
          at,
          timeZone: deps.timeZone,
        }),
      )
      const timer = clock.at(at + DAY_MS, sync)
      socket.once('close', () => timer.cancel())
    }
    sync()
  }

  const serve = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    serveConnection(socket, {
      intake,
      uitdOf,
      stateOf,
      seen: (device) => intake.seen(device),
      keepOperations: (ops) => deps.repository.addOperations(ops),
      onReply: (device, f) => queries.onReply(device, f),
      onDutyAnswer: (device, at) => {
        for (const l of dutyListeners) l(device.id, at)
      },
      count,
      clock,
      timeZone: deps.timeZone,
      logger,
      idleMs: deps.idleMs ?? 60_000,
      onIdentified,
    })
  }

  return {
    listen: (host, port) => {
      const server = createServer({ noDelay: true }, serve)
      servers.push(server)
      return listenOn(server, host, port, 'GB26875 listener for fire panels', logger)
    },
    listenTls: (host, port, files) => {
      const cert = { cert: fs.readFileSync(files.certFile), key: fs.readFileSync(files.keyFile) }
      const server = tls.createServer({ ...cert, noDelay: true }, serve)
      servers.push(server)
      return listenOn(server, host, port, 'GB26875 listener for fire panels over TLS', logger)
    },
    query: (device, type) => queries.ask(device, type),
    checkDuty(deviceId, answerWithinS) {
      const line = lines.get(deviceId)
      if (line === undefined) return false
      line.write(
        dutyCheckFrame({
          serial: nextSerial(),
          centre: deps.centre,
          uitd: line.device.address!,
          at: clock.now(),
          timeZone: deps.timeZone,
          answerWithinS,
        }),
      )
      return true
    },
    onDutyAnswer(listener) {
      dutyListeners.add(listener)
      return () => void dutyListeners.delete(listener)
    },
    connected: (device) => lines.has(device),
    components(device) {
      const d = registry.device(device)
      if (d === undefined || d.kind !== 'uitd') return undefined
      return states.get(device)?.list() ?? []
    },
    connections: () => sockets.size,
    async close() {
      deps.events?.removeListeners(OWNER)
      for (const s of sockets) s.destroy()
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
    },
  }
}
