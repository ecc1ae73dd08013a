/**
 * What dispatch keeps ([docs/DOMAIN.md §Linked alerts] 1): every offer with its state and
 * times, and per incident the widening step and its deadline, so that after a restart the
 * timers resume from the stored deadlines; and the 5-minute KPI over the stored incidents.
 * Every method is asynchronous so that a networked database can sit behind it.
 */
import type { DispatchRecord, OfferRecord } from './types.ts'

export interface KpiFilter {
  from: number
  to: number
  community?: string
  street?: string
}

export interface KpiCounts {
  incidents: number
  withResponderOnScene: number
  withinLimit: number
}

export interface DispatchRepository {
  /** Every incident's dispatch record (open and closed), oldest start first. */
  records(): Promise<DispatchRecord[]>
  /** Every offer, each incident's nearest ETA first within each round. */
  offers(): Promise<OfferRecord[]>
  /** Write offers (insert or replace) and the record, all or nothing. */
  save(offers: readonly OfferRecord[], record?: DispatchRecord): Promise<void>
  /** Incidents whose alarm fell in [from, to]: how many, with a responder on scene, on scene within `limitMs`. */
  kpi(filter: KpiFilter, limitMs: number): Promise<KpiCounts>
}
