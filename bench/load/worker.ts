/**
 * A load generator process (forked by the benchmarks with an IPC channel; never inside the
 * service's process). It holds many lean MQTT connections (./wire.ts) and, on command:
 *
 * - `connect`: opens them, `concurrency` CONNECTs in flight, and reports how long it took;
 * - `start` with `mode: 'flood'`: QoS 1 telemetry, `window` PUBLISHes in flight per
 *   connection, as fast as the broker acknowledges them; or QoS 0 paced at `rate`/s;
 * - `start` with `mode: 'paced'`: `rate` messages/s in total, round robin over the
 *   connections (QoS 1 acknowledged, at most `window` in flight per connection);
 * - `start` with `mode: 'heartbeat'`: every connection sends one message every
 *   `intervalMs`, spread evenly (devices: their own telemetry; gateways: one batch of the
 *   readings of every device they carry);
 * - `subscribe`: one connection subscribed to `filter`, counting what arrives.
 *
 * It reports `progress` once a second ({sent, acked, received, cpu}) and `stopped` at the end.
 * Every telemetry payload carries `ts` = base + seq (ms) and `seq`: a reading's identity in
 * InfluxDB is device + ts, so no two readings of one run overwrite each other.
 */
import { publishPacket, type WireClient, wireConnect } from './wire.ts'

export interface Conn {
  id: string
  secret: string
  /** Devices carried by this gateway (gateway mode). */
  carries?: string[]
}

export type WorkerCommand =
  | {
      cmd: 'connect'
      host: string
      port: number
      conns: Conn[]
      concurrency: number
      keepalive?: number
      /** Give each device a will (`dev/{id}/status` "offline") and publish "online" as birth. */
      birth?: boolean
      /** Subscribe each connection to its own command topic. */
      subscribeCmd?: boolean
    }
  | {
      cmd: 'start'
      mode: 'flood' | 'paced' | 'heartbeat'
      qos: 0 | 1
      window: number
      rate: number
      intervalMs?: number
      baseTs: number
      durationMs: number
      /** Values for telemetry, as JSON (without braces), e.g. `"temperature":22.5,"battery":90`. */
      values: string
      /** Paced QoS 1: time every PUBLISH → PUBACK; the `stopped` report carries them (ms). */
      latency?: boolean
      /** With `latency`: time only the PUBLISHes sent this long after the start (a warm-up). */
      latencyAfterMs?: number
    }
  | { cmd: 'stop' }
  | { cmd: 'subscribe'; host: string; port: number; filter: string; qos: 0 | 1; id: string; secret?: string }
  | { cmd: 'close' }

export interface Progress {
  type: 'progress' | 'stopped'
  t: number
  sent: number
  acked: number
  received: number
  /** CPU seconds this process used since `start` (user + system). */
  cpu: number
  closed: number
  /** PUBLISH → PUBACK in ms (a `start` with `latency`), in the `stopped` report only. */
  latencies?: number[]
}

const send = (m: unknown) => process.send?.(m)

let clients: WireClient[] = []
let conns: Conn[] = []
let running = false
let sent = 0
let sub: WireClient | undefined
let closed = 0
let cpuStart = process.cpuUsage()
let tick: NodeJS.Timeout | undefined
let reporter: NodeJS.Timeout | undefined
let latencies: number[] | undefined

function totalAcked(): number {
  let n = 0
  for (const c of clients) n += c.acked
  return n
}

function progress(type: 'progress' | 'stopped'): Progress {
  const cpu = process.cpuUsage(cpuStart)
  return {
    type,
    t: performance.now() + performance.timeOrigin,
    sent,
    acked: totalAcked(),
    received: sub?.received ?? 0,
    cpu: (cpu.user + cpu.system) / 1e6,
    closed,
  }
}

/** A telemetry PUBLISH with fixed-width fields patched in (JSON allows the padding spaces). */
function telemetryTemplate(
  topic: string,
  values: string,
  qos: 0 | 1,
): { buf: Buffer; tsAt: number; seqAt: number } {
  const body = `{"ts":0000000000000,"seq":0         ,"values":{${values}}}`
  const buf = publishPacket(topic, body, qos, 1)
  const text = buf.toString('latin1')
  return { buf, tsAt: text.indexOf('"ts":') + 5, seqAt: text.indexOf('"seq":') + 6 }
}

