/**
 * Dispatch's working set in memory, written through the repository: every incident's record
 * and offers, loaded at start, so that the hot path (a reply, an expiry, the incident's view)
 * reads without waiting. A change is stored first and applied to memory only once stored.
 */
import type { DispatchRepository, KpiCounts, KpiFilter } from './repository.ts'
import type { DispatchRecord, OfferRecord } from './types.ts'

export interface DispatchState {
  /** Read everything from the repository (at start). */
  load(): Promise<void>
  record(incident: string): DispatchRecord | undefined
  /** Records not closed, oldest start first. */
  openRecords(): DispatchRecord[]
  offer(incident: string, responder: string): OfferRecord | undefined
  /** The incident's offers, nearest ETA first within each round. */
  offers(incident: string): OfferRecord[]
  /** Store offers and the record together, then take them into memory. */
  save(offers: readonly OfferRecord[], record?: DispatchRecord): Promise<void>
  kpi(filter: KpiFilter, limitMs: number): Promise<KpiCounts>
}

/** The order the offers are shown and offered in: round, then ETA, then id. */
function byRound(a: OfferRecord, b: OfferRecord): number {
  if (a.round !== b.round) return a.round - b.round
  if (a.eta_s !== b.eta_s) return a.eta_s - b.eta_s
  return a.responder < b.responder ? -1 : a.responder > b.responder ? 1 : 0
}

export function createDispatchState(repository: DispatchRepository): DispatchState {
  const records = new Map<string, DispatchRecord>()
  const offers = new Map<string, OfferRecord[]>()

  function take(list: readonly OfferRecord[]): void {
    const touched = new Set<string>()
    for (const o of list) {
      const of = offers.get(o.incident) ?? []
      const at = of.findIndex((x) => x.responder === o.responder)
      if (at === -1) of.push(o)
      else of[at] = o
      offers.set(o.incident, of)
      touched.add(o.incident)
    }
    for (const incident of touched) offers.get(incident)!.sort(byRound)
  }

  return {
    async load() {
      const [recs, all] = await Promise.all([repository.records(), repository.offers()])
      records.clear()
      offers.clear()
      for (const r of recs) records.set(r.incident, r)
      take(all)
    },
    record: (incident) => records.get(incident),
    openRecords: () =>
      [...records.values()].filter((r) => r.state !== 'closed').sort((a, b) => a.startedAt - b.startedAt),
    offer: (incident, responder) => offers.get(incident)?.find((o) => o.responder === responder),
    offers: (incident) => [...(offers.get(incident) ?? [])],
    async save(list, record) {
      if (list.length === 0 && record === undefined) return
      await repository.save(list, record)
      take(list)
      if (record !== undefined) records.set(record.incident, record)
    },
    kpi: (filter, limitMs) => repository.kpi(filter, limitMs),
  }
}
