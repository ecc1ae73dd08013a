/**
 * Liveness: each device's health as the service sees it: online/offline from the status
 * topic (birth, last will) and from traffic, when it was last seen, its battery and signal,
 * its last rejected message. Kept in memory for the intake's hot path and saved through the
 * repository in batches (./writer.ts) so that a restart keeps it.
 */
import type { Clock, EventBus, Logger } from '../shared/index.ts'
import type { LivenessRepository } from './repository.ts'
import type { DeviceLiveState, DeviceStates, LivenessEvents, Rejection } from './types.ts'
import { createStateWriter } from './writer.ts'

export type { LivenessRepository } from './repository.ts'
export { createPostgresLivenessRepository } from './repository-postgres.ts'
export { createSqliteLivenessRepository } from './repository-sqlite.ts'
export type { DeviceLiveState, DeviceStates, LivenessEvents, Rejection, RejectionReason } from './types.ts'

/**
 * What liveness reads of a reading: whose, when it arrived, battery and signal. (The
 * intake's Reading has these; liveness sits before the intake and does not import it.)
 */
export interface Sighting {
  device: string
  receivedAt: number
  values: { battery?: number; rssi?: number }
  /** The device's own time when it was outside the trusted window. */
  deviceTs?: number
}

export interface Liveness extends DeviceStates {
  /** Any accepted message from the device (telemetry, event, ack). */
  seen(device: string, at: number): void
  reading(r: Sighting): void
  status(device: string, online: boolean, cause: 'birth' | 'last_will' | 'status', at: number): void
  /** Nothing arrived for 3 × the reporting interval: offline by silence. */
  silent(device: string, at: number): void
  rejected(device: string, rejection: Rejection): void
  clockWarning(device: string, at: number, deviceTs: number): void
  /** Save the changed states now; never rejects (a failed save keeps them for the next batch). */
  flush(): Promise<void>
  /** Stop the batch timer and save what changed. */
  close(): Promise<void>
  /**
   * Save what changed, then load the stored states in place of those in memory (in a cluster:
   * when the set of communities this node owns changed, so that it keeps exactly theirs).
   */
  reload(): Promise<void>
}

export interface LivenessDeps {
  repository: LivenessRepository
  clock: Clock
  events: EventBus<LivenessEvents>
  logger: Logger
  /** How often changed states are saved. Default 1000 ms. */
  flushMs?: number
}

/** Loads every stored state, then keeps them in memory; resolves once loaded. */
export async function createLiveness(deps: LivenessDeps): Promise<Liveness> {
  const { repository, events } = deps
  const states = new Map<string, DeviceLiveState>()
  for (const s of await repository.loadStates()) states.set(s.device, s)
  const writer = createStateWriter({ repository, logger: deps.logger, states, flushMs: deps.flushMs ?? 1000 })

  function state(device: string): DeviceLiveState {
    let s = states.get(device)
    if (s === undefined) {
      s = { device, online: false }
      states.set(device, s)
    }
    writer.dirty(device)
    return s
  }

  function setOnline(
    s: DeviceLiveState,
    online: boolean,
    cause: DeviceLiveState['cause'],
    at: number,
  ): boolean {
    if (s.online === online && s.since !== undefined) return false
    s.online = online
    s.since = at
    s.cause = cause
    return true
  }

  function seen(device: string, at: number): DeviceLiveState {
    const s = state(device)
    if (s.lastSeen === undefined || at > s.lastSeen) s.lastSeen = at
    // Traffic from a device proves it is connected, even if its birth was never seen.
    if (!s.online && setOnline(s, true, 'traffic', at)) events.emit('device.state', { ...s })
    return s
  }

  return {
    get: (device) => {
      const s = states.get(device)
      return s === undefined ? undefined : { ...s }
    },
    seen(device, at) {
      seen(device, at)
    },
    reading(r) {
      const s = seen(r.device, r.receivedAt)
      let changed = false
      const battery = r.values.battery
      if (battery !== undefined && battery !== s.battery) {
        s.battery = battery
        changed = true
      }
      if (r.values.rssi !== undefined) s.rssi = r.values.rssi
      if (r.deviceTs !== undefined) s.lastClockWarning = { at: r.receivedAt, deviceTs: r.deviceTs }
      if (changed) events.emit('device.state', { ...s })
    },
    status(device, online, cause, at) {
      const s = state(device)
      if (online && (s.lastSeen === undefined || at > s.lastSeen)) s.lastSeen = at
      if (setOnline(s, online, cause, at)) events.emit('device.state', { ...s })
    },
    silent(device, at) {
      const s = state(device)
      if (setOnline(s, false, 'silence', at)) events.emit('device.state', { ...s })
    },
    rejected(device, rejection) {
      state(device).lastRejection = rejection
    },
    clockWarning(device, at, deviceTs) {
      state(device).lastClockWarning = { at, deviceTs }
    },
    flush: writer.flush,
    close: writer.close,
    async reload() {
      await writer.flush()
      const loaded = await repository.loadStates()
      states.clear()
      for (const s of loaded) states.set(s.device, s)
    },
  }
}
