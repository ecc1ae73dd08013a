/** What the centre sends a UITD of its own accord (GB26875.md "Downstream"). */
import { encodeFrame, frameTimeIn } from './frame.ts'

/** Clock sync: command 1 (control), ADU `5A 01` + the centre's time(6) in the district's zone. */
export function clockSyncFrame(o: {
  serial: number
  centre: string
  uitd: string
  at: number
  timeZone: string
}): Buffer {
  const t = frameTimeIn(o.at, o.timeZone)
  const adu = Buffer.from([90, 1, t.second, t.minute, t.hour, t.day, t.month, t.year - 2000])
  return encodeFrame({
    serial: o.serial,
    version: [1, 1],
    time: t,
    source: o.centre,
    destination: o.uitd,
    command: 1,
    adu,
  })
}

interface Downlink {
  serial: number
  centre: string
  uitd: string
  at: number
  timeZone: string
}

function control(o: Downlink, command: number, adu: number[]): Buffer {
  return encodeFrame({
    serial: o.serial,
    version: [1, 1],
    time: frameTimeIn(o.at, o.timeZone),
    source: o.centre,
    destination: o.uitd,
    command,
    adu: Buffer.from(adu),
  })
}

/**
 * Duty check (查岗): command 1, ADU `5B 01` + the minutes the duty person has to answer (1–255);
 * the answer comes back as a type-24 object with bit 5 set.
 */
export function dutyCheckFrame(o: Downlink & { answerWithinS: number }): Buffer {
  const minutes = Math.min(255, Math.max(1, Math.ceil(o.answerWithinS / 60)))
  return control(o, 1, [91, 1, minutes])
}

/**
 * A query of the UITD (command 4): 81 its running status (answered with a type-21 object), 88
 * its clock (a type-28 object). The one object is a reserved byte, 0 (GB26875.md lists the
 * types, not their request objects; this is what the implementations send).
 */
export function queryFrame(o: Downlink & { type: 81 | 88 }): Buffer {
  return control(o, 4, [o.type, 1, 0])
}
