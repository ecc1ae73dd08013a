/**
 * The audit log: every notification with its outcome, and the ones given up (dead letters).
 * Kept in memory (GET /api/incidents/{id} shows it synchronously) and written through the
 * repository first; every change goes through one serial queue, so that the attempts and
 * the outcome of a notification are written in the order they happened.
 */
import { createSerialQueue } from '../shared/index.ts'
import type { AuditRepository, DeadLetter, StoredNotification } from './repository.ts'
import type {
  AttemptReport,
  AuditRecord,
  ChannelName,
  DeliveryStatus,
  Notification,
  Outcome,
} from './types.ts'
import { redactUrl } from './webhook.ts'

export type { DeadLetter } from './repository.ts'

export interface AuditLog {
  /** Load what the repository holds (at start). */
  load(): Promise<void>
  /** A new record of the notification (status `pending` or `no_channel`). */
  record(
    n: Omit<Notification, 'channel'> & { channel: ChannelName | 'none' },
    status: DeliveryStatus,
    error?: string,
  ): Promise<void>
  /** A failed attempt of a channel that retries. */
  attempt(id: string, a: AttemptReport): Promise<void>
  /** The final outcome (and the dead letter, when it is one). */
  outcome(n: Notification, o: Outcome, at: number): Promise<void>
  audit(incident: string): AuditRecord[]
  auditOfDevice(device: string): AuditRecord[]
  /** Newest first; targets without credentials or query. */
  deadLetters(limit?: number): DeadLetter[]
  /** Notifications still pending or retrying, oldest first (to resume after a restart). */
  unfinished(): { notification: Notification; record: AuditRecord }[]
  /** Resolves when every change asked for so far is written. */
  idle(): Promise<void>
}

function add<K>(index: Map<K, StoredNotification[]>, key: K | undefined, s: StoredNotification): void {
  if (key === undefined) return
  const list = index.get(key)
  if (list === undefined) index.set(key, [s])
  else list.push(s)
}

/** A notification as it was sent, from its stored record. */
function notificationOf(s: StoredNotification): Notification {
  const r = s.record
  return {
    id: r.id,
    purpose: r.purpose,
    audience: r.audience,
    channel: r.channel as ChannelName,
    place: s.place,
    payload: r.payload,
    createdAt: r.createdAt,
    ...(r.incident !== undefined ? { incident: r.incident } : {}),
    ...(r.device !== undefined ? { device: r.device } : {}),
    ...(s.fullTarget !== undefined ? { target: s.fullTarget } : {}),
    ...(s.maxAttempts !== undefined ? { maxAttempts: s.maxAttempts } : {}),
  }
}

/** The record after a failed attempt of a channel that retries. */
function afterAttempt(r: AuditRecord, a: AttemptReport): AuditRecord {
  const { httpStatus: _h, error: _e, nextAttemptAt: _n, ...rest } = r
  return {
    ...rest,
    status: a.nextAttemptAt !== undefined ? 'retrying' : 'pending',
    attempts: a.attempt,
    ...(a.httpStatus !== undefined ? { httpStatus: a.httpStatus } : {}),
    ...(a.error !== undefined ? { error: a.error } : {}),
    firstAttemptAt: r.firstAttemptAt ?? a.at,
    lastAttemptAt: a.at,
    ...(a.nextAttemptAt !== undefined ? { nextAttemptAt: a.nextAttemptAt } : {}),
  }
}

/** The record with its final outcome. */
function afterOutcome(r: AuditRecord, o: Outcome): AuditRecord {
  const { error: _e, nextAttemptAt: _n, deliveredAt: _d, ...rest } = r
  const httpStatus = o.httpStatus ?? r.httpStatus
  const firstAttemptAt = r.firstAttemptAt ?? o.firstAttemptAt
  const lastAttemptAt = o.lastAttemptAt ?? r.lastAttemptAt
  return {
    ...rest,
    status: o.status,
    attempts: o.attempts,
    ...(httpStatus !== undefined ? { httpStatus } : {}),
    ...(o.error !== undefined ? { error: o.error } : {}),
    ...(firstAttemptAt !== undefined ? { firstAttemptAt } : {}),
    ...(lastAttemptAt !== undefined ? { lastAttemptAt } : {}),
    ...(o.deliveredAt !== undefined ? { deliveredAt: o.deliveredAt } : {}),
  }
}

