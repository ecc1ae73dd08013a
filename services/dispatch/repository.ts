/**
 * What dispatch keeps ([docs/DOMAIN.md §Linked alerts] 1): every offer with its state and
 * times, and per incident the widening step and its deadline, so that after a restart the
 * timers resume from the stored deadlines; and the 5-minute KPI over the stored incidents.
 * Every method is asynchronous so that a networked database can sit behind it.
 *
 * Only what is open is loaded at start (`open`): a closed incident's dispatch is history, read
 * from the repository when asked (`record`, `offersOf`), never held in memory. In a cluster the
 * load is scoped to the partitions (communities) this node owns and every save is fenced;
 * reads by incident and the KPI are not scoped: any node answers them.
 */
import type { ResponderHistory } from './probability.ts'
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

/**
 * The probability policy's KPI: over the incidents whose first offers carried a predicted
 * probability, how many, the mean of that prediction, and how many had a responder on scene
 * within the limit (the observed share is `withinLimit / incidents`).
 */
export interface PredictedCounts {
  incidents: number
  meanP: number | null
  withinLimit: number
}

/** The open dispatch: what the start loads. */
export interface OpenDispatch {
  /** Records not closed, oldest start first. */
  records: DispatchRecord[]
  /** Their offers, by incident, then round, ETA and responder. */
  offers: OfferRecord[]
}

export interface DispatchRepository {
  /** Records not closed and their offers (of the owned partitions when fenced). */
  open(): Promise<OpenDispatch>
  /** One incident's record, open or closed; none when it was never dispatched. */
  record(incident: string): Promise<DispatchRecord | undefined>
  /** One incident's offers, open or closed, by round, then ETA, then responder. */
  offersOf(incident: string): Promise<OfferRecord[]>
  /**
   * Write offers (insert or replace) and the record, all or nothing. Fenced: refused with
   * `partition_moved` (nothing written) when this node no longer holds the incident's community.
   */
  save(offers: readonly OfferRecord[], record?: DispatchRecord): Promise<void>
  /** Incidents whose alarm fell in [from, to]: how many, with a responder on scene, on scene within `limitS`. */
  kpi(filter: KpiFilter, limitMs: number): Promise<KpiCounts>
  /** Predicted against observed, over incidents whose alarm fell in [from, to] (FC_OFFER_POLICY=probability). */
  predicted(filter: KpiFilter, limitMs: number): Promise<PredictedCounts>
  /** Every responder's answered offers (accepted, declined, expired): counts and reply lags. */
  histories(): Promise<ResponderHistory[]>
}
