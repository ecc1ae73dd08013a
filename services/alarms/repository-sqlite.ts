/**
 * The alarm engine's repository in SQLite: incidents as JSON rows with their searchable
 * columns, the timeline one row per entry, active conditions one row per device and condition.
 * better-sqlite3 works synchronously: every method returns a settled promise.
 */
import type { SqliteDb } from '../state/index.ts'
import type { Incident, TimelineEntry } from './incidents.ts'
import type { AlarmRepository, StoredCondition } from './repository.ts'
import type { ConditionType } from './types.ts'

const OPEN = `('verifying', 'alarm', 'acknowledged', 'confirmed')`

export function createSqliteAlarmRepository(db: SqliteDb): AlarmRepository {
  const insertIncident = db.prepare<[string, string, string | null, string, string, number, number, string]>(
    'INSERT INTO incidents (id, status, building, community, street, opened_at, updated_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  )
  const saveIncident = db.prepare<[string, number, string, string]>(
    'UPDATE incidents SET status = ?, updated_at = ?, data = ? WHERE id = ?',
  )
  const selectOne = db.prepare<[string], { data: string }>('SELECT data FROM incidents WHERE id = ?')
  const selectOpen = db.prepare<[], { data: string }>(
    `SELECT data FROM incidents WHERE status IN ${OPEN} ORDER BY opened_at`,
  )
  const appendEntry = db.prepare<[string, string]>(
    'INSERT INTO incident_timeline (incident, data) VALUES (?, ?)',
  )
  const selectTimeline = db.prepare<[string], { data: string }>(
    'SELECT data FROM incident_timeline WHERE incident = ? ORDER BY seq',
  )
  const putCondition = db.prepare<[string, string, number, number | null, number | null]>(
    'INSERT OR REPLACE INTO device_conditions (device, condition, since, value, threshold) VALUES (?, ?, ?, ?, ?)',
  )
  const dropCondition = db.prepare<[string, string]>(
    'DELETE FROM device_conditions WHERE device = ? AND condition = ?',
  )
  const selectConditions = db.prepare<
    [],
    {
      device: string
      condition: ConditionType
      since: number
      value: number | null
      threshold: number | null
    }
  >('SELECT device, condition, since, value, threshold FROM device_conditions')

  const insertTx = db.transaction((i: Incident, entry: TimelineEntry) => {
    insertIncident.run(
      i.id,
      i.status,
      i.building ?? null,
      i.community,
      i.street,
      i.openedAt,
      i.updatedAt,
      JSON.stringify(i),
    )
    appendEntry.run(i.id, JSON.stringify(entry))
  })
  const saveTx = db.transaction((i: Incident, entries: TimelineEntry[]) => {
    saveIncident.run(i.status, i.updatedAt, JSON.stringify(i), i.id)
    for (const e of entries) appendEntry.run(i.id, JSON.stringify(e))
  })

  return {
    loadOpen: async () => selectOpen.all().map((r) => JSON.parse(r.data) as Incident),
    async find(id) {
      const row = selectOne.get(id)
      return row ? (JSON.parse(row.data) as Incident) : undefined
    },
    async insert(incident, entry) {
      insertTx(incident, entry)
    },
    async save(incident, entries) {
      saveTx(incident, entries)
    },
    timeline: async (id) => selectTimeline.all(id).map((r) => JSON.parse(r.data) as TimelineEntry),
    async list(filter, page) {
      const where: string[] = []
      const args: (string | number)[] = []
      if (filter.status === 'open') where.push(`status IN ${OPEN}`)
      else if (filter.status !== undefined) {
        where.push('status = ?')
        args.push(filter.status)
      }
      for (const key of ['community', 'street', 'building'] as const) {
        const v = filter[key]
        if (v !== undefined) {
          where.push(`${key} = ?`)
          args.push(v)
        }
      }
      if (filter.openedFrom !== undefined) {
        where.push('opened_at >= ?')
        args.push(filter.openedFrom)
      }
      if (filter.openedBefore !== undefined) {
        where.push('opened_at < ?')
        args.push(filter.openedBefore)
      }
      const clause = where.length ? `WHERE ${where.join(' AND ')}` : ''
      const total = (
        db.prepare(`SELECT COUNT(*) AS n FROM incidents ${clause}`).get(...args) as { n: number }
      ).n
      const rows = db
        .prepare(`SELECT data FROM incidents ${clause} ORDER BY opened_at DESC, id LIMIT ? OFFSET ?`)
        .all(...args, page.limit, page.offset) as { data: string }[]
      return { items: rows.map((r) => JSON.parse(r.data) as Incident), total }
    },
    loadConditions: async () =>
      selectConditions.all().map((r) => {
        const c: StoredCondition = { device: r.device, condition: r.condition, since: r.since }
        if (r.value !== null) c.value = r.value
        if (r.threshold !== null) c.threshold = r.threshold
        return c
      }),
    async putCondition(c) {
      putCondition.run(c.device, c.condition, c.since, c.value ?? null, c.threshold ?? null)
    },
    async deleteCondition(device, condition) {
      dropCondition.run(device, condition)
    },
  }
}
