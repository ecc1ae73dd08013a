/**
 * The centre's requests to a UITD that wait for its answer (GB26875.md "Downstream"): a query
 * (command 4: 81 its running status, 88 its clock) is answered by command 5 with the same
 * serial number, or refused by 6. Only the node the UITD is connected to can ask; the wait is
 * on the injected clock.
 */
import type { Device } from '../registry/index.ts'
import { type Clock, DomainError, deviceNotConnected, deviceTimeout, iso } from '../shared/index.ts'
import { parseAdu } from './adu.ts'
import { queryFrame } from './downlink.ts'
import { type Frame, msOfFrameTime } from './frame.ts'

/** A UITD's connection to this node, as the centre writes to it. */
export interface UitdLine {
  device: Device
  write(frame: Buffer): void
}

/** UITD status bits (type 21), b0 … b6. */
const UITD_BITS = [
  'normal',
  'fire',
  'fault',
  'main_power_fault',
  'backup_power_fault',
  'link_failed',
  'monitored_line_fault',
] as const

export interface QueryAnswer {
  device: string
  type: 81 | 88
  /** When the answer arrived. */
  answeredAt: string
  /** 81: the UITD's status byte and the names of its bits that are set. */
  status?: { value: number; bits: string[] }
  /** 88: the UITD's clock (its label read in FC_TIME_ZONE) and how far it is from the centre's. */
  clock?: { at: string; offsetS: number }
  /** The answer's ADU as hex, for the installer. */
  adu: string
}

export interface QueriesDeps {
  clock: Clock
  timeZone: string
  centre: string
  nextSerial(): number
  lineOf(device: string): UitdLine | undefined
  timeoutMs: number
}

function answerOf(type: 81 | 88, device: string, f: Frame, at: number, timeZone: string): QueryAnswer {
  const out: QueryAnswer = { device, type, answeredAt: iso(at), adu: f.adu.toString('hex') }
  const adu = parseAdu(f.adu)
  const objects = adu.kind === 'objects' ? adu.objects : []
  for (const o of objects) {
    if (type === 81 && o.type === 21)
      out.status = { value: o.status, bits: UITD_BITS.filter((_, i) => o.status & (1 << i)) }
    if (type === 88 && o.type === 28) {
      const ms = msOfFrameTime(o.time, timeZone)
      if (Number.isFinite(ms)) out.clock = { at: iso(ms), offsetS: Math.round((ms - at) / 1000) }
    }
  }
  return out
}

export function createQueries(deps: QueriesDeps) {
  const { clock } = deps
  const pending = new Map<string, (f: Frame) => void>()
  return {
    /** The UITD's reply to a frame the centre sent: settles the query it answers, if any. */
    onReply(device: Device, f: Frame): void {
      pending.get(`${device.id}/${f.serial}`)?.(f)
    },
    ask(deviceId: string, type: 81 | 88): Promise<QueryAnswer> {
      const line = deps.lineOf(deviceId)
      if (line === undefined)
        return Promise.reject(
          deviceNotConnected(`UITD ${deviceId} is not connected to this node over GB/T 26875.3`),
        )
      const serial = deps.nextSerial()
      const key = `${deviceId}/${serial}`
      return new Promise<QueryAnswer>((resolve, reject) => {
        const timer = clock.at(clock.now() + deps.timeoutMs, () => {
          pending.delete(key)
          reject(
            deviceTimeout(`UITD ${deviceId} did not answer query ${type} within ${deps.timeoutMs / 1000} s`),
          )
        })
        pending.set(key, (f) => {
          pending.delete(key)
          timer.cancel()
          if (f.command === 6)
            return reject(new DomainError('state_conflict', `UITD ${deviceId} denied query ${type}`))
          if (f.command !== 5)
            return reject(
              new DomainError('state_conflict', `UITD ${deviceId} confirmed query ${type} without an answer`),
            )
          resolve(answerOf(type, deviceId, f, clock.now(), deps.timeZone))
        })
        line.write(
          queryFrame({
            serial,
            centre: deps.centre,
            uitd: line.device.address!,
            at: clock.now(),
            timeZone: deps.timeZone,
            type,
          }),
        )
      })
    },
  }
}
