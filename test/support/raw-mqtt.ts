/**
 * MQTT 3.1.1 packets by hand, on raw TCP sockets from a chosen local address: what an attacker
 * sends and MQTT.js would refuse to (packet id 0, a NUL in a topic, a declared 200 MB CONNECT),
 * and connections from "elsewhere" (127.0.0.2, 127.0.0.3: every 127/8 address is this machine).
 */
import net from 'node:net'

/** MQTT's variable-length "remaining length". */
export function remainingLength(n: number): Buffer {
  const out: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    out.push(byte)
  } while (n > 0)
  return Buffer.from(out)
}

const str = (s: string | Buffer) => {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s
  const len = Buffer.alloc(2)
  len.writeUInt16BE(b.length)
  return Buffer.concat([len, b])
}

export function packet(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), remainingLength(body.length), body])
}

/** CONNECT with client id = username = `id`, password `secret`, and an optional will. */
export function connectPacket(id: string, secret: string, will?: { topic: string; payload: string }): Buffer {
  let flags = 0x80 | 0x40 | 0x02 // username, password, clean session
  if (will) flags |= 0x04 | 0x08 // will flag, will QoS 1
  const parts = [str('MQTT'), Buffer.from([4, flags, 0, 60]), str(id)]
  if (will) parts.push(str(will.topic), str(will.payload))
  parts.push(str(id), str(secret))
  return packet(0x10, Buffer.concat(parts))
}

/** PUBLISH at QoS 1 with the given packet id; the topic as raw bytes (ill-formed UTF-8 allowed). */
export function publishQos1(topic: string | Buffer, packetId: number, payload: string): Buffer {
  const id = Buffer.alloc(2)
  id.writeUInt16BE(packetId)
  return packet(0x32, Buffer.concat([str(topic), id, Buffer.from(payload)]))
}

export interface RawClient {
  socket: net.Socket
  /** Everything the broker sent so far. */
  received(): Buffer
  /** Resolves when the broker closed the connection (or it failed). */
  closed: Promise<void>
  /** The CONNACK's return code, once it arrives. */
  connack(ms?: number): Promise<number>
  /** Whether a PUBACK for `packetId` arrived within `ms`. */
  puback(packetId: number, ms?: number): Promise<boolean>
}

export function rawConnect(port: number, localAddress = '127.0.0.1'): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress })
    let data = Buffer.alloc(0)
    let ended = false
    const closed = new Promise<void>((done) => {
      socket.on('close', () => {
        ended = true
        done()
      })
    })
    socket.on('error', () => {})
    socket.on('data', (b) => {
      data = Buffer.concat([data, b])
    })
    const waitFor = async <T>(test: () => T | undefined, ms: number): Promise<T | undefined> => {
      const end = Date.now() + ms
      for (;;) {
        const v = test()
        if (v !== undefined) return v
        if (ended || Date.now() > end) return test()
        await new Promise((r) => setTimeout(r, 5))
      }
    }
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => data,
        closed,
        async connack(ms = 10_000) {
          const rc = await waitFor(() => (data.length >= 4 && data[0] === 0x20 ? data[3] : undefined), ms)
          if (rc === undefined) throw new Error('no CONNACK')
          return rc
        },
        async puback(packetId, ms = 2000) {
          const want = Buffer.from([0x40, 0x02, packetId >> 8, packetId & 0xff])
          return (await waitFor(() => (data.includes(want) ? true : undefined), ms)) === true
        },
      }),
    )
    socket.once('error', reject)
  })
}
