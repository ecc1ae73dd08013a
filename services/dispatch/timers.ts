/**
 * Dispatch's timers: an expiry per unanswered offer and a widening per incident not yet
 * covered, armed at the stored deadlines. A timer only hands its due step, with the time it
 * fell due, to `due` (the dispatcher's serial queue): it never runs a step itself.
 */
import type { Clock, Timer } from '../shared/index.ts'
import type { DispatchRecord, OfferRecord } from './types.ts'

export interface DispatchTimersDeps {
  clock: Pick<Clock, 'at' | 'now'>
  due: {
    expiry(incident: string, responder: string, at: number): void
    widening(incident: string, at: number): void
  }
}

export interface DispatchTimers {
  armExpiry(o: OfferRecord): void
  cancelExpiry(incident: string, responder: string): void
  /** Arm the record's widening at its deadline (none when it has none or is not active). */
  armWidening(rec: DispatchRecord): void
  cancelWidening(incident: string): void
  /** Disarm every timer (the deadlines stay stored). */
  cancelAll(): void
}

const key = (incident: string, responder: string) => `${incident}\u0000${responder}`

export function createDispatchTimers(deps: DispatchTimersDeps): DispatchTimers {
  const { clock, due } = deps
  const widening = new Map<string, Timer>()
  const expiry = new Map<string, Timer>()

  const cancelExpiry = (incident: string, responder: string) => {
    const k = key(incident, responder)
    expiry.get(k)?.cancel()
    expiry.delete(k)
  }
  const cancelWidening = (incident: string) => {
    widening.get(incident)?.cancel()
    widening.delete(incident)
  }

  return {
    armExpiry(o) {
      const k = key(o.incident, o.responder)
      expiry.get(k)?.cancel()
      expiry.set(
        k,
        clock.at(o.expiresAt, () => {
          expiry.delete(k)
          due.expiry(o.incident, o.responder, clock.now())
        }),
      )
    },
    cancelExpiry,
    armWidening(rec) {
      cancelWidening(rec.incident)
      if (rec.deadline === undefined || rec.state !== 'active') return
      widening.set(
        rec.incident,
        clock.at(rec.deadline, () => {
          widening.delete(rec.incident)
          due.widening(rec.incident, clock.now())
        }),
      )
    },
    cancelWidening,
    cancelAll() {
      for (const t of widening.values()) t.cancel()
      for (const t of expiry.values()) t.cancel()
      widening.clear()
      expiry.clear()
    },
  }
}
