/**
 * Linkage's repository in a cluster's PostgreSQL database (tables in
 * services/state/migrations/postgres/001_initial.sql, the rows of the SQLite repository).
 *
 * With a fence, linkage's state is partitioned by community: every write that belongs to an
 * incident runs in one transaction that first holds the incident's community (looked up in
 * `incidents` in that transaction), a notification about a device without an incident holds
 * the device's community, so that a node whose lease has moved changes nothing. The
 * administrators' rules are settings of a community, not work on it: any node writes them.
 * What the stage loads at start (`all()`) is only the owned partitions' rows; the other
 * reads answer for every partition.
 */
import pg from 'pg'
import type { PartitionFence, PgClient, PgDatabase } from '../state/index.ts'
import type {
  AuditRepository,
  CommandRepository,
  DeadLetter,
  EscalationTimer,
  IncidentMarksRepository,
  LinkageRepository,
  RulesRepository,
  TimelineRepository,
  TimerRepository,
} from './repository.ts'
import { type AuditRow, type CommandRow, commandOf, notificationOf, opt } from './repository-rows.ts'
import type { CommunityRulesInput, EscalationStep } from './rules.ts'
import type { AuditRecord, LinkageTimelineEntry } from './types.ts'

const INT8 = 20
/** BIGINT columns (ms times, counts) read as numbers, as the SQLite rows have them. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 && format !== 'binary'
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'],
}

type Queryable = Pick<pg.Pool, 'query'> | PgClient

async function rowsOf<R extends pg.QueryResultRow>(
  on: Queryable,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  return (await on.query<R>({ text, values, types })).rows
}

/** What a write belongs to: an incident's, or (no incident) a device's community. */
type Owner = { incident: string } | { device: string }

/** The partitions of `owners`, read in the transaction; a row of no known partition is refused. */
async function partitionsOf(c: PgClient, owners: Owner[]): Promise<string[]> {
  const out = new Set<string>()
  for (const o of owners) {
    const [table, id] = 'incident' in o ? ['incidents', o.incident] : ['devices', o.device]
    const r = await c.query<{ community: string }>(`SELECT community FROM ${table} WHERE id = $1`, [id])
    const community = r.rows[0]?.community
    if (community === undefined)
      throw new Error(
        `${table === 'incidents' ? 'incident' : 'device'} ${id} is not in the database: its partition is unknown`,
      )
    out.add(community)
  }
  // Lease rows locked in one order: two writers never wait on each other round a cycle.
  return [...out].sort()
}

interface Writer {
  /** Run `fn` in one transaction; with a fence, only while this node holds the owners' partitions. */
  write<T>(owners: Owner[], fn: (c: PgClient) => Promise<T>): Promise<T>
  /** The partitions loaded at start (undefined: every row, no fence). */
  owned(): string[] | undefined
}

function writerOf(db: PgDatabase, fence: PartitionFence | undefined): Writer {
  return {
    write: (owners, fn) =>
      db.tx(async (c) => {
        if (fence !== undefined) {
          if (owners.length === 0)
            throw new Error('a linkage write of no incident and no device: its partition is unknown')
          for (const p of await partitionsOf(c, owners)) await fence.hold(c, p)
        }
        return fn(c)
      }),
    owned: () => (fence === undefined ? undefined : [...fence.owned()]),
  }
}

/**
 * `sql` (which selects from linkage's table aliased `l` and has no WHERE yet) restricted to
 * the owned partitions through `join` (SQL joining the incident or device that holds each row).
 */
function scoped(sql: string, join: string, where: string, order: string, owned: string[] | undefined) {
  if (owned === undefined) return { text: `${sql} ${order}`, values: [] as unknown[] }
  return { text: `${sql} ${join} WHERE ${where} = ANY($1::text[]) ${order}`, values: [owned] as unknown[] }
}

const BY_INCIDENT = 'JOIN incidents i ON i.id = l.incident'

