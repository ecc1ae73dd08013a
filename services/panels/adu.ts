/**
 * The application data unit of a "send data" frame (docs/GB26875.md "ADU"): a type byte, an
 * object count, then `count` objects of the type's size. Only the types the centre acts on are
 * read into objects; any other known or user-defined type is kept as its type alone (confirmed,
 * not acted on). An ADU whose count does not fit its length is malformed.
 */
import { type FrameTime, timeOf } from './frame.ts'

export interface SystemStatus {
  type: 1
  system: number
  systemAddress: number
  status: number
  time: FrameTime
}
export interface ComponentStatus {
  type: 2
  system: number
  systemAddress: number
  component: number
  /** 8 lowercase hex digits, as given on the wire (u32, low byte first). */
  address: string
  status: number
  description: string
  time: FrameTime
}
export interface ComponentAnalog {
  type: 3
  system: number
  systemAddress: number
  component: number
  address: string
  analog: number
  value: number
  time: FrameTime
}
export interface SystemOperation {
  type: 4
  system: number
  systemAddress: number
  flags: number
  operator: number
  time: FrameTime
}
export interface UitdStatus {
  type: 21
  status: number
  time: FrameTime
}
export interface UitdOperation {
  type: 24
  flags: number
  operator: number
  time: FrameTime
}
export interface UitdTime {
  type: 28
  time: FrameTime
}
export type AduObject =
  | UitdTime
  | SystemStatus
  | ComponentStatus
  | ComponentAnalog
  | SystemOperation
  | UitdStatus
  | UitdOperation

export type Adu =
  | { kind: 'heartbeat' }
  | { kind: 'objects'; type: number; objects: AduObject[] }
  | { kind: 'malformed'; reason: string }

/** Object sizes of the upstream types (GB26875.md). */
const SIZES: Readonly<Record<number, number>> = {
  1: 10,
  2: 46,
  3: 16,
  4: 10,
  5: 4,
  8: 8,
  21: 7,
  24: 8,
  28: 6,
}

const gb18030 = new TextDecoder('gb18030')

/** A 31-byte GB18030 description, its NUL or space padding removed. */
export function descriptionOf(b: Buffer): string {
  let end = b.length
  while (end > 0 && (b[end - 1] === 0 || b[end - 1] === 0x20)) end--
  return gb18030.decode(b.subarray(0, end))
}

function componentAddress(b: Buffer, at: number): string {
  return b.readUInt32LE(at).toString(16).padStart(8, '0')
}

function objectAt(type: number, b: Buffer, at: number): AduObject | undefined {
  switch (type) {
    case 1:
      return {
        type,
        system: b[at]!,
        systemAddress: b[at + 1]!,
        status: b.readUInt16LE(at + 2),
        time: timeOf(b, at + 4),
      }
    case 2:
      return {
        type,
        system: b[at]!,
        systemAddress: b[at + 1]!,
        component: b[at + 2]!,
        address: componentAddress(b, at + 3),
        status: b.readUInt16LE(at + 7),
        description: descriptionOf(b.subarray(at + 9, at + 40)),
        time: timeOf(b, at + 40),
      }
    case 3:
      return {
        type,
        system: b[at]!,
        systemAddress: b[at + 1]!,
        component: b[at + 2]!,
        address: componentAddress(b, at + 3),
        analog: b[at + 7]!,
        value: b.readInt16LE(at + 8),
        time: timeOf(b, at + 10),
      }
    case 4:
      return {
        type,
        system: b[at]!,
        systemAddress: b[at + 1]!,
        flags: b[at + 2]!,
        operator: b[at + 3]!,
        time: timeOf(b, at + 4),
      }
    case 21:
      return { type, status: b[at]!, time: timeOf(b, at + 1) }
    case 24:
      return { type, flags: b[at]!, operator: b[at + 1]!, time: timeOf(b, at + 2) }
    case 28:
      return { type, time: timeOf(b, at) }
    default:
      return undefined
  }
}

export function parseAdu(adu: Buffer): Adu {
  if (adu.length === 0) return { kind: 'heartbeat' }
  if (adu.length < 2) return { kind: 'malformed', reason: 'an ADU shorter than its type and count' }
  const type = adu[0]!
  const count = adu[1]!
  const size = SIZES[type]
  if (size === undefined) return { kind: 'objects', type, objects: [] }
  if (adu.length !== 2 + count * size)
    return {
      kind: 'malformed',
      reason: `type ${type}: ${count} objects of ${size} bytes do not fill ${adu.length - 2}`,
    }
  const objects: AduObject[] = []
  for (let i = 0; i < count; i++) {
    const o = objectAt(type, adu, 2 + i * size)
    if (o !== undefined) objects.push(o)
  }
  return { kind: 'objects', type, objects }
}
