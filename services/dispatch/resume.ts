/**
 * Dispatch at start: the timers resume from the stored deadlines, busy responders stay busy,
 * dispatch of an incident that closed while dispatch was stopped stops, and an alarm that
 * came while it was stopped is dispatched. Busy marks come from the open offers loaded only:
 * after a stop() and a start() with another set of communities, a responder committed to an
 * incident no longer dispatched here is no longer held busy by it. Offers already made are
 * not published again: only their expiries are armed.
 */
import type { Incident, IncidentBook } from '../alarms/index.ts'
import type { Closing } from './closing.ts'
import { DISPATCHING, type Offering } from './offering.ts'
import type { ResponderIndex } from './responder-index.ts'
import type { DispatchState } from './state.ts'
import type { DispatchTimers } from './timers.ts'
import { COMMITTED } from './types.ts'

export interface ResumeDeps {
  incidents: Pick<IncidentBook, 'openIncidents'>
  index: Pick<ResponderIndex, 'setBusy' | 'responders'>
  state: Pick<DispatchState, 'openRecords' | 'offers' | 'record' | 'recordOf'>
  timers: Pick<DispatchTimers, 'armExpiry' | 'armWidening'>
  offering: Pick<Offering, 'begin'>
  closing: Pick<Closing, 'close'>
  /** The incident, open or closed. */
  incident(id: string): Promise<Incident | undefined>
}

export function createResume(deps: ResumeDeps): (at: number) => Promise<void> {
  const { index, state, timers } = deps
  /** Free the responders marked busy other than by a committed offer of the open dispatch loaded. */
  function releaseStale(): void {
    const committed = new Map<string, string>()
    for (const rec of state.openRecords()) {
      for (const o of state.offers(rec.incident))
        if (COMMITTED.has(o.state)) committed.set(o.responder, o.incident)
    }
    const stale: string[] = []
    for (const r of index.responders()) {
      if (r.incident !== undefined && committed.get(r.id) !== r.incident) stale.push(r.id)
    }
    for (const id of stale) index.setBusy(id, undefined)
  }

  return async function resume(now) {
    releaseStale()
    for (const rec of state.openRecords()) {
      const i = await deps.incident(rec.incident)
      if (i === undefined || !DISPATCHING.has(i.status)) {
        await deps.closing.close(i, rec, now)
        continue
      }
      for (const o of state.offers(rec.incident)) {
        if (o.state === 'offered') timers.armExpiry(o)
        if (COMMITTED.has(o.state)) index.setBusy(o.responder, rec.incident)
      }
      timers.armWidening(rec)
    }
    // Alarms that came while dispatch was not running.
    for (const i of deps.incidents.openIncidents()) {
      if (!DISPATCHING.has(i.status) || state.record(i.id) !== undefined) continue
      // Memory holds open dispatch only: one already stored (closed) is not begun again.
      if ((await state.recordOf(i.id)) === undefined) await deps.offering.begin(i, now)
    }
  }
}
