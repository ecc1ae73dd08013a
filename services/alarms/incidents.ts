/**
 * Incidents in SQLite: every incident, its devices and its timeline survive a restart. Open
 * incidents are also kept in memory, indexed by building, so that the engine finds the one
 * a new alarm joins without a query. Every change is one transaction.
 */
import { randomBytes } from 'node:crypto'
import type { DeviceKind } from '../../devices/catalogue.ts'
import type { LonLat } from '../registry/index.ts'
import type { SqliteDb } from '../state/index.ts'
import { canTransition, type IncidentStatus, isOpen } from './lifecycle.ts'
import type { ConditionType } from './types.ts'

export interface IncidentDevice {
  device: string
  kind: DeviceKind
  /** The alarm conditions this device raised in the incident, in order. */
  conditions: ConditionType[]
  firstAt: number
  lastAt: number
}

export interface Verification {
  device: string
  condition: ConditionType
  startedAt: number
  /** When the alarm is confirmed if the condition persists (the window's end). */
  deadline: number
}

/** `offer`, `reply`, `escalation`: written by the dispatch stage (services/dispatch). */
export type TimelineType =
  | 'opened'
  | 'status'
  | 'device'
  | 'verification'
  | 'note'
  | 'offer'
  | 'reply'
  | 'escalation'

export interface TimelineEntry {
  at: number
  type: TimelineType
  /** The status after this entry. */
  status: IncidentStatus
  /** Who did it: `engine`, `officer:<id>`, `administrator`, `device:<id>`. */
  actor: string
  reason: string
  from?: IncidentStatus
  device?: string
  condition?: ConditionType
  value?: number
  /** The responder an offer or a reply concerns. */
  responder?: string
}

export type Resolution = 'verification_cancelled' | 'false_alarm' | 'resolved'

export interface Incident {
  id: string
  status: IncidentStatus
  /** `gas` when only gas conditions raised it; `fire` otherwise. */
  cause: 'fire' | 'gas'
  building?: string
  community: string
  street: string
  location: LonLat
  openedAt: number
  updatedAt: number
  alarmAt?: number
  acknowledgedAt?: number
  confirmedAt?: number
  falseAlarmAt?: number
  closedAt?: number
  resolution?: Resolution
  devices: IncidentDevice[]
  verification?: Verification
}

export interface IncidentWithTimeline extends Incident {
  timeline: TimelineEntry[]
}

export interface IncidentFilter {
  /** `open` = verifying, alarm, acknowledged or confirmed. */
  status?: IncidentStatus | 'open'
  community?: string
  street?: string
  building?: string
}

export interface IncidentStore {
  /** Open a new incident with its first timeline entry. */
  open(
    init: Omit<Incident, 'id' | 'updatedAt' | 'devices'> & { devices?: IncidentDevice[] },
    entry: TimelineEntry,
  ): Incident
  get(id: string): Incident | undefined
  timeline(id: string): TimelineEntry[]
  /** Apply a change to an incident and append timeline entries in one transaction. */
  update(id: string, change: (i: Incident) => void, entries: TimelineEntry[]): Incident
  /** A status change; throws InvalidTransition when the lifecycle does not allow it. */
  transition(
    id: string,
    to: IncidentStatus,
    entry: Omit<TimelineEntry, 'type' | 'status' | 'from'>,
    change?: (i: Incident) => void,
  ): { incident: Incident; entry: TimelineEntry }
  openForBuilding(building: string): Incident | undefined
  openIncidents(): Incident[]
  list(filter: IncidentFilter, page: { limit: number; offset: number }): { items: Incident[]; total: number }
}

export class InvalidTransition extends Error {
  constructor(
    readonly from: IncidentStatus,
    readonly to: IncidentStatus,
  ) {
    super(`an incident in status ${from} cannot become ${to}`)
    this.name = 'InvalidTransition'
  }
}