/** The newest `limit` of `dead` (oldest first), newest first, targets without credentials or query. */
export function shownDeadLetters(dead: DeadLetter[], limit = 100): DeadLetter[] {
  return dead
    .slice(-limit)
    .reverse()
    .map((d) => ({
      ...d,
      ...(d.target !== undefined ? { target: d.channel === 'webhook' ? redactUrl(d.target) : d.target } : {}),
    }))
}

export function createAuditLog(repository: AuditRepository): AuditLog {
  const byId = new Map<string, StoredNotification>()
  const byIncident = new Map<string, StoredNotification[]>()
  const byDevice = new Map<string, StoredNotification[]>()
  let dead: DeadLetter[] = []
  const writes = createSerialQueue()

  const keep = (s: StoredNotification) => {
    byId.set(s.record.id, s)
    add(byIncident, s.record.incident, s)
    add(byDevice, s.record.device, s)
  }
  const change = (id: string, next: (r: AuditRecord) => AuditRecord) =>
    writes.run(async () => {
      const s = byId.get(id)
      if (s === undefined) return
      const r = next(s.record)
      await repository.save(r)
      s.record = r
    })

  return {
    async load() {
      const [all, letters] = await Promise.all([repository.all(), repository.deadLetters()])
      byId.clear()
      byIncident.clear()
      byDevice.clear()
      for (const s of all) keep(s)
      dead = letters
    },
    record(n, status, error) {
      const target =
        n.target === undefined ? undefined : n.channel === 'webhook' ? redactUrl(n.target) : n.target
      const s: StoredNotification = {
        record: {
          id: n.id,
          ...(n.incident !== undefined ? { incident: n.incident } : {}),
          ...(n.device !== undefined ? { device: n.device } : {}),
          purpose: n.purpose,
          audience: n.audience,
          channel: n.channel,
          ...(target !== undefined ? { target } : {}),
          status,
          attempts: 0,
          ...(error !== undefined ? { error } : {}),
          createdAt: n.createdAt,
          payload: n.payload,
        },
        place: n.place,
        ...(n.target !== undefined ? { fullTarget: n.target } : {}),
        ...(n.maxAttempts !== undefined ? { maxAttempts: n.maxAttempts } : {}),
      }
      return writes.run(async () => {
        await repository.insert(s)
        keep(s)
      })
    },
    attempt: (id, a) => change(id, (r) => afterAttempt(r, a)),
    async outcome(n, o, at) {
      await change(n.id, (r) => afterOutcome(r, o))
      if (o.status !== 'dead_letter') return
      const d: DeadLetter = {
        id: n.id,
        ...(n.incident !== undefined ? { incident: n.incident } : {}),
        purpose: n.purpose,
        channel: n.channel,
        ...(n.target !== undefined ? { target: n.target } : {}),
        attempts: o.attempts,
        error: o.error ?? 'failed',
        at,
        payload: n.payload,
      }
      await writes.run(async () => {
        await repository.putDeadLetter(d)
        dead = [...dead.filter((x) => x.id !== d.id), d]
      })
    },
    audit: (incident) => (byIncident.get(incident) ?? []).map((s) => ({ ...s.record })),
    auditOfDevice: (device) => (byDevice.get(device) ?? []).map((s) => ({ ...s.record })),
    deadLetters: (limit = 100) => shownDeadLetters(dead, limit),
    unfinished: () =>
      [...byId.values()]
        .filter((s) => s.record.status === 'pending' || s.record.status === 'retrying')
        .map((s) => ({ notification: notificationOf(s), record: { ...s.record } })),
    idle: () => writes.idle(),
  }
}