export function createPostgresLinkageRepository(db: PgDatabase, fence?: PartitionFence): LinkageRepository {
  const w = writerOf(db, fence)
  return {
    rules: pgRules(db),
    incidents: pgMarks(db, w),
    timers: pgTimers(db, w),
    commands: pgCommands(db, w),
    audit: pgAudit(db, w),
    timeline: pgTimeline(db, w),
  }
}

function pgRules(db: PgDatabase): RulesRepository {
  return {
    async all() {
      const rows = await rowsOf<{ community: string; rules: string }>(
        db.pool,
        'SELECT community, rules FROM linkage_rules ORDER BY community',
      )
      return rows.map((r) => ({ community: r.community, rules: JSON.parse(r.rules) as CommunityRulesInput }))
    },
    async get(community) {
      const [r] = await rowsOf<{ rules: string }>(
        db.pool,
        'SELECT rules FROM linkage_rules WHERE community = $1',
        [community],
      )
      return r === undefined ? undefined : (JSON.parse(r.rules) as CommunityRulesInput)
    },
    async put(community, rules, at) {
      await db.query(
        `INSERT INTO linkage_rules (community, rules, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (community) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at`,
        [community, JSON.stringify(rules), at],
      )
    },
    async delete(community) {
      await db.query('DELETE FROM linkage_rules WHERE community = $1', [community])
    },
  }
}

function pgMarks(db: PgDatabase, w: Writer): IncidentMarksRepository {
  const mark = (column: 'alarm_handled_at' | 'forwarded_at') => (incident: string, at: number) =>
    w.write([{ incident }], async (c) => {
      await c.query(
        `INSERT INTO linkage_incidents (incident, ${column}) VALUES ($1, $2)
         ON CONFLICT (incident) DO UPDATE SET ${column} = excluded.${column}`,
        [incident, at],
      )
    })
  return {
    async get(incident) {
      const [r] = await rowsOf<{ alarm_handled_at: number | null; forwarded_at: number | null }>(
        db.pool,
        'SELECT alarm_handled_at, forwarded_at FROM linkage_incidents WHERE incident = $1',
        [incident],
      )
      if (r === undefined) return undefined
      return {
        ...(r.alarm_handled_at !== null ? { alarmHandledAt: r.alarm_handled_at } : {}),
        ...(r.forwarded_at !== null ? { forwardedAt: r.forwarded_at } : {}),
      }
    },
    markAlarm: mark('alarm_handled_at'),
    markForwarded: mark('forwarded_at'),
  }
}

interface TimerRow {
  incident: string
  step: number
  deadline: number
  spec: string
}

const timerOf = (r: TimerRow): EscalationTimer => ({
  incident: r.incident,
  step: r.step,
  deadline: r.deadline,
  spec: JSON.parse(r.spec) as EscalationStep,
})

function pgTimers(db: PgDatabase, w: Writer): TimerRepository {
  const incidentsOf = (timers: EscalationTimer[]) => [...new Set(timers.map((t) => t.incident))]
  return {
    async all() {
      const q = scoped(
        'SELECT l.incident, l.step, l.deadline, l.spec FROM linkage_timers l',
        BY_INCIDENT,
        'i.community',
        'ORDER BY l.deadline, l.step',
        w.owned(),
      )
      return (await rowsOf<TimerRow>(db.pool, q.text, q.values)).map(timerOf)
    },
    async ofIncident(incident) {
      const rows = await rowsOf<TimerRow>(
        db.pool,
        'SELECT incident, step, deadline, spec FROM linkage_timers WHERE incident = $1 ORDER BY step',
        [incident],
      )
      return rows.map(timerOf)
    },
    put: async (timers) => {
      if (timers.length === 0) return
      await w.write(
        incidentsOf(timers).map((incident) => ({ incident })),
        async (c) => {
          for (const t of timers)
            await c.query(
              `INSERT INTO linkage_timers (incident, step, deadline, spec) VALUES ($1, $2, $3, $4)
               ON CONFLICT (incident, step) DO UPDATE SET deadline = excluded.deadline, spec = excluded.spec`,
              [t.incident, t.step, t.deadline, JSON.stringify(t.spec)],
            )
        },
      )
    },
    remove: (incident, step) =>
      w.write([{ incident }], async (c) => {
        await c.query('DELETE FROM linkage_timers WHERE incident = $1 AND step = $2', [incident, step])
      }),
    removeAll: (incident) =>
      w.write([{ incident }], async (c) => {
        await c.query('DELETE FROM linkage_timers WHERE incident = $1', [incident])
      }),
  }
}

