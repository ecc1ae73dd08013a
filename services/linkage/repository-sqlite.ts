/**
 * Linkage's repository in the state database (tables in
 * services/state/migrations/state/001_initial.sql). better-sqlite3 works synchronously: every
 * method has done its work when it returns its (settled) promise.
 */
import { type SqliteDb, settled } from '../state/index.ts'
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

/** Run `fn` now and hand its result (or its error) back as a promise. */

export function createSqliteLinkageRepository(db: SqliteDb): LinkageRepository {
  return {
    rules: sqliteRules(db),
    incidents: sqliteMarks(db),
    timers: sqliteTimers(db),
    commands: sqliteCommands(db),
    audit: sqliteAudit(db),
    timeline: sqliteTimeline(db),
  }
}

function sqliteRules(db: SqliteDb): RulesRepository {
  const put = db.prepare<[string, string, number]>(
    'INSERT OR REPLACE INTO linkage_rules (community, rules, updated_at) VALUES (?, ?, ?)',
  )
  const del = db.prepare<[string]>('DELETE FROM linkage_rules WHERE community = ?')
  const all = db.prepare<[], { community: string; rules: string }>(
    'SELECT community, rules FROM linkage_rules',
  )
  const get = db.prepare<[string], { rules: string }>('SELECT rules FROM linkage_rules WHERE community = ?')
  return {
    get: (community) =>
      settled(() => {
        const r = get.get(community)
        return r === undefined ? undefined : (JSON.parse(r.rules) as CommunityRulesInput)
      }),
    all: () =>
      settled(() =>
        all.all().map((r) => ({ community: r.community, rules: JSON.parse(r.rules) as CommunityRulesInput })),
      ),
    put: (community, rules, at) => settled(() => void put.run(community, JSON.stringify(rules), at)),
    delete: (community) => settled(() => void del.run(community)),
  }
}

function sqliteMarks(db: SqliteDb): IncidentMarksRepository {
  const get = db.prepare<[string], { alarm_handled_at: number | null; forwarded_at: number | null }>(
    'SELECT alarm_handled_at, forwarded_at FROM linkage_incidents WHERE incident = ?',
  )
  const markAlarm = db.prepare<[string, number]>(
    `INSERT INTO linkage_incidents (incident, alarm_handled_at) VALUES (?, ?)
     ON CONFLICT (incident) DO UPDATE SET alarm_handled_at = excluded.alarm_handled_at`,
  )
  const markForwarded = db.prepare<[string, number]>(
    `INSERT INTO linkage_incidents (incident, forwarded_at) VALUES (?, ?)
     ON CONFLICT (incident) DO UPDATE SET forwarded_at = excluded.forwarded_at`,
  )
  return {
    get: (incident) =>
      settled(() => {
        const r = get.get(incident)
        if (r === undefined) return undefined
        return {
          ...(r.alarm_handled_at !== null ? { alarmHandledAt: r.alarm_handled_at } : {}),
          ...(r.forwarded_at !== null ? { forwardedAt: r.forwarded_at } : {}),
        }
      }),
    markAlarm: (incident, at) => settled(() => void markAlarm.run(incident, at)),
    markForwarded: (incident, at) => settled(() => void markForwarded.run(incident, at)),
  }
}

interface TimerRow {
  incident: string
  step: number
  deadline: number
  spec: string
}

function sqliteTimers(db: SqliteDb): TimerRepository {
  const insert = db.prepare<[string, number, number, string]>(
    'INSERT OR REPLACE INTO linkage_timers (incident, step, deadline, spec) VALUES (?, ?, ?, ?)',
  )
  const putAll = db.transaction((timers: EscalationTimer[]) => {
    for (const t of timers) insert.run(t.incident, t.step, t.deadline, JSON.stringify(t.spec))
  })
  const remove = db.prepare<[string, number]>('DELETE FROM linkage_timers WHERE incident = ? AND step = ?')
  const removeAll = db.prepare<[string]>('DELETE FROM linkage_timers WHERE incident = ?')
  const all = db.prepare<[], TimerRow>(
    'SELECT incident, step, deadline, spec FROM linkage_timers ORDER BY deadline, step',
  )
  const of = db.prepare<[string], TimerRow>(
    'SELECT incident, step, deadline, spec FROM linkage_timers WHERE incident = ? ORDER BY step',
  )
  const timerOf = (r: TimerRow): EscalationTimer => ({
    incident: r.incident,
    step: r.step,
    deadline: r.deadline,
    spec: JSON.parse(r.spec) as EscalationStep,
  })
  return {
    all: () => settled(() => all.all().map(timerOf)),
    ofIncident: (incident) => settled(() => of.all(incident).map(timerOf)),
    put: (timers) => settled(() => putAll(timers)),
    remove: (incident, step) => settled(() => void remove.run(incident, step)),
    removeAll: (incident) => settled(() => void removeAll.run(incident)),
  }
}

