/**
 * What linkage did for each incident (alerts, escalations, 119, commands). The incident
 * timeline belongs to the alarm stage; these entries are merged into its view by time (`at`).
 * Kept in memory (GET /api/incidents/{id} shows them synchronously), written through the
 * repository first.
 */
import type { TimelineRepository } from './repository.ts'
import type { LinkageTimelineEntry } from './types.ts'

export interface TimelineLog {
  /** Load what the repository holds (at start). */
  load(): Promise<void>
  add(incident: string, entry: Omit<LinkageTimelineEntry, 'actor'>): Promise<void>
  /** By time, then in the order written. */
  list(incident: string): LinkageTimelineEntry[]
}

export function createTimelineLog(repository: TimelineRepository): TimelineLog {
  const byIncident = new Map<string, LinkageTimelineEntry[]>()
  const push = (incident: string, e: LinkageTimelineEntry) => {
    const list = byIncident.get(incident)
    if (list === undefined) byIncident.set(incident, [e])
    else list.push(e)
  }
  return {
    async load() {
      byIncident.clear()
      for (const { incident, entry } of await repository.all()) push(incident, entry)
    },
    async add(incident, entry) {
      const e: LinkageTimelineEntry = { ...entry, actor: 'linkage' }
      await repository.add(incident, e)
      push(incident, e)
    },
    // A stable sort: entries of the same time stay in the order they were written.
    list: (incident) => [...(byIncident.get(incident) ?? [])].sort((a, b) => a.at - b.at),
  }
}
