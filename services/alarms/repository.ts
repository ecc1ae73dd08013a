/**
 * What the alarm engine keeps, in its own words: the incidents with their timelines, and the
 * active device conditions. Every method is asynchronous so that a networked database can
 * sit behind it; the SQLite implementation is ./repository-sqlite.ts.
 */
import type { Incident, IncidentFilter, TimelineEntry } from './incidents.ts'
import type { ConditionType } from './types.ts'

export interface IncidentRepository {
  /** The open incidents (verifying, alarm, acknowledged, confirmed), oldest first. */
  loadOpen(): Promise<Incident[]>
  find(id: string): Promise<Incident | undefined>
  /** A new incident with its first timeline entry, in one transaction. */
  insert(incident: Incident, entry: TimelineEntry): Promise<void>
  /** The incident as it is now and the entries appended to its timeline, in one transaction. */
  save(incident: Incident, entries: TimelineEntry[]): Promise<void>
  timeline(id: string): Promise<TimelineEntry[]>
  /** A page of incidents, newest first, and how many match. */
  list(
    filter: IncidentFilter,
    page: { limit: number; offset: number },
  ): Promise<{ items: Incident[]; total: number }>
}

/** A device condition that is active, as kept. */
export interface StoredCondition {
  device: string
  condition: ConditionType
  since: number
  value?: number
  threshold?: number
}

export interface ConditionRepository {
  loadConditions(): Promise<StoredCondition[]>
  putCondition(c: StoredCondition): Promise<void>
  deleteCondition(device: string, condition: ConditionType): Promise<void>
}

export interface AlarmRepository extends IncidentRepository, ConditionRepository {}
