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