function sqliteCommands(db: SqliteDb): CommandRepository {
  const insert = db.prepare(
    `INSERT OR IGNORE INTO linkage_commands (id, incident, device, action, status, attempts, created_at, updated_at, place)
     VALUES (@id, @incident, @device, @action, 'pending', 0, @at, @at, @place)`,
  )
  const save = db.prepare(
    `UPDATE linkage_commands SET status = @status, attempts = @attempts, updated_at = @updatedAt,
       last_attempt_at = @lastAttemptAt, next_attempt_at = @nextAttemptAt, acknowledged_at = @acknowledgedAt,
       acknowledged_id = @acknowledgedId, cancelled_at = @cancelledAt, last_error = @lastError
     WHERE id = @id`,
  )
  const all = db.prepare<[], CommandRow>('SELECT * FROM linkage_commands ORDER BY created_at, rowid')
  const of = db.prepare<[string], CommandRow>(
    'SELECT * FROM linkage_commands WHERE incident = ? ORDER BY created_at, rowid',
  )
  return {
    all: () => settled(() => all.all().map(commandOf)),
    ofIncident: (incident) => settled(() => of.all(incident).map((r) => commandOf(r).record)),
    insert: ({ record: r, place }) =>
      settled(
        () =>
          insert.run({
            id: r.id,
            incident: r.incident,
            device: r.device,
            action: r.action,
            at: r.createdAt,
            place: JSON.stringify(place),
          }).changes > 0,
      ),
    save: (r) =>
      settled(
        () =>
          void save.run({
            id: r.id,
            status: r.status,
            attempts: r.attempts,
            updatedAt: r.updatedAt,
            lastAttemptAt: opt(r.lastAttemptAt),
            nextAttemptAt: opt(r.nextAttemptAt),
            acknowledgedAt: opt(r.acknowledgedAt),
            acknowledgedId: opt(r.acknowledgedId),
            cancelledAt: opt(r.cancelledAt),
            lastError: opt(r.lastError),
          }),
      ),
  }
}

function sqliteAudit(db: SqliteDb): AuditRepository {
  const insert = db.prepare(
    `INSERT INTO linkage_audit (id, incident, device, purpose, audience, channel, target, target_full, place,
       status, attempts, http_status, error, created_at, first_attempt_at, last_attempt_at, next_attempt_at,
       delivered_at, max_attempts, payload)
     VALUES (@id, @incident, @device, @purpose, @audience, @channel, @target, @target_full, @place,
       @status, @attempts, @http_status, @error, @created_at, @first_attempt_at, @last_attempt_at, @next_attempt_at,
       @delivered_at, @max_attempts, @payload)`,
  )
  const save = db.prepare(
    `UPDATE linkage_audit SET status = @status, attempts = @attempts, http_status = @http_status, error = @error,
       first_attempt_at = @first_attempt_at, last_attempt_at = @last_attempt_at,
       next_attempt_at = @next_attempt_at, delivered_at = @delivered_at
     WHERE id = @id`,
  )
  const all = db.prepare<[], AuditRow>('SELECT * FROM linkage_audit ORDER BY created_at, rowid')
  const of = db.prepare<[string], AuditRow>(
    'SELECT * FROM linkage_audit WHERE incident = ? ORDER BY created_at, rowid',
  )
  const putDead = db.prepare(
    `INSERT OR REPLACE INTO linkage_dead_letters (id, incident, purpose, channel, target, attempts, error, at, payload)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  const dead = db.prepare<
    [],
    {
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
  >('SELECT * FROM linkage_dead_letters ORDER BY at, rowid')
  const changing = (r: AuditRecord) => ({
    id: r.id,
    status: r.status,
    attempts: r.attempts,
    http_status: opt(r.httpStatus),
    error: opt(r.error),
    first_attempt_at: opt(r.firstAttemptAt),
    last_attempt_at: opt(r.lastAttemptAt),
    next_attempt_at: opt(r.nextAttemptAt),
    delivered_at: opt(r.deliveredAt),
  })
  return {
    all: () => settled(() => all.all().map(notificationOf)),
    ofIncident: (incident) => settled(() => of.all(incident).map((r) => notificationOf(r).record)),
    insert: ({ record: r, fullTarget, place, maxAttempts }) =>
      settled(
        () =>
          void insert.run({
            ...changing(r),
            incident: opt(r.incident),
            device: opt(r.device),
            purpose: r.purpose,
            audience: r.audience,
            channel: r.channel,
            target: opt(r.target),
            target_full: opt(fullTarget),
            place: JSON.stringify(place),
            created_at: r.createdAt,
            max_attempts: opt(maxAttempts),
            payload: JSON.stringify(r.payload),
          }),
      ),
    save: (r) => settled(() => void save.run(changing(r))),
    deadLetters: () =>
      settled(() =>
        dead.all().map(
          (r): DeadLetter => ({
            id: r.id,
            ...(r.incident !== null ? { incident: r.incident } : {}),
            purpose: r.purpose,
            channel: r.channel,
            ...(r.target !== null ? { target: r.target } : {}),
            attempts: r.attempts,
            error: r.error,
            at: r.at,
            payload: JSON.parse(r.payload) as Record<string, unknown>,
          }),
        ),
      ),
    putDeadLetter: (d) =>
      settled(
        () =>
          void putDead.run(
            d.id,
            opt(d.incident),
            d.purpose,
            d.channel,
            opt(d.target),
            d.attempts,
            d.error,
            d.at,
            JSON.stringify(d.payload),
          ),
      ),
  }
}

function sqliteTimeline(db: SqliteDb): TimelineRepository {
  const insert = db.prepare<[string, number, string]>(
    'INSERT INTO linkage_timeline (incident, at, data) VALUES (?, ?, ?)',
  )
  const all = db.prepare<[], { incident: string; data: string }>(
    'SELECT incident, data FROM linkage_timeline ORDER BY incident, at, seq',
  )
  const of = db.prepare<[string], { data: string }>(
    'SELECT data FROM linkage_timeline WHERE incident = ? ORDER BY at, seq',
  )
  return {
    ofIncident: (incident) =>
      settled(() => of.all(incident).map((r) => JSON.parse(r.data) as LinkageTimelineEntry)),
    all: () =>
      settled(() =>
        all.all().map((r) => ({ incident: r.incident, entry: JSON.parse(r.data) as LinkageTimelineEntry })),
      ),
    add: (incident, entry) => settled(() => void insert.run(incident, entry.at, JSON.stringify(entry))),
  }
}