function pgCommands(db: PgDatabase, w: Writer): CommandRepository {
  return {
    async all() {
      const q = scoped(
        'SELECT l.* FROM linkage_commands l',
        BY_INCIDENT,
        'i.community',
        'ORDER BY l.created_at, l.seq',
        w.owned(),
      )
      return (await rowsOf<CommandRow>(db.pool, q.text, q.values)).map(commandOf)
    },
    async ofIncident(incident) {
      const rows = await rowsOf<CommandRow>(
        db.pool,
        'SELECT * FROM linkage_commands WHERE incident = $1 ORDER BY created_at, seq',
        [incident],
      )
      return rows.map((r) => commandOf(r).record)
    },
    insert: ({ record: r, place }) =>
      w.write([{ incident: r.incident }], async (c) => {
        const res = await c.query(
          `INSERT INTO linkage_commands (id, incident, device, action, status, attempts, created_at, updated_at, place)
           VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5, $6) ON CONFLICT DO NOTHING`,
          [r.id, r.incident, r.device, r.action, r.createdAt, JSON.stringify(place)],
        )
        return (res.rowCount ?? 0) > 0
      }),
    save: (r) =>
      w.write([{ incident: r.incident }], async (c) => {
        await c.query(
          `UPDATE linkage_commands SET status = $2, attempts = $3, updated_at = $4, last_attempt_at = $5,
             next_attempt_at = $6, acknowledged_at = $7, acknowledged_id = $8, cancelled_at = $9, last_error = $10
           WHERE id = $1`,
          [
            r.id,
            r.status,
            r.attempts,
            r.updatedAt,
            opt(r.lastAttemptAt),
            opt(r.nextAttemptAt),
            opt(r.acknowledgedAt),
            opt(r.acknowledgedId),
            opt(r.cancelledAt),
            opt(r.lastError),
          ],
        )
      }),
  }
}

/** A notification belongs to its incident, or (a warning) to its device. */
const ownerOfRecord = (r: Pick<AuditRecord, 'incident' | 'device'>): Owner[] =>
  r.incident !== undefined ? [{ incident: r.incident }] : r.device !== undefined ? [{ device: r.device }] : []

interface DeadRow {
  id: string
  incident: string | null
  purpose: string
  channel: string
  target: string | null
  attempts: number
  error: string
  at: number
  payload: string
}

const deadOf = (r: DeadRow): DeadLetter => ({
  id: r.id,
  ...(r.incident !== null ? { incident: r.incident } : {}),
  purpose: r.purpose,
  channel: r.channel,
  ...(r.target !== null ? { target: r.target } : {}),
  attempts: r.attempts,
  error: r.error,
  at: r.at,
  payload: JSON.parse(r.payload) as Record<string, unknown>,
})

/** The partition of a dead letter: its incident's, or its notification's device's. */
async function ownerOfDeadLetter(db: PgDatabase, d: DeadLetter): Promise<Owner[]> {
  if (d.incident !== undefined) return [{ incident: d.incident }]
  const [r] = await rowsOf<{ device: string | null }>(
    db.pool,
    'SELECT device FROM linkage_audit WHERE id = $1',
    [d.id],
  )
  return r?.device != null ? [{ device: r.device }] : []
}