export function newIncidentId(at: number): string {
  const d = new Date(at)
  const day = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`
  return `inc-${day}-${randomBytes(5).toString('hex')}`
}

export function createIncidentStore(db: SqliteDb): IncidentStore {
  const insert = db.prepare<[string, string, string | null, string, string, number, number, string]>(
    'INSERT INTO incidents (id, status, building, community, street, opened_at, updated_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  )
  const save = db.prepare<[string, number, string, string]>(
    'UPDATE incidents SET status = ?, updated_at = ?, data = ? WHERE id = ?',
  )
  const selectOne = db.prepare<[string], { data: string }>('SELECT data FROM incidents WHERE id = ?')
  const selectOpen = db.prepare<[], { data: string }>(
    `SELECT data FROM incidents WHERE status IN ('verifying', 'alarm', 'acknowledged', 'confirmed') ORDER BY opened_at`,
  )
  const appendEntry = db.prepare<[string, string]>(
    'INSERT INTO incident_timeline (incident, data) VALUES (?, ?)',
  )
  const selectTimeline = db.prepare<[string], { data: string }>(
    'SELECT data FROM incident_timeline WHERE incident = ? ORDER BY seq',
  )

  const open = new Map<string, Incident>()
  const openByBuilding = new Map<string, string>()
  for (const row of selectOpen.all()) {
    const i = JSON.parse(row.data) as Incident
    open.set(i.id, i)
    if (i.building !== undefined) openByBuilding.set(i.building, i.id)
  }

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

  function load(id: string): Incident | undefined {
    const cached = open.get(id)
    if (cached) return cached
    const row = selectOne.get(id)
    return row ? (JSON.parse(row.data) as Incident) : undefined
  }

  /** Timeline times never go backwards within an incident, whatever the wall clock does. */
  function monotonic(i: Incident, entries: TimelineEntry[]): void {
    let last = i.updatedAt
    for (const e of entries) {
      if (e.at < last) e.at = last
      last = e.at
    }
    i.updatedAt = last
  }

  const updateTx = db.transaction((i: Incident, entries: TimelineEntry[]) => {
    save.run(i.status, i.updatedAt, JSON.stringify(i), i.id)
    for (const e of entries) appendEntry.run(i.id, JSON.stringify(e))
  })

  const openTx = db.transaction((i: Incident, entry: TimelineEntry) => {
    insert.run(
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

  function update(id: string, change: (i: Incident) => void, entries: TimelineEntry[]): Incident {
    const current = load(id)
    if (current === undefined) throw new Error(`incident ${id} does not exist`)
    // Work on a copy: a failed write leaves the in-memory incident as it was.
    const next = structuredClone(current)
    change(next)
    monotonic(next, entries)
    updateTx(next, entries)
    index(next)
    return next
  }

  return {
    open(init, entry) {
      const i: Incident = {
        ...init,
        id: newIncidentId(init.openedAt),
        updatedAt: init.openedAt,
        devices: init.devices ?? [],
      }
      entry.at = Math.max(entry.at, i.openedAt)
      i.updatedAt = entry.at
      openTx(i, entry)
      index(i)
      return i
    },
    get: load,
    timeline: (id) => selectTimeline.all(id).map((r) => JSON.parse(r.data) as TimelineEntry),
    update,
    transition(id, to, entry, change) {
      const current = load(id)
      if (current === undefined) throw new Error(`incident ${id} does not exist`)
      if (!canTransition(current.status, to)) throw new InvalidTransition(current.status, to)
      const full: TimelineEntry = { ...entry, type: 'status', from: current.status, status: to }
      const incident = update(
        id,
        (i) => {
          i.status = to
          change?.(i)
        },
        [full],
      )
      return { incident, entry: full }
    },
    openForBuilding(building) {
      const id = openByBuilding.get(building)
      return id === undefined ? undefined : open.get(id)
    },
    openIncidents: () => [...open.values()],
    list(filter, page) {
      const where: string[] = []
      const args: (string | number)[] = []
      if (filter.status === 'open')
        where.push(`status IN ('verifying', 'alarm', 'acknowledged', 'confirmed')`)
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
      const clause = where.length ? `WHERE ${where.join(' AND ')}` : ''
      const total = (
        db.prepare(`SELECT COUNT(*) AS n FROM incidents ${clause}`).get(...args) as { n: number }
      ).n
      const rows = db
        .prepare(`SELECT data FROM incidents ${clause} ORDER BY opened_at DESC, id LIMIT ? OFFSET ?`)
        .all(...args, page.limit, page.offset) as { data: string }[]
      return { items: rows.map((r) => JSON.parse(r.data) as Incident), total }
    },
  }
}

/**
 * The incidents as the other stages and the HTTP layer use them: what is open is read from
 * memory at once (`getOpen`, `openForBuilding`, `openIncidents`); anything that may need the
 * database — an incident that is closed, a timeline, a page of the list — and every change is
 * asynchronous, so that a networked database can hold them. Changes to one incident are
 * applied one after another in the order they were asked for.
 */
export interface IncidentBook {
  /** An open incident (verifying, alarm, acknowledged, confirmed), from memory. */
  getOpen(id: string): Incident | undefined
  openForBuilding(building: string): Incident | undefined
  openIncidents(): Incident[]
  /** Any incident, open or closed. */
  get(id: string): Promise<Incident | undefined>
  timeline(id: string): Promise<TimelineEntry[]>
  list(
    filter: IncidentFilter,
    page: { limit: number; offset: number },
  ): Promise<{ items: Incident[]; total: number }>
  open(
    init: Omit<Incident, 'id' | 'updatedAt' | 'devices'> & { devices?: IncidentDevice[] },
    entry: TimelineEntry,
  ): Promise<Incident>
  update(id: string, change: (i: Incident) => void, entries: TimelineEntry[]): Promise<Incident>
  /** A status change; rejects with InvalidTransition when the lifecycle does not allow it. */
  transition(
    id: string,
    to: IncidentStatus,
    entry: Omit<TimelineEntry, 'type' | 'status' | 'from'>,
    change?: (i: Incident) => void,
  ): Promise<{ incident: Incident; entry: TimelineEntry }>
}

/**
 * The book over the store (for the move from the synchronous store to the book: callers move
 * to the book one by one; the store then goes behind a repository and this adapter with it).
 */
export function incidentBook(store: IncidentStore): IncidentBook {
  return {
    getOpen: (id) => store.openIncidents().find((i) => i.id === id),
    openForBuilding: (b) => store.openForBuilding(b),
    openIncidents: () => store.openIncidents(),
    get: async (id) => store.get(id),
    timeline: async (id) => store.timeline(id),
    list: async (filter, page) => store.list(filter, page),
    open: async (init, entry) => store.open(init, entry),
    update: async (id, change, entries) => store.update(id, change, entries),
    transition: async (id, to, entry, change) => store.transition(id, to, entry, change),
  }
}
