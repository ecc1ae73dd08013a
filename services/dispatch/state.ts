/**
 * Dispatch's working set in memory, written through the repository: the open incidents'
 * records and offers, loaded at start, so that the hot path (a reply, an expiry, the incident's
 * view) reads without waiting. A change is stored first and applied to memory only once
 * stored. A record saved closed leaves memory with its offers: a closed incident's dispatch
 * is history, read from the repository when asked (`recordOf`, `offersOf`).
 */
import type { DispatchRepository, KpiCounts, KpiFilter } from './repository.ts'
import type { DispatchRecord, OfferRecord } from './types.ts'

export interface DispatchState {
  /** Replace memory with the open dispatch stored (at each start): nothing from before is kept. */
  load(): Promise<void>
  /** An open incident's record (from memory). */
  record(incident: string): DispatchRecord | undefined
  /** Records not closed, oldest start first. */
  openRecords(): DispatchRecord[]
  /** An open incident's offer to a responder (from memory). */
  offer(incident: string, responder: string): OfferRecord | undefined
  /** An open incident's offers, nearest ETA first within each round (from memory). */
  offers(incident: string): OfferRecord[]
  /** Any incident's record: from memory when it is open, else from the repository. */
  recordOf(incident: string): Promise<DispatchRecord | undefined>
  /** Any incident's offers, in offer order: from memory when it is open, else from the repository. */
  offersOf(incident: string): Promise<OfferRecord[]>
  /** Store offers and the record together, then take them into memory (a closed record leaves it). */
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
      const open = await repository.open()
      records.clear()
      offers.clear()
      for (const r of open.records) records.set(r.incident, r)
      // Only the loaded records' offers: memory holds open incidents and nothing else.
      take(open.offers.filter((o) => records.has(o.incident)))
    },
    record: (incident) => records.get(incident),
    openRecords: () => [...records.values()].sort((a, b) => a.startedAt - b.startedAt),
    offer: (incident, responder) => offers.get(incident)?.find((o) => o.responder === responder),
    offers: (incident) => [...(offers.get(incident) ?? [])],
    async recordOf(incident) {
      return records.get(incident) ?? repository.record(incident)
    },
    async offersOf(incident) {
      if (records.has(incident)) return [...(offers.get(incident) ?? [])]
      return (await repository.offersOf(incident)).sort(byRound)
    },
    async save(list, record) {
      if (list.length === 0 && record === undefined) return
      await repository.save(list, record)
      if (record?.state === 'closed') {
        records.delete(record.incident)
        offers.delete(record.incident)
        take(list.filter((o) => o.incident !== record.incident))
        return
      }
      take(list)
      if (record !== undefined) records.set(record.incident, record)
    },
    kpi: (filter, limitMs) => repository.kpi(filter, limitMs),
  }
}
