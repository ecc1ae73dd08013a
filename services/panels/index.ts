/**
 * The fire panels stage: user information transmission devices (UITDs, GB/T 26875.3 over
 * TCP, docs/GB26875.md) in, through the same intake and spool as MQTT. A UITD is a registered
 * device of kind `uitd` known by its 48-bit address; a frame from any other address is denied
 * and its connection closed. Every good data frame is confirmed once what it says is on disk.
 */
import { createServer, type Server, type Socket } from 'node:net'
import type { Registry as MetricsRegistry } from 'prom-client'
import client from 'prom-client'
import type { Intake } from '../intake/index.ts'
import type { Liveness } from '../liveness/index.ts'
import type { Device, PrincipalDirectory, RegistryEvents } from '../registry/index.ts'
import type { Clock, EventBus, Logger } from '../shared/index.ts'
import { createPanelState, type PanelComponent, type PanelState } from './components.ts'
import { type FrameResult, serveConnection } from './connection.ts'
import { clockSyncFrame } from './downlink.ts'

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

export interface PanelsDeps {
  intake: Pick<Intake, 'accept'>
  registry: Pick<PrincipalDirectory, 'device'> & { allDevices(): Iterable<Device> }
  liveness: Pick<Liveness, 'seen'>
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
}

export interface Panels {
  /** Listen on FC_HOST:port (0: a free one); resolves with the port. */
  listen(host: string, port: number): Promise<number>
  /** A `uitd`'s components as its panel last reported them (undefined: not a UITD, or nothing yet). */
  components(device: string): PanelComponent[] | undefined
  connections(): number
  close(): Promise<void>
}

const DAY_MS = 24 * 3600 * 1000

/** How often an address missing from the index may send the index to be rebuilt. */
const REINDEX_MS = 1000

export function createPanels(deps: PanelsDeps): Panels {
  const { intake, registry, liveness, clock } = deps
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

  // Address → device id, rebuilt from the registry when an address is missing (a UITD just
  // registered), at most once a second so that a flood of unknown addresses costs no scans.
  let index = new Map<string, string>()
  let indexedAt = Number.NEGATIVE_INFINITY
  let stale = true
  const owner = { stage: 'panels' }
  deps.events?.on(owner, 'registry.changed', (c) => {
    if (c.entity === 'device') stale = true
  })
  const reindex = () => {
    const next = new Map<string, string>()
    for (const d of registry.allDevices()) if (d.kind === 'uitd' && d.address) next.set(d.address, d.id)
    index = next
    indexedAt = clock.now()
    stale = false
  }
  function uitdOf(address: string): Device | undefined {
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
  let server: Server | undefined
  let serial = 0

  // Panels keep local time and drift: the UITD's clock is set at once (type 90, command 1),
  // then every day while it stays connected (GB/T 26875.3 centres sync daily).
  function onIdentified(device: Device, socket: Socket): void {
    const sync = () => {
      if (socket.destroyed) return
      serial = (serial + 1) & 0xffff
      const at = clock.now()
      socket.write(
        clockSyncFrame({ serial, centre: deps.centre, uitd: device.address!, at, timeZone: deps.timeZone }),
      )
      const timer = clock.at(at + DAY_MS, sync)
      socket.once('close', () => timer.cancel())
    }
    sync()
  }

  return {
    listen(host, port) {
      server = createServer({ noDelay: true }, (socket) => {
        sockets.add(socket)
        socket.on('close', () => sockets.delete(socket))
        serveConnection(socket, {
          intake,
          uitdOf,
          stateOf,
          seen: (device, at) => liveness.seen(device, at),
          count,
          clock,
          timeZone: deps.timeZone,
          logger,
          idleMs: deps.idleMs ?? 60_000,
          onIdentified,
        })
      })
      server.maxConnections = 20_000
      const s = server
      return new Promise((resolve, reject) => {
        s.once('error', reject)
        s.listen(port, host, () => {
          s.off('error', reject)
          const address = s.address()
          const bound = typeof address === 'object' && address !== null ? address.port : port
          logger.info({ port: bound }, 'GB26875 listener for fire panels')
          resolve(bound)
        })
      })
    },
    components(device) {
      const d = registry.device(device)
      if (d === undefined || d.kind !== 'uitd') return undefined
      return states.get(device)?.list() ?? []
    },
    connections: () => sockets.size,
    close() {
      deps.events?.removeListeners(owner)
      for (const s of sockets) s.destroy()
      const s = server
      if (s === undefined) return Promise.resolve()
      return new Promise<void>((resolve) => s.close(() => resolve()))
    },
  }
}
