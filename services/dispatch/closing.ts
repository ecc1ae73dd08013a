/**
 * Dispatch in line with the incident's status: an incident that reaches alarm is offered
 * (./offering.ts); one that leaves it (resolved, false alarm) has every busy responder
 * released, everything still pending withdrawn and every timer stopped.
 */
import type { Incident } from '../alarms/index.ts'
import type { EventBus, Logger } from '../shared/index.ts'
import { type Journal, timelineEntry } from './journal.ts'
import { DISPATCHING, type Offering } from './offering.ts'
import type { ResponderIndex } from './responder-index.ts'
import type { DispatchState } from './state.ts'
import type { DispatchTimers } from './timers.ts'
import { COMMITTED, type DispatchEvents, type DispatchRecord, type OfferRecord } from './types.ts'

export interface ClosingDeps {
  events: Pick<EventBus<DispatchEvents>, 'emit'>
  index: Pick<ResponderIndex, 'get' | 'setBusy'>
  state: Pick<DispatchState, 'record' | 'offers' | 'save'>
  timers: Pick<DispatchTimers, 'cancelWidening' | 'cancelExpiry'>
  offering: Pick<Offering, 'begin'>
  journal: Journal
  logger: Logger
  /** The incident, open or closed. */
  incident(id: string): Promise<Incident | undefined>
}

export interface Closing {
  /** The incident left alarm: release, withdraw, stop the timers. */
  close(i: Incident | undefined, rec: DispatchRecord, at: number): Promise<void>
  /** Bring dispatch in line with the incident's status. */
  reconcile(id: string, at: number): Promise<void>
}

export function createClosing(deps: ClosingDeps): Closing {
  const { events, index, state, timers, journal, logger } = deps

  async function close(i: Incident | undefined, rec: DispatchRecord, now: number): Promise<void> {
    timers.cancelWidening(rec.incident)
    const withdrawn: OfferRecord[] = []
    const committed: string[] = []
    for (const o of state.offers(rec.incident)) {
      timers.cancelExpiry(o.incident, o.responder)
      if (o.state === 'offered') withdrawn.push({ ...o, state: 'withdrawn', answeredAt: now })
      if (COMMITTED.has(o.state) && index.get(o.responder)?.incident === rec.incident)
        committed.push(o.responder)
    }
    const closed: DispatchRecord = { ...rec, state: 'closed', closedAt: now }
    delete closed.deadline
    await state.save(withdrawn, closed)
    for (const r of committed) index.setBusy(r, undefined)
    if (i !== undefined && (withdrawn.length > 0 || committed.length > 0)) {
      const parts = []
      if (withdrawn.length > 0)
        parts.push(`offers withdrawn from ${withdrawn.map((o) => o.responder).join(', ')}`)
      if (committed.length > 0) parts.push(`released ${committed.join(', ')}`)
      await journal.timeline(i, [
        timelineEntry(i, 'offer', now, `dispatch stopped (incident ${i.status}): ${parts.join('; ')}`),
      ])
    }
    for (const o of withdrawn) {
      events.emit('dispatch.offer', {
        change: 'withdrawn',
        offer: o,
        community: rec.community,
        street: rec.street,
        at: now,
      })
    }
    logger.info({ incident: rec.incident, released: committed.length }, 'dispatch stopped')
  }

  return {
    close,
    async reconcile(id, now) {
      const i = await deps.incident(id)
      if (i === undefined) return
      const rec = state.record(id)
      if (DISPATCHING.has(i.status)) {
        if (rec === undefined) await deps.offering.begin(i, now)
      } else if (rec !== undefined && rec.state !== 'closed') await close(i, rec, now)
    },
  }
}
