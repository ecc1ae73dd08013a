/**
 * Where MQTT connections come from: TCP (FC_MQTT_PORT), TLS when a certificate is
 * configured, and WebSocket at `/mqtt` on the HTTP server (FC_HTTP_PORT).
 */
import fs from 'node:fs'
import type http from 'node:http'
import net from 'node:net'
import tls from 'node:tls'
import { createWebSocketStream, WebSocketServer } from 'ws'
import {
  type ConnectionGate,
  type ConnectionMetrics,
  type QuietLog,
  watchAcceptErrors,
} from '../shared/index.ts'
import type { Broker } from './index.ts'

export interface MqttListeners {
  /** The TCP port actually bound (useful with port 0). */
  tcpPort: number
  tlsPort?: number
  /** Stop accepting new connections (existing ones are closed by the broker). */
  close(): Promise<void>
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      const addr = server.address()
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port)
    })
  })
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}

export interface MqttListenersDeps {
  broker: Pick<Broker, 'handle'>
  host: string
  tcpPort: number
  tls?: { port: number; certFile: string; keyFile: string }
  /** The HTTP server that also carries MQTT over WebSocket at /mqtt. */
  httpServer: http.Server
  /** The MQTT listener's connection caps (a WebSocket's socket moves here from the HTTP gate). */
  gate: ConnectionGate
  httpGate: ConnectionGate
  connections: ConnectionMetrics
  quietLog: QuietLog
  /** FC_MQTT_MAX_PACKET_BYTES: a WebSocket message carries at most one packet of it. */
  maxPacketBytes: number
}

export async function startMqttListeners(deps: MqttListenersDeps): Promise<MqttListeners> {
  const { broker, gate } = deps
  const serve = (socket: net.Socket) => {
    if (gate.admit(socket)) broker.handle(socket, socket.remoteAddress ?? 'unknown')
  }
  // TCP_NODELAY: a PUBACK is a 4-byte packet; with Nagle's algorithm on, it waits for the
  // ACK of whatever this socket sent before, which the client may delay by up to 40 ms. That
  // put a floor under every QoS 1 round trip (issue #8, docs/PROFILE.md).
  const tcp = net.createServer({ noDelay: true }, serve)
  const tcpPort = await listen(tcp, deps.tcpPort, deps.host)
  watchAcceptErrors(tcp, 'mqtt', deps.connections, deps.quietLog)

  let tlsServer: tls.Server | undefined
  let tlsPort: number | undefined
  if (deps.tls) {
    tlsServer = tls.createServer(
      { cert: fs.readFileSync(deps.tls.certFile), key: fs.readFileSync(deps.tls.keyFile), noDelay: true },
      serve,
    )
    tlsPort = await listen(tlsServer, deps.tls.port, deps.host)
    watchAcceptErrors(tlsServer, 'mqtt', deps.connections, deps.quietLog)
  }

  // A WebSocket message over the cap is refused by ws itself (close 1009) before it is buffered.
  const wss = new WebSocketServer({ noServer: true, maxPayload: deps.maxPacketBytes + 8 })
  const onUpgrade = (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0]
    if (path !== '/mqtt') {
      socket.destroy()
      return
    }
    // From here on the socket is a device's: it counts against the MQTT caps, not HTTP's.
    deps.httpGate.release(socket)
    if (!gate.admit(socket)) return
    wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = createWebSocketStream(ws)
      stream.on('error', () => ws.terminate())
      broker.handle(stream, socket.remoteAddress ?? 'unknown')
    })
  }
  deps.httpServer.on('upgrade', onUpgrade)

  return {
    tcpPort,
    ...(tlsPort !== undefined ? { tlsPort } : {}),
    async close() {
      deps.httpServer.off('upgrade', onUpgrade)
      for (const ws of wss.clients) ws.terminate()
      wss.close()
      await Promise.all([closeServer(tcp), tlsServer ? closeServer(tlsServer) : Promise.resolve()])
    },
  }
}
