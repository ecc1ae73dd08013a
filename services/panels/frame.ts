/**
 * GB/T 26875.3 frames on a byte stream (docs/GB26875.md "Frame"): `@@`, serial u16, version,
 * time(6), source(6), destination(6), ADU length u16, command, ADU, checksum, `##`, every
 * integer low byte first. A TCP stream may split a frame across segments or carry several in
 * one; the decoder keeps at most one frame's bytes, resynchronises on the next `@@` after any
 * garbage, and reports what it dropped and why, so that the listener can count it.
 */

export const START = 0x40
export const END = 0x23
/** The bytes of a frame around its ADU: start 2, header 24, command 1, checksum 1, end 2. */
export const OVERHEAD = 30
/** The standard's bound on the application data unit. */
export const MAX_ADU = 1024

export interface FrameTime {
  second: number
  minute: number
  hour: number
  day: number
  month: number
  /** Full year (the wire carries year − 2000). */
  year: number
}

export interface Frame {
  serial: number
  version: [number, number]
  time: FrameTime
  /** 12 lowercase hex digits, most significant first (as the registry keeps it). */
  source: string
  destination: string
  command: number
  adu: Buffer
}

export type FrameDrop = 'checksum' | 'length' | 'end' | 'garbage'

export interface DecodeResult {
  frames: Frame[]
  dropped: FrameDrop[]
}

/** A 48-bit address on the wire (low byte first) as 12 hex digits, most significant first. */
export function addressOf(b: Buffer, at: number): string {
  let s = ''
  for (let i = at + 5; i >= at; i--) s += b[i]!.toString(16).padStart(2, '0')
  return s
}

/** 12 hex digits (most significant first) as the 6 bytes of the wire, low byte first. */
export function addressBytes(address: string): Buffer {
  const out = Buffer.alloc(6)
  for (let i = 0; i < 6; i++) out[i] = Number.parseInt(address.slice(10 - 2 * i, 12 - 2 * i), 16)
  return out
}

export function checksum(b: Buffer, from: number, to: number): number {
  let sum = 0
  for (let i = from; i < to; i++) sum += b[i]!
  return sum & 0xff
}

export function timeOf(b: Buffer, at: number): FrameTime {
  return {
    second: b[at]!,
    minute: b[at + 1]!,
    hour: b[at + 2]!,
    day: b[at + 3]!,
    month: b[at + 4]!,
    year: 2000 + b[at + 5]!,
  }
}

function frameAt(b: Buffer, at: number, n: number): Frame {
  return {
    serial: b.readUInt16LE(at + 2),
    version: [b[at + 4]!, b[at + 5]!],
    time: timeOf(b, at + 6),
    source: addressOf(b, at + 12),
    destination: addressOf(b, at + 18),
    command: b[at + 26]!,
    adu: Buffer.from(b.subarray(at + 27, at + 27 + n)),
  }
}

export interface FrameDecoder {
  /** The frames completed by these bytes, and what was dropped on the way. */
  push(chunk: Buffer): DecodeResult
  /** Bytes held for a frame not yet complete. */
  pending(): number
}

/**
 * One decoder per connection. A frame is judged when its declared length has arrived: a bad
 * length (ADU over `maxAdu`), end bytes or checksum drops it and the search for `@@` goes on
 * from the byte after its start, so that a frame hidden behind a corrupted one is still found.
 */
export function createFrameDecoder(maxAdu = MAX_ADU): FrameDecoder {
  let buf: Buffer = Buffer.alloc(0)
  return {
    pending: () => buf.length,
    push(chunk) {
      const result: DecodeResult = { frames: [], dropped: [] }
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
      let at = 0
      let skipped = false
      for (;;) {
        const start = findStart(buf, at)
        if (start < 0) {
          // Keep a trailing `@` that may be the first half of the next start.
          const keep = buf.length > at && buf[buf.length - 1] === START ? 1 : 0
          if (buf.length - keep > at) skipped = true
          at = buf.length - keep
          break
        }
        if (start > at) skipped = true
        at = start
        if (buf.length - at < 27) break
        const n = buf.readUInt16LE(at + 24)
        if (n > maxAdu) {
          result.dropped.push('length')
          at += 1
          continue
        }
        if (buf.length - at < OVERHEAD + n) break
        const end = at + OVERHEAD + n
        if (buf[end - 2] !== END || buf[end - 1] !== END) {
          result.dropped.push('end')
          at += 1
          continue
        }
        if (checksum(buf, at + 2, at + 27 + n) !== buf[at + 27 + n]) {
          result.dropped.push('checksum')
          at += 1
          continue
        }
        result.frames.push(frameAt(buf, at, n))
        at = end
      }
      if (skipped) result.dropped.push('garbage')
      buf = at >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at))
      return result
    },
  }
}

function findStart(b: Buffer, from: number): number {
  for (let i = from; i + 1 < b.length; i++) if (b[i] === START && b[i + 1] === START) return i
  return -1
}

export interface FrameOut {
  serial: number
  version: [number, number]
  time: FrameTime
  source: string
  destination: string
  command: number
  adu?: Buffer
}

/** A frame's bytes, with its checksum and end. */
export function encodeFrame(f: FrameOut): Buffer {
  const adu = f.adu ?? Buffer.alloc(0)
  const b = Buffer.alloc(OVERHEAD + adu.length)
  b[0] = START
  b[1] = START
  b.writeUInt16LE(f.serial & 0xffff, 2)
  b[4] = f.version[0]
  b[5] = f.version[1]
  const t = f.time
  b.set([t.second, t.minute, t.hour, t.day, t.month, t.year - 2000], 6)
  addressBytes(f.source).copy(b, 12)
  addressBytes(f.destination).copy(b, 18)
  b.writeUInt16LE(adu.length, 24)
  b[26] = f.command
  adu.copy(b, 27)
  b[27 + adu.length] = checksum(b, 2, 27 + adu.length)
  b[28 + adu.length] = END
  b[29 + adu.length] = END
  return b
}

/** The wall-clock time of `ms` in an IANA time zone, as a frame carries it. */
export function frameTimeIn(ms: number, timeZone: string): FrameTime {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms))
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0)
  return {
    second: get('second'),
    minute: get('minute'),
    hour: get('hour'),
    day: get('day'),
    month: get('month'),
    year: get('year'),
  }
}

/** A frame's time label read in an IANA time zone, as ms since the epoch (NaN when not a date). */
export function msOfFrameTime(t: FrameTime, timeZone: string): number {
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second)
  if (!Number.isFinite(asUtc) || t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31) return Number.NaN
  // The zone's offset at that instant (twice, for a label near a change of offset).
  const offset = (ms: number) => {
    const w = frameTimeIn(ms, timeZone)
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - ms
  }
  const first = asUtc - offset(asUtc)
  return asUtc - offset(first)
}

/** The centre's confirm (command 3) of a frame: serial and version echoed, addresses swapped. */
export function confirmOf(f: Frame, time: FrameTime): Buffer {
  return encodeFrame({
    serial: f.serial,
    version: f.version,
    time,
    source: f.destination,
    destination: f.source,
    command: 3,
  })
}

/** The centre's deny (command 6) of a frame. */
export function denyOf(f: Frame, time: FrameTime): Buffer {
  return encodeFrame({ ...f, adu: undefined, time, source: f.destination, destination: f.source, command: 6 })
}
