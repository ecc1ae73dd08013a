/**
 * Linkage's rows as both databases hand them back (times and counts as numbers, JSON as
 * text), and the records they hold: one mapping for the SQLite and the PostgreSQL
 * repository, so that both read back exactly what was written.
 */
import type { StoredCommand, StoredNotification } from './repository.ts'
import type {
  AuditRecord,
  CommandRecord,
  CommandStatus,
  DeliveryStatus,
  LinkedAction,
  NotificationPlace,
} from './types.ts'

export const opt = <T>(v: T | undefined): T | null => (v === undefined ? null : v)

export interface CommandRow {
  id: string
  incident: string
  device: string
  action: string
  status: string
  attempts: number
  created_at: number
  updated_at: number
  last_attempt_at: number | null
  next_attempt_at: number | null
  acknowledged_at: number | null
  acknowledged_id: string | null
  cancelled_at: number | null
  last_error: string | null
  place: string
}

export function commandOf(r: CommandRow): StoredCommand {
  const record: CommandRecord = {
    id: r.id,
    incident: r.incident,
    device: r.device,
    action: r.action as LinkedAction,
    status: r.status as CommandStatus,
    attempts: r.attempts,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    ...(r.last_attempt_at !== null ? { lastAttemptAt: r.last_attempt_at } : {}),
    ...(r.next_attempt_at !== null ? { nextAttemptAt: r.next_attempt_at } : {}),
    ...(r.acknowledged_at !== null ? { acknowledgedAt: r.acknowledged_at } : {}),
    ...(r.acknowledged_id !== null ? { acknowledgedId: r.acknowledged_id } : {}),
    ...(r.cancelled_at !== null ? { cancelledAt: r.cancelled_at } : {}),
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
  }
  return { record, place: JSON.parse(r.place) as NotificationPlace }
}

export interface AuditRow {
  id: string
  incident: string | null
  device: string | null
  purpose: string
  audience: string
  channel: string
  target: string | null
  target_full: string | null
  place: string
  status: string
  attempts: number
  http_status: number | null
  error: string | null
  created_at: number
  first_attempt_at: number | null
  last_attempt_at: number | null
  next_attempt_at: number | null
  delivered_at: number | null
  max_attempts: number | null
  payload: string
}

export function notificationOf(r: AuditRow): StoredNotification {
  const record: AuditRecord = {
    id: r.id,
    ...(r.incident !== null ? { incident: r.incident } : {}),
    ...(r.device !== null ? { device: r.device } : {}),
    purpose: r.purpose as AuditRecord['purpose'],
    audience: r.audience,
    channel: r.channel as AuditRecord['channel'],
    ...(r.target !== null ? { target: r.target } : {}),
    status: r.status as DeliveryStatus,
    attempts: r.attempts,
    ...(r.http_status !== null ? { httpStatus: r.http_status } : {}),
    ...(r.error !== null ? { error: r.error } : {}),
    createdAt: r.created_at,
    ...(r.first_attempt_at !== null ? { firstAttemptAt: r.first_attempt_at } : {}),
    ...(r.last_attempt_at !== null ? { lastAttemptAt: r.last_attempt_at } : {}),
    ...(r.next_attempt_at !== null ? { nextAttemptAt: r.next_attempt_at } : {}),
    ...(r.delivered_at !== null ? { deliveredAt: r.delivered_at } : {}),
    payload: JSON.parse(r.payload) as Record<string, unknown>,
  }
  return {
    record,
    place: JSON.parse(r.place) as NotificationPlace,
    ...(r.target_full !== null ? { fullTarget: r.target_full } : {}),
    ...(r.max_attempts !== null ? { maxAttempts: r.max_attempts } : {}),
  }
}
