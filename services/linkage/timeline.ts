/**
 * What linkage did for each incident (alerts, escalations, 119, commands), in SQLite. The
 * incident timeline belongs to the alarm stage; these entries are merged into its view by
 * time (`at`).
 */
import type { SqliteDb } from '../state/index.ts'
import type { LinkageTimelineEntry } from './types.ts'

export interface TimelineLog {
  add(incident: string, entry: Omit<LinkageTimelineEntry, 'actor'>): void
  list(incident: string): LinkageTimelineEntry[]
}

export function createTimelineLog(db: SqliteDb): TimelineLog {
  const insert = db.prepare<[string, number, string]>(
    'INSERT INTO linkage_timeline (incident, at, data) VALUES (?, ?, ?)',
  )
  const select = db.prepare<[string], { data: string }>(
    'SELECT data FROM linkage_timeline WHERE incident = ? ORDER BY at, seq',
  )
  return {
    add(incident, entry) {
      const e: LinkageTimelineEntry = { ...entry, actor: 'linkage' }
      insert.run(incident, e.at, JSON.stringify(e))
    },
    list: (incident) => select.all(incident).map((r) => JSON.parse(r.data) as LinkageTimelineEntry),
  }
}