function pgAudit(db: PgDatabase, w: Writer): AuditRepository {
  const changing = (r: AuditRecord) => [
    r.id,
    r.status,
    r.attempts,
    opt(r.httpStatus),
    opt(r.error),
    opt(r.firstAttemptAt),
    opt(r.lastAttemptAt),
    opt(r.nextAttemptAt),
    opt(r.deliveredAt),
  ]
  return {
    async all() {
      const q = scoped(
        'SELECT l.* FROM linkage_audit l',
        `LEFT JOIN incidents i ON i.id = l.incident
         LEFT JOIN devices d ON l.incident IS NULL AND d.id = l.device`,
        'COALESCE(i.community, d.community)',
        'ORDER BY l.created_at, l.seq',
        w.owned(),
      )
      return (await rowsOf<AuditRow>(db.pool, q.text, q.values)).map(notificationOf)
    },
    async ofIncident(incident) {
      const rows = await rowsOf<AuditRow>(
        db.pool,
        'SELECT * FROM linkage_audit WHERE incident = $1 ORDER BY created_at, seq',
        [incident],
      )
      return rows.map((r) => notificationOf(r).record)
    },
    insert: ({ record: r, fullTarget, place, maxAttempts }) =>
      w.write(ownerOfRecord(r), async (c) => {
        await c.query(
          `INSERT INTO linkage_audit (id, status, attempts, http_status, error, first_attempt_at, last_attempt_at,
             next_attempt_at, delivered_at, incident, device, purpose, audience, channel, target, target_full, place,
             created_at, max_attempts, payload)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
          [
            ...changing(r),
            opt(r.incident),
            opt(r.device),
            r.purpose,
            r.audience,
            r.channel,
            opt(r.target),
            opt(fullTarget),
            JSON.stringify(place),
            r.createdAt,
            opt(maxAttempts),
            JSON.stringify(r.payload),
          ],
        )
      }),
    save: (r) =>
      w.write(ownerOfRecord(r), async (c) => {
        await c.query(
          `UPDATE linkage_audit SET status = $2, attempts = $3, http_status = $4, error = $5, first_attempt_at = $6,
             last_attempt_at = $7, next_attempt_at = $8, delivered_at = $9
           WHERE id = $1`,
          changing(r),
        )
      }),
    async deadLetters() {
      return (await rowsOf<DeadRow>(db.pool, 'SELECT * FROM linkage_dead_letters ORDER BY at, seq')).map(
        deadOf,
      )
    },
    putDeadLetter: async (d) =>
      w.write(await ownerOfDeadLetter(db, d), async (c) => {
        // Replaced as SQLite's INSERT OR REPLACE does: the letter comes last among those of its time.
        await c.query('DELETE FROM linkage_dead_letters WHERE id = $1', [d.id])
        await c.query(
          `INSERT INTO linkage_dead_letters (id, incident, purpose, channel, target, attempts, error, at, payload)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [
            d.id,
            opt(d.incident),
            d.purpose,
            d.channel,
            opt(d.target),
            d.attempts,
            d.error,
            d.at,
            JSON.stringify(d.payload),
          ],
        )
      }),
  }
}

function pgTimeline(db: PgDatabase, w: Writer): TimelineRepository {
  return {
    async all() {
      const q = scoped(
        'SELECT l.incident, l.data FROM linkage_timeline l',
        BY_INCIDENT,
        'i.community',
        // SQLite's order of ids (bytes), whatever the database's collation.
        'ORDER BY l.incident COLLATE "C", l.at, l.seq',
        w.owned(),
      )
      const rows = await rowsOf<{ incident: string; data: string }>(db.pool, q.text, q.values)
      return rows.map((r) => ({ incident: r.incident, entry: JSON.parse(r.data) as LinkageTimelineEntry }))
    },
    async ofIncident(incident) {
      const rows = await rowsOf<{ data: string }>(
        db.pool,
        'SELECT data FROM linkage_timeline WHERE incident = $1 ORDER BY at, seq',
        [incident],
      )
      return rows.map((r) => JSON.parse(r.data) as LinkageTimelineEntry)
    },
    add: (incident, entry) =>
      w.write([{ incident }], async (c) => {
        await c.query('INSERT INTO linkage_timeline (incident, at, data) VALUES ($1, $2, $3)', [
          incident,
          entry.at,
          JSON.stringify(entry),
        ])
      }),
  }
}
