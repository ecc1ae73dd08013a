/**
 * The IncidentBook over an IncidentRepository: the open incidents are kept in memory, indexed
 * by building, so that the engine finds the one a new alarm joins without a query. A change
 * is decided on a copy, written, then made in memory (a failed write leaves memory as it
 * was); changes run one after another in the order they were asked for, whoever asks.
 * In a cluster the repository loads only the partitions this node owns, and `reload` (queued
 * behind the changes asked for before it) brings memory to a changed set of partitions.
 */
import { createSerialQueue } from '../shared/index.ts'
import {
  type Incident,
  type IncidentBook,
  InvalidTransition,
  newIncidentId,
  type TimelineEntry,
} from './incidents.ts'
import { canTransition, isOpen } from './lifecycle.ts'
import type { IncidentRepository } from './repository.ts'

/** Timeline times never go backwards within an incident, whatever the wall clock does. */
function monotonic(i: Incident, entries: TimelineEntry[]): void {
  let last = i.updatedAt
  for (const e of entries) {
    if (e.at < last) e.at = last
    last = e.at
  }
  i.updatedAt = last
}

export async function createIncidentBook(repository: IncidentRepository): Promise<IncidentBook> {
  const open = new Map<string, Incident>()
  const openByBuilding = new Map<string, string>()
  const queue = createSerialQueue()

  function index(i: Incident): void {
    if (isOpen(i.status)) {
      open.set(i.id, i)
      if (i.building !== undefined) openByBuilding.set(i.building, i.id)
    } else {
      open.delete(i.id)
      if (i.building !== undefined && openByBuilding.get(i.building) === i.id)
        openByBuilding.delete(i.building)
    }
  }
  for (const i of await repository.loadOpen()) index(i)

  /** Replace memory with what the repository holds open now (loaded first: a failed load changes nothing). */
  async function reload(): Promise<void> {
    const loaded = await repository.loadOpen()
    open.clear()
    openByBuilding.clear()
    for (const i of loaded) index(i)
  }

  async function current(id: string): Promise<Incident> {
    const i = open.get(id) ?? (await repository.find(id))
    if (i === undefined) throw new Error(`incident ${id} does not exist`)
    return i
  }

  async function apply(
    id: string,
    change: (i: Incident) => void,
    entries: TimelineEntry[],
  ): Promise<Incident> {
    const next = structuredClone(await current(id))
    change(next)
    monotonic(next, entries)
    await repository.save(next, entries)
    index(next)
    return next
  }

  return {
    getOpen: (id) => open.get(id),
    openForBuilding(building) {
      const id = openByBuilding.get(building)
      return id === undefined ? undefined : open.get(id)
    },
    openIncidents: () => [...open.values()],
    get: async (id) => open.get(id) ?? repository.find(id),
    timeline: (id) => repository.timeline(id),
    list: (filter, page) => repository.list(filter, page),
    open: (init, entry) =>
      queue.run(async () => {
        const i: Incident = {
          ...init,
          id: newIncidentId(init.openedAt),
          updatedAt: init.openedAt,
          devices: init.devices ?? [],
        }
        entry.at = Math.max(entry.at, i.openedAt)
        i.updatedAt = entry.at
        await repository.insert(i, entry)
        index(i)
        return i
      }),
    reload: () => queue.run(reload),
    update: (id, change, entries) => queue.run(() => apply(id, change, entries)),
    transition: (id, to, entry, change) =>
      queue.run(async () => {
        const from = (await current(id)).status
        if (!canTransition(from, to)) throw new InvalidTransition(from, to)
        const full: TimelineEntry = { ...entry, type: 'status', from, status: to }
        const incident = await apply(
          id,
          (i) => {
            i.status = to
            change?.(i)
          },
          [full],
        )
        return { incident, entry: full }
      }),
  }
}