interface Sender {
  c: WireClient
  tpl: { buf: Buffer; tsAt: number; seqAt: number }
  seq: number
  inFlight: number
  packetId: number
  idAt: number
  /** packet id → performance.now() of its PUBLISH (latency runs only). */
  sentAt?: Map<number, number>
}

function message(s: Sender, baseTs: number, qos: 0 | 1): Buffer {
  const b = Buffer.from(s.tpl.buf)
  b.write(String(baseTs + s.seq), s.tpl.tsAt, 'latin1')
  b.write(String(s.seq), s.tpl.seqAt, 'latin1')
  s.seq++
  if (qos === 1) {
    s.packetId = s.packetId === 65535 ? 1 : s.packetId + 1
    b.writeUInt16BE(s.packetId, s.idAt)
    s.inFlight++
    s.sentAt?.set(s.packetId, performance.now())
  }
  return b
}

function gatewayMessage(conn: Conn, seqs: Map<string, number>, baseTs: number, values: string, qos: 0 | 1) {
  const parts: string[] = []
  for (const d of conn.carries ?? []) {
    const seq = seqs.get(d) ?? 0
    seqs.set(d, seq + 1)
    parts.push(`{"device":"${d}","ts":${baseTs + seq},"seq":${seq},"values":{${values}}}`)
  }
  return publishPacket(`gw/${conn.id}/telemetry`, `{"readings":[${parts.join(',')}]}`, qos, 1)
}

async function connectAll(m: Extract<WorkerCommand, { cmd: 'connect' }>): Promise<void> {
  conns = m.conns
  clients = new Array(conns.length)
  const started = performance.now()
  let next = 0
  let failed = 0
  let firstError: string | undefined
  const one = async () => {
    while (next < conns.length) {
      const i = next++
      const conn = conns[i]!
      try {
        const c = await wireConnect({
          host: m.host,
          port: m.port,
          id: conn.id,
          username: conn.id,
          password: conn.secret,
          keepalive: m.keepalive ?? 600,
          ...(m.birth
            ? { will: { topic: `dev/${conn.id}/status`, payload: 'offline', qos: 1, retain: true } }
            : {}),
        })
        c.socket.on('close', () => closed++)
        c.socket.on('error', () => {})
        if (m.birth) c.write(publishPacket(`dev/${conn.id}/status`, 'online', 1, 1, true))
        if (m.subscribeCmd) await c.subscribe(`dev/${conn.id}/cmd`, 1)
        clients[i] = c
      } catch (err) {
        failed++
        firstError ??= (err as Error).message
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(m.concurrency, conns.length) }, one))
  conns = conns.filter((_c, i) => clients[i] !== undefined)
  clients = clients.filter((c) => c !== undefined)
  send({
    type: 'connected',
    ok: clients.length,
    failed,
    firstError,
    ms: performance.now() - started,
    end: performance.now() + performance.timeOrigin,
  })
}

