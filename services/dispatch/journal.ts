/**
 * What dispatch writes down besides its own state: entries in the incident's timeline and an
 * `incident_event` point per dispatch step (`responders_inside`, `eta_first_s`) through the spool.
 */
import type { Incident, IncidentBook, TimelineEntry } from '../alarms/index.ts'
import type { Logger } from '../shared/index.ts'
import type { Spool } from '../spool/index.ts'
import { tenth } from './circle.ts'
import type { DispatchRecord, OfferRecord } from './types.ts'

export interface JournalDeps {
  incidents: Pick<IncidentBook, 'update'>
  spool?: Pick<Spool, 'append'> | undefined
  logger: Logger
}

export interface Journal {
  /** Add entries to the incident's timeline; a failure is logged, never thrown. */
  timeline(i: Incident, entries: TimelineEntry[]): Promise<void>
  /** The dispatch step as an `incident_event` point (spooled in the background). */
  point(i: Incident, rec: DispatchRecord, at: number, step: StepCounts): void
}

export interface StepCounts {
  /** Responders inside the circle, free and on duty. */
  inside: number
  /** The nearest one's ETA, seconds. */
  etaFirst: number | undefined
  /** Offers made at this step. */
  offers: number
}

export function timelineEntry(
  i: Incident,
  type: 'offer' | 'reply' | 'escalation',
  at: number,
  reason: string,
  extra: { actor?: string; responder?: string } = {},
): TimelineEntry {
  return {
    at,
    type,
    status: i.status,
    actor: extra.actor ?? 'dispatch',
    reason,
    ...(extra.responder !== undefined ? { responder: extra.responder } : {}),
  }
}

export const describeOffer = (o: OfferRecord) =>
  `${o.type} ${o.responder} (${o.mode}, ${Math.round(o.distance_m)} m, ETA ${tenth(o.eta_s)} s${o.inside ? '' : `, outside the ${o.limitS} s circle`})`

export function createJournal(deps: JournalDeps): Journal {
  const { incidents, logger } = deps
  return {
    async timeline(i, entries) {
      if (entries.length === 0) return
      try {
        await incidents.update(i.id, () => {}, entries)
      } catch (err) {
        logger.error({ incident: i.id, err }, 'dispatch timeline entries not written')
      }
    },
    point(i, rec, at, step) {
      deps.spool
        ?.append([
          {
            measurement: 'incident_event',
            tags: { incident: i.id, community: i.community, street: i.street, status: i.status },
            fields: {
              responders_inside: step.inside,
              ...(step.etaFirst !== undefined ? { eta_first_s: tenth(step.etaFirst) } : {}),
              offers: step.offers,
              dispatch_step: rec.step,
              limit_s: rec.limitS,
            },
            ints: ['responders_inside', 'offers', 'dispatch_step'],
            ts: at,
          },
        ])
        .catch((err: Error) =>
          logger.error({ incident: i.id, err: err.message }, 'dispatch incident_event not spooled'),
        )
    },
  }
}
