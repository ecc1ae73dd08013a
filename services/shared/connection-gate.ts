/**
 * Connections are bounded per listener and per source address (issue #12): ~20,000 idle HTTP
 * sockets once used up the process's file descriptors, so devices got ECONNRESET on CONNECT
 * and /healthz stopped answering. Each listener (MQTT, HTTP) admits at most `max` sockets and
 * at most `perAddress` from one address (0: no per-address cap — behind a TCP load balancer
 * every socket comes from the balancer, which keeps its own per-source limits); a socket over
 * either is closed at once, counted and logged at a bounded rate. Together the listeners' caps
 * stay under the process's open-file limit (the config module checks), so a flood on one
 * never takes the sockets the other needs, and the service recovers by itself when it ends.
 */
import type net from 'node:net'
import client, { type Registry } from 'prom-client'
import type { QuietLog } from './quiet-log.ts'

export type ListenerName = 'mqtt' | 'http'

export interface ConnectionLimits {
  /** Sockets open at once on the listener. */
  max: number
  /** Sockets open at once from one remote address; 0 = no per-address cap. */
  perAddress: number
}

export interface ConnectionGate {
  /** Count `socket` in, or close it (false) when the listener or its address is full. */
  admit(socket: net.Socket): boolean
  /** Stop counting `socket` here (it moves to another listener: MQTT over WebSocket). */
  release(socket: net.Socket): void
  /** Sockets counted now. */
  open(): number
}

export interface ConnectionMetrics {
  refused: client.Counter<'listener' | 'reason'>
  acceptErrors: client.Counter<'listener' | 'code'>
  gates: Map<ListenerName, ConnectionGate>
}

/** The connection counters of /metrics, shared by every listener of the process. */
export function createConnectionMetrics(metrics: Registry): ConnectionMetrics {
  const gates = new Map<ListenerName, ConnectionGate>()
  new client.Gauge({
    name: 'firecircle_connections_open',
    help: 'Sockets open now, by listener (MQTT over WebSocket counts as mqtt)',
    labelNames: ['listener'],
    registers: [metrics],
    collect() {
      for (const [listener, gate] of gates) this.set({ listener }, gate.open())
    },
  })
  return {
    gates,
    refused: new client.Counter({
      name: 'firecircle_connections_refused_total',
      help: 'Sockets closed at once because their listener or their address had too many open',
      labelNames: ['listener', 'reason'],
      registers: [metrics],
    }),
    acceptErrors: new client.Counter({
      name: 'firecircle_accept_errors_total',
      help: 'Errors accepting a socket (EMFILE/ENFILE: out of file descriptors), by listener and code',
      labelNames: ['listener', 'code'],
      registers: [metrics],
    }),
  }
}

export function createConnectionGate(
  listener: ListenerName,
  limits: ConnectionLimits,
  metrics: ConnectionMetrics,
  log: QuietLog,
): ConnectionGate {
  let open = 0
  const byAddress = new Map<string, number>()
  const releases = new WeakMap<net.Socket, () => void>()

  const refuse = (socket: net.Socket, reason: 'listener_full' | 'address_full', address: string) => {
    metrics.refused.inc({ listener, reason })
    log.log(
      'warn',
      `${listener}:${reason}`,
      { listener, reason, address, open, max: limits.max, perAddress: limits.perAddress },
      reason === 'listener_full'
        ? `${listener} listener full: closing new sockets`
        : `too many ${listener} sockets from one address: closing its new ones`,
    )
    socket.destroy()
    return false
  }

  const gate: ConnectionGate = {
    admit(socket) {
      const address = socket.remoteAddress ?? 'unknown'
      if (open >= limits.max) return refuse(socket, 'listener_full', address)
      const mine = byAddress.get(address) ?? 0
      if (limits.perAddress > 0 && mine >= limits.perAddress) return refuse(socket, 'address_full', address)
      open++
      byAddress.set(address, mine + 1)
      let counted = true
      const release = () => {
        if (!counted) return
        counted = false
        open--
        const n = (byAddress.get(address) ?? 1) - 1
        if (n <= 0) byAddress.delete(address)
        else byAddress.set(address, n)
        releases.delete(socket)
      }
      releases.set(socket, release)
      socket.once('close', release)
      return true
    },
    release(socket) {
      releases.get(socket)?.()
    },
    open: () => open,
  }
  metrics.gates.set(listener, gate)
  return gate
}

/**
 * A listening server's accept errors (EMFILE, ENFILE, …): counted and logged at a bounded
 * rate, never thrown — libuv keeps listening and accepts again once descriptors are free.
 */
export function watchAcceptErrors(
  server: net.Server,
  listener: ListenerName,
  metrics: ConnectionMetrics,
  log: QuietLog,
): void {
  server.on('error', (err: NodeJS.ErrnoException) => {
    const code = err.code ?? 'unknown'
    metrics.acceptErrors.inc({ listener, code })
    log.log(
      'error',
      `${listener}:accept:${code}`,
      { listener, code, err: err.message },
      `${listener} listener could not accept a socket`,
    )
  })
}
