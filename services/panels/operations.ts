/**
 * Operations at a fire panel (type 4) or at its transmission device (type 24), GB26875.md
 * "Operation flags": b0 reset · b1 silence · b2 manual alarm · b3 alarm cleared · b4 self-test ·
 * b5 confirm (type 4) / duty-check answer (type 24) · b6 test. Each object becomes one record for
 * the device (./repository.ts) and one `operation` event through the intake, which the alarm
 * engine writes into the building's open incident.
 */
import type { Device } from '../registry/index.ts'
import type { AduObject, SystemOperation, UitdOperation } from './adu.ts'
import type { PanelEvent } from './components.ts'
import type { PanelOperation } from './repository.ts'

const NAMES = ['reset', 'silence', 'manual alarm', 'alarm cleared', 'self-test', 'confirm', 'test'] as const
/** Bit 5 of a type-24 object: the duty room's check (查岗, type 91) answered at the UITD. */
export const DUTY_ANSWER = 1 << 5

const isOperation = (o: AduObject): o is SystemOperation | UitdOperation => o.type === 4 || o.type === 24

function namesOf(o: SystemOperation | UitdOperation): string[] {
  const out: string[] = []
  NAMES.forEach((name, i) => {
    if (o.flags & (1 << i)) out.push(o.type === 24 && i === 5 ? 'duty-check answer' : name)
  })
  return out
}

export interface Operations {
  records: PanelOperation[]
  events: PanelEvent[]
  /** A type-24 object with the duty answer's bit. */
  dutyAnswered: boolean
}

/** The operations of a frame's objects; `tsOf` is the connection's label clock (called once per operation). */
export function operationsOf(
  device: Device,
  objects: readonly AduObject[],
  tsOf: (o: AduObject) => number | undefined,
  now: number,
): Operations {
  const out: Operations = { records: [], events: [], dutyAnswered: false }
  for (const o of objects) {
    if (!isOperation(o)) continue
    const operations = namesOf(o)
    if (operations.length === 0) continue
    const ts = tsOf(o)
    const where = o.type === 4 ? `system ${o.system} #${o.systemAddress}` : 'the transmission device'
    const text = `${operations.join(', ')} on ${where} by operator ${o.operator}`
    out.records.push({
      device: device.id,
      at: ts ?? now,
      receivedAt: now,
      source: o.type === 4 ? 'system' : 'uitd',
      ...(o.type === 4 ? { system: o.system, systemAddress: o.systemAddress } : {}),
      operator: o.operator,
      flags: o.flags,
      operations,
      text,
    })
    out.events.push({ type: 'operation', detail: text, ...(ts === undefined ? {} : { ts }) })
    if (o.type === 24 && o.flags & DUTY_ANSWER) out.dutyAnswered = true
  }
  return out
}
