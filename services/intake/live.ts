/**
 * The live path of an accepted message: what the intake does with it besides keeping it —
 * the device's live state (liveness) and the events the alarm engine, dispatch and linkage
 * hear. The embedded node runs it at once, in the broker's hook (fire first). A node of a
 * cluster runs it on the node that owns the device's community instead: the intake writes
 * the same steps as entries of the intake log, committed with the points before the PUBACK,
 * and the owner's log reader hands each entry to `applyLogEntry` — so a message acknowledged
 * by a node that dies is still evaluated, by whichever node holds its community's lease.
 */
import type { Liveness, RejectionReason } from '../liveness/index.ts'
import type { EventBus } from '../shared/index.ts'
import type { CommandAck } from './decode.ts'
import type { DeviceEvent, IntakeEvents, Reading } from './types.ts'

export interface LivePathDeps {
  liveness: Pick<Liveness, 'reading' | 'seen' | 'status' | 'rejected' | 'clockWarning'>
  events: Pick<EventBus<IntakeEvents>, 'emit'>
}

export type StatusCause = 'birth' | 'last_will' | 'status'

export interface DeviceRejectionRecord {
  device: string
  at: number
  topic: string
  reason: RejectionReason
  message: string
}

/** One step of the live path, as kept in the intake log (its body is JSON). */
export type IntakeLogEntry =
  | { partition: string; kind: 'reading'; body: Reading }
  | { partition: string; kind: 'event'; body: DeviceEvent & { at: number } }
  | { partition: string; kind: 'seen'; body: { device: string; at: number } }
  | {
      partition: string
      kind: 'status'
      body: { device: string; online: boolean; cause: StatusCause; at: number }
    }
  | { partition: string; kind: 'cmd_ack'; body: CommandAck & { at: number } }
  | { partition: string; kind: 'rejected'; body: DeviceRejectionRecord }

export interface LivePath {
  reading(r: Reading): void
  seen(device: string, at: number): void
  event(e: DeviceEvent, at: number): void
  status(device: string, online: boolean, cause: StatusCause, at: number): void
  commandAck(ack: CommandAck, at: number): void
  rejected(r: DeviceRejectionRecord): void
}

export function createLivePath({ liveness, events }: LivePathDeps): LivePath {
  return {
    reading(r) {
      liveness.reading(r)
      events.emit('reading', r)
    },
    seen: (device, at) => liveness.seen(device, at),
    event(e, at) {
      if (e.deviceTs !== undefined) liveness.clockWarning(e.device, at, e.deviceTs)
      liveness.seen(e.device, at)
      events.emit('device.event', e)
    },
    status: (device, online, cause, at) => liveness.status(device, online, cause, at),
    commandAck(ack, at) {
      liveness.seen(ack.device, at)
      events.emit('command.ack', ack)
    },
    rejected: (r) =>
      liveness.rejected(r.device, { at: r.at, topic: r.topic, reason: r.reason, message: r.message }),
  }
}

/** Run one entry of the intake log on the node that owns its partition. */
export function applyLogEntry(live: LivePath, entry: { kind: string; body: unknown }): void {
  const e = entry as IntakeLogEntry
  switch (e.kind) {
    case 'reading':
      live.reading(e.body)
      break
    case 'event': {
      const { at, ...event } = e.body
      live.event(event, at)
      break
    }
    case 'seen':
      live.seen(e.body.device, e.body.at)
      break
    case 'status':
      live.status(e.body.device, e.body.online, e.body.cause, e.body.at)
      break
    case 'cmd_ack': {
      const { at, ...ack } = e.body
      live.commandAck(ack, at)
      break
    }
    case 'rejected':
      live.rejected(e.body)
      break
  }
}
