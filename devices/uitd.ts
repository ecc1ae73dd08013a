/**
 * A user information transmission device (UITD) as a fire panel's is: it speaks GB/T 26875.3
 * over TCP to the centre (docs/GB26875.md), sends heartbeats and its panel's component
 * statuses, and hears the centre's confirms and commands. Its encoder and reader are its own,
 * written from GB26875.md's tables, not the service's: what a device maker's UITD would do.
 */
import net from 'node:net'
import tls from 'node:tls'

export interface UitdFrame {
  serial: number
  command: number
  source: string
  destination: string
  time: number[]
  adu: Buffer
  bytes: Buffer
}

const sum = (b: Buffer) => b.reduce((s, x) => (s + x) & 0xff, 0)

/** 12 hex digits, most significant first → 6 bytes low first. */
const addr = (hex: string) =>
  Buffer.from(
    hex
      .padStart(12, '0')
      .match(/../g)!
      .reverse()
      .map((h) => Number.parseInt(h, 16)),
  )
const hexOf = (b: Buffer) => Buffer.from(b).reverse().toString('hex')

/** A frame: `@@`, serial, version 1.1, time, source, destination, length, command, ADU, sum, `##`. */
export function uitdFrame(o: {
  serial: number
  command: number
  source: string
  destination: string
  time: number[]
  adu?: Buffer
}): Buffer {
  const adu = o.adu ?? Buffer.alloc(0)
  const head = Buffer.alloc(25)
  head.writeUInt16LE(o.serial & 0xffff, 0)
  head[2] = 1
  head[3] = 1
  Buffer.from(o.time).copy(head, 4)
  addr(o.source).copy(head, 10)
  addr(o.destination).copy(head, 16)
  head.writeUInt16LE(adu.length, 22)
  head[24] = o.command
  const body = Buffer.concat([head, adu])
  return Buffer.concat([Buffer.from('@@'), body, Buffer.from([sum(body)]), Buffer.from('##')])
}

/** A time label: second, minute, hour, day, month, year − 2000, in the zone given. */
export function timeLabel(ms: number, timeZone = 'Asia/Shanghai'): number[] {
  const p = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms))
  const n = (t: string) => Number(p.find((x) => x.type === t)?.value)
  return [n('second'), n('minute'), n('hour'), n('day'), n('month'), n('year') - 2000]
}

/** One type-2 component status object (46 bytes); the description in GB18030 bytes, padded. */
export function componentStatus(o: {
  system?: number
  systemAddress?: number
  component: number
  address: number
  status: number
  description?: Buffer
  time: number[]
}): Buffer {
  const b = Buffer.alloc(46)
  b[0] = o.system ?? 1
  b[1] = o.systemAddress ?? 1
  b[2] = o.component
  b.writeUInt32LE(o.address >>> 0, 3)
  b.writeUInt16LE(o.status, 7)
  ;(o.description ?? Buffer.alloc(0)).subarray(0, 31).copy(b, 9)
  Buffer.from(o.time).copy(b, 40)
  return b
}

/** An ADU of one type: type, count, objects. */
export const adu = (type: number, objects: Buffer[]) =>
  Buffer.concat([Buffer.from([type, objects.length]), ...objects])

/** Read the frames out of a byte stream (well-formed ones; the centre is trusted here). */
export function readFrames(buf: Buffer): { frames: UitdFrame[]; rest: Buffer } {
  const frames: UitdFrame[] = []
  let at = buf.indexOf('@@')
  while (at >= 0 && buf.length - at >= 30) {
    const n = buf.readUInt16LE(at + 24)
    if (buf.length - at < 30 + n) break
    const bytes = Buffer.from(buf.subarray(at, at + 30 + n))
    frames.push({
      serial: bytes.readUInt16LE(2),
      command: bytes[26]!,
      time: [...bytes.subarray(6, 12)],
      source: hexOf(bytes.subarray(12, 18)),
      destination: hexOf(bytes.subarray(18, 24)),
      adu: Buffer.from(bytes.subarray(27, 27 + n)),
      bytes,
    })
    at = buf.indexOf('@@', at + 30 + n)
  }
  return { frames, rest: at < 0 ? Buffer.alloc(0) : Buffer.from(buf.subarray(at)) }
}

export interface UitdClient {
  /** Every frame the centre sent, in order. */
  readonly received: UitdFrame[]
  send(bytes: Buffer): void
  /** The first frame received (or coming) that matches. */
  next(match: (f: UitdFrame) => boolean, ms?: number): Promise<UitdFrame>
  /** Resolves when the centre closes the connection. */
  closed: Promise<void>
  close(): void
}

export async function connectUitd(
  host: string,
  port: number,
  onFrame?: (f: UitdFrame) => void,
  /** GB/T 26875.3 over TLS (the centre's FC_GB26875_TLS_PORT), trusting `ca` (PEM). */
  secure?: { ca?: string | Buffer; servername?: string },
): Promise<UitdClient> {
  const socket =
    secure === undefined
      ? net.connect({ host, port })
      : tls.connect({
          host,
          port,
          ...(secure.ca ? { ca: secure.ca } : {}),
          servername: secure.servername ?? 'localhost',
        })
  await new Promise<void>((resolve, reject) => {
    socket.once(secure === undefined ? 'connect' : 'secureConnect', resolve)
    socket.once('error', reject)
  })
  const received: UitdFrame[] = []
  const waiters = new Set<{ match: (f: UitdFrame) => boolean; resolve: (f: UitdFrame) => void }>()
  let buf: Buffer = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => {
    const r = readFrames(Buffer.concat([buf, chunk]))
    buf = r.rest
    for (const f of r.frames) {
      received.push(f)
      onFrame?.(f)
      for (const w of waiters)
        if (w.match(f)) {
          waiters.delete(w)
          w.resolve(f)
        }
    }
  })
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
  socket.on('error', () => {})
  return {
    received,
    closed,
    send: (bytes) => socket.write(bytes),
    next(match, ms = 10_000) {
      const seen = received.find(match)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const w = {
          match,
          resolve: (f: UitdFrame) => {
            clearTimeout(t)
            resolve(f)
          },
        }
        const t = setTimeout(() => {
          waiters.delete(w)
          reject(new Error('no matching frame from the centre in time'))
        }, ms)
        waiters.add(w)
      })
    },
    close: () => socket.destroy(),
  }
}
