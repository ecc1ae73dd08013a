/**
 * Verification of smoke alarm candidates: one timer per verifying incident, armed at the
 * stored deadline (so that timers resume after a restart), and the recent candidates per
 * building for the coincidence window.
 */
import type { DevicePlace } from '../intake/index.ts'
import type { Clock, Timer } from '../shared/index.ts'
import type { Incident } from './incidents.ts'

export interface VerificationDeps {
  clock: Pick<Clock, 'at'>
  /** The window of a verifying incident ended (its deadline passed). */
  onDeadline(incident: Incident): void
}

export interface Verifications {
  schedule(i: Incident): void
  cancel(id: string): void
  /** Another candidate in the building within `windowMs` of now; records this one. */
  recentCandidate(
    place: DevicePlace,
    now: number,
    windowMs: number,
  ): { device: string; at: number } | undefined
  /** Cancel every timer and forget the recent candidates (a start after it schedules afresh). */
  stop(): void
}

export function createVerifications({ clock, onDeadline }: VerificationDeps): Verifications {
  const timers = new Map<string, Timer>()
  const candidates = new Map<string, { device: string; at: number }[]>()
  return {
    schedule(i) {
      const v = i.verification
      if (v === undefined) return
      timers.get(i.id)?.cancel()
      timers.set(
        i.id,
        clock.at(v.deadline, () => {
          timers.delete(i.id)
          onDeadline(i)
        }),
      )
    },
    cancel(id) {
      timers.get(id)?.cancel()
      timers.delete(id)
    },
    recentCandidate(place, now, windowMs) {
      const list = (candidates.get(place.building) ?? []).filter((x) => now - x.at <= windowMs)
      const other = list.find((x) => x.device !== place.device)
      list.push({ device: place.device, at: now })
      candidates.set(place.building, list)
      return other
    },
    stop() {
      for (const t of timers.values()) t.cancel()
      timers.clear()
      candidates.clear()
    },
  }
}
