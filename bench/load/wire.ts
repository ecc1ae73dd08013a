/**
 * A lean MQTT 3.1.1 client for load generation: raw packets on a TCP socket, no per-message
 * objects, so that one generator process drives thousands of connections and tens of
 * thousands of messages a second. It speaks only what the benchmarks need: CONNECT (with an
 * optional will), PUBLISH at QoS 0/1 (PUBACKs counted), SUBSCRIBE, incoming PUBLISH (QoS 1
 * acknowledged), PINGREQ/PINGRESP.
 */
import net from 'node:net'

function varint(n: number): number[] {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return out
}

function str(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s) : s
  const len = Buffer.alloc(2)
  len.writeUInt16BE(b.length)
  return Buffer.concat([len, b])
}

export function connectPacket(o: {
  id: string
  username?: string
  password?: string
  keepalive: number
  will?: { topic: string; payload: string; qos: 0 | 1; retain: boolean }
}): Buffer {
  let flags = 0x02 // clean session
  if (o.will) flags |= 0x04 | (o.will.qos << 3) | (o.will.retain ? 0x20 : 0)
  if (o.username !== undefined) flags |= 0x80
  if (o.password !== undefined) flags |= 0x40
  const ka = Buffer.alloc(2)
  ka.writeUInt16BE(o.keepalive)
  const parts = [str('MQTT'), Buffer.from([4, flags]), ka, str(o.id)]
  if (o.will) parts.push(str(o.will.topic), str(o.will.payload))
  if (o.username !== undefined) parts.push(str(o.username))
  if (o.password !== undefined) parts.push(str(o.password))
  const body = Buffer.concat(parts)
  return Buffer.concat([Buffer.from([0x10, ...varint(body.length)]), body])
}

/** A PUBLISH; for QoS 1 the packet id is written at `idOffset` (see `setPacketId`). */
export function publishPacket(
  topic: string,
  payload: Buffer | string,
  qos: 0 | 1,
  packetId = 1,
  retain = false,
): Buffer {
  const t = str(topic)
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload
  const len = t.length + (qos > 0 ? 2 : 0) + p.length
  const head = Buffer.from([0x30 | (qos << 1) | (retain ? 1 : 0), ...varint(len)])
  const id = Buffer.alloc(qos > 0 ? 2 : 0)
  if (qos > 0) id.writeUInt16BE(packetId)
  return Buffer.concat([head, t, id, p])
}

export function subscribePacket(filter: string, qos: 0 | 1, packetId = 1): Buffer {
  const id = Buffer.alloc(2)
  id.writeUInt16BE(packetId)
  const body = Buffer.concat([id, str(filter), Buffer.from([qos])])
  return Buffer.concat([Buffer.from([0x82, ...varint(body.length)]), body])
}

const PINGREQ = Buffer.from([0xc0, 0])

export interface Incoming {
  topic: string
  payload: Buffer
}

export interface WireClient {
  readonly socket: net.Socket
  /** PUBACKs received. */
  acked: number
  /** Packet ids acknowledged are reported here (QoS 1 publishes). */
  onAck?: (packetId: number) => void
  onMessage?: (m: Incoming) => void
  /** Count-only mode for subscribers: incoming PUBLISH bodies are not decoded. */
  countOnly: boolean
  received: number
  lastReceivedAt: number
  subscribe(filter: string, qos: 0 | 1): Promise<void>
  write(b: Buffer): boolean
  ping(): void
  end(): void
  destroy(): void
}

/** Connect and wait for CONNACK; rejects with the return code when refused. */
export function wireConnect(o: {
  host: string
  port: number
  id: string
  username?: string
  password?: string
  keepalive?: number
  will?: { topic: string; payload: string; qos: 0 | 1; retain: boolean }
  timeoutMs?: number
}): Promise<WireClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: o.host, port: o.port })
    socket.setNoDelay(true)
    let buf: Buffer = Buffer.alloc(0)
    let connected = false
    let subWaiter: (() => void) | undefined
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`CONNECT of ${o.id} timed out`))
    }, o.timeoutMs ?? 30_000)
    const c: WireClient = {
      socket,
      acked: 0,
      countOnly: false,
      received: 0,
      lastReceivedAt: 0,
      subscribe(filter, qos) {
        return new Promise((res) => {
          subWaiter = res
          socket.write(subscribePacket(filter, qos))
        })
      },
      write: (b) => socket.write(b),
      ping: () => socket.write(PINGREQ),
      end() {
        socket.end(Buffer.from([0xe0, 0]))
      },
      destroy: () => socket.destroy(),
    }
    socket.on('error', (err) => {
      if (!connected) {
        clearTimeout(timer)
        reject(err)
      }
    })
    socket.on('close', () => {
      if (!connected) {
        clearTimeout(timer)
        reject(new Error(`connection of ${o.id} closed before CONNACK`))
      }
    })
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
      let off = 0
      for (;;) {
        if (buf.length - off < 2) break
        const type = buf[off]! >> 4
        let len = 0
        let mul = 1
        let i = off + 1
        let complete = false
        for (; i < buf.length && i < off + 5; i++) {
          const b = buf[i]!
          len += (b & 0x7f) * mul
          mul *= 128
          if ((b & 0x80) === 0) {
            complete = true
            i++
            break
          }
        }
        if (!complete || buf.length - i < len) break
        const start = i
        const end = i + len
        switch (type) {
          case 2: // CONNACK
            clearTimeout(timer)
            if (buf[start + 1] !== 0) {
              const code = buf[start + 1]
              socket.destroy()
              reject(Object.assign(new Error(`CONNACK ${code} for ${o.id}`), { code }))
              return
            }
            connected = true
            resolve(c)
            break
          case 4: // PUBACK
            c.acked++
            c.onAck?.(buf.readUInt16BE(start))
            break
          case 9: // SUBACK
            subWaiter?.()
            subWaiter = undefined
            break
          case 3: {
            // PUBLISH
            const qos = (buf[off]! >> 1) & 3
            c.received++
            c.lastReceivedAt = performance.now()
            const tlen = buf.readUInt16BE(start)
            let p = start + 2 + tlen
            if (qos > 0) {
              const idHi = buf[p]!
              const idLo = buf[p + 1]!
              p += 2
              socket.write(Buffer.from([0x40, 2, idHi, idLo]))
            }
            if (!c.countOnly && c.onMessage) {
              c.onMessage({
                topic: buf.toString('utf8', start + 2, start + 2 + tlen),
                payload: Buffer.from(buf.subarray(p, end)),
              })
            }
            break
          }
        }
        off = end
      }
      buf = off >= buf.length ? Buffer.alloc(0) : buf.subarray(off)
    })
    socket.write(
      connectPacket({
        id: o.id,
        keepalive: o.keepalive ?? 300,
        ...(o.username !== undefined ? { username: o.username } : {}),
        ...(o.password !== undefined ? { password: o.password } : {}),
        ...(o.will ? { will: o.will } : {}),
      }),
    )
  })
}