function start(m: Extract<WorkerCommand, { cmd: 'start' }>): void {
  running = true
  sent = 0
  for (const c of clients) c.acked = 0
  cpuStart = process.cpuUsage()
  const { qos, baseTs } = m
  reporter = setInterval(() => send(progress('progress')), 1000)
  const stopAt = Date.now() + m.durationMs

  if (m.mode === 'heartbeat') {
    const interval = m.intervalMs ?? 60_000
    const seqs = new Map<string, number>()
    const devSeq = new Map<string, number>()
    let i = 0
    // Each connection publishes once per interval, spread over the interval.
    const perTick = Math.max(1, Math.ceil((clients.length * 100) / interval))
    const order = clients.map((c, k) => ({ c, conn: conns[k]! }))
    tick = setInterval(() => {
      if (!running || Date.now() > stopAt) return stop()
      for (let k = 0; k < perTick; k++) {
        const { c, conn } = order[i % order.length]!
        i++
        if (c.socket.destroyed) continue
        if (conn.carries) {
          c.write(gatewayMessage(conn, seqs, baseTs, m.values, qos))
          sent += conn.carries.length
        } else {
          const seq = devSeq.get(conn.id) ?? 0
          devSeq.set(conn.id, seq + 1)
          c.write(
            publishPacket(
              `dev/${conn.id}/telemetry`,
              `{"ts":${baseTs + seq},"seq":${seq},"values":{${m.values}}}`,
              qos,
              1,
            ),
          )
          sent++
        }
      }
    }, 100)
    return
  }

  const senders: Sender[] = clients.map((c, k) => {
    const tpl = telemetryTemplate(`dev/${conns[k]!.id}/telemetry`, m.values, qos)
    const idAt = headerLen(tpl.buf) + 2 + tpl.buf.readUInt16BE(headerLen(tpl.buf))
    return { c, tpl, seq: 0, inFlight: 0, packetId: 0, idAt }
  })

  if (m.mode === 'flood' && qos === 1) {
    for (const s of senders) {
      s.c.onAck = () => {
        s.inFlight--
        if (running) {
          s.c.write(message(s, baseTs, 1))
          sent++
        }
      }
      for (let w = 0; w < m.window; w++) {
        s.c.write(message(s, baseTs, 1))
        sent++
      }
    }
    tick = setInterval(() => {
      if (Date.now() > stopAt) stop()
    }, 50)
    return
  }

  // Paced: `rate` per second in total, topped up every 5 ms, round robin.
  latencies = m.latency && qos === 1 ? [] : undefined
  const t0 = performance.now()
  const timedFrom = t0 + (m.latencyAfterMs ?? 0)
  for (const s of senders) {
    if (latencies) s.sentAt = new Map()
    s.c.onAck = (id) => {
      s.inFlight--
      const at = s.sentAt?.get(id)
      if (at !== undefined && latencies) {
        s.sentAt!.delete(id)
        if (at >= timedFrom) latencies.push(performance.now() - at)
      }
    }
  }
  let rr = 0
  tick = setInterval(() => {
    if (!running || Date.now() > stopAt) return stop()
    const due = Math.floor(((performance.now() - t0) / 1000) * m.rate) - sent
    let skipped = 0
    for (let k = 0; k < due && skipped < senders.length; ) {
      const s = senders[rr++ % senders.length]!
      if (s.c.socket.destroyed || (qos === 1 && s.inFlight >= m.window)) {
        skipped++
        continue
      }
      s.c.write(message(s, baseTs, qos))
      sent++
      k++
    }
  }, 5)
}

function headerLen(buf: Buffer): number {
  let i = 1
  while (buf[i]! & 0x80) i++
  return i + 1
}

function stop(): void {
  if (!running) return
  running = false
  if (tick) clearInterval(tick)
  if (reporter) clearInterval(reporter)
  // Let the last acknowledgements arrive.
  setTimeout(() => {
    const p = progress('stopped')
    if (latencies) p.latencies = latencies
    latencies = undefined
    send(p)
  }, 500)
}

process.on('message', async (m: WorkerCommand) => {
  switch (m.cmd) {
    case 'connect':
      await connectAll(m)
      break
    case 'start':
      start(m)
      break
    case 'stop':
      stop()
      break
    case 'subscribe': {
      sub = await wireConnect({
        host: m.host,
        port: m.port,
        id: m.id,
        username: m.id,
        ...(m.secret !== undefined ? { password: m.secret } : {}),
      })
      sub.countOnly = true
      await sub.subscribe(m.filter, m.qos)
      cpuStart = process.cpuUsage()
      reporter = setInterval(() => send(progress('progress')), 1000)
      send({ type: 'subscribed' })
      break
    }
    case 'close':
      for (const c of clients) c.destroy()
      sub?.destroy()
      if (reporter) clearInterval(reporter)
      setTimeout(() => process.exit(0), 100)
      break
  }
})
process.on('disconnect', () => process.exit(0))
send({ type: 'ready' })
