/** The duty tables' rows (services/state/migrations/{state,postgres}/005_duty.sql) and back. */
import type { DutyCheck, DutyCheckStatus, PanelCheck, Shift } from './types.ts'

export interface CheckRow {
  id: string
  scope: string
  community: string | null
  street: string | null
  status: string
  sender: string
  sent_at: number | string
  due_at: number | string
  answer_within_ms: number | string
  answered_by: string | null
  answered_at: number | string | null
  missed_at: number | string | null
  escalated_to: string | null
  panels: string
}

export interface ShiftRow {
  id: string
  officer: string
  scope: string
  community: string | null
  street: string | null
  started_at: number | string
  note: string | null
  ended_at: number | string | null
  handover_note: string | null
}

export const CHECK_COLUMNS = [
  'id',
  'scope',
  'community',
  'street',
  'status',
  'sender',
  'sent_at',
  'due_at',
  'answer_within_ms',
  'answered_by',
  'answered_at',
  'missed_at',
  'escalated_to',
  'panels',
] as const

export const SHIFT_COLUMNS = [
  'id',
  'officer',
  'scope',
  'community',
  'street',
  'started_at',
  'note',
  'ended_at',
  'handover_note',
] as const

const num = (v: number | string | null): number | undefined => (v === null ? undefined : Number(v))

export function checkOf(r: CheckRow): DutyCheck {
  const answeredAt = num(r.answered_at)
  const missedAt = num(r.missed_at)
  return {
    id: r.id,
    scope: r.scope,
    ...(r.community !== null ? { community: r.community } : {}),
    ...(r.street !== null ? { street: r.street } : {}),
    status: r.status as DutyCheckStatus,
    sender: r.sender,
    sentAt: Number(r.sent_at),
    due: Number(r.due_at),
    answerWithinMs: Number(r.answer_within_ms),
    ...(r.answered_by !== null ? { answeredBy: r.answered_by } : {}),
    ...(answeredAt !== undefined ? { answeredAt } : {}),
    ...(missedAt !== undefined ? { missedAt } : {}),
    ...(r.escalated_to !== null ? { escalatedTo: JSON.parse(r.escalated_to) as string[] } : {}),
    panels: JSON.parse(r.panels) as PanelCheck[],
  }
}

export function checkValues(c: DutyCheck): unknown[] {
  return [
    c.id,
    c.scope,
    c.community ?? null,
    c.street ?? null,
    c.status,
    c.sender,
    c.sentAt,
    c.due,
    c.answerWithinMs,
    c.answeredBy ?? null,
    c.answeredAt ?? null,
    c.missedAt ?? null,
    c.escalatedTo !== undefined ? JSON.stringify(c.escalatedTo) : null,
    JSON.stringify(c.panels),
  ]
}

export function shiftOf(r: ShiftRow): Shift {
  const endedAt = num(r.ended_at)
  return {
    id: r.id,
    officer: r.officer,
    scope: r.scope,
    ...(r.community !== null ? { community: r.community } : {}),
    ...(r.street !== null ? { street: r.street } : {}),
    startedAt: Number(r.started_at),
    ...(r.note !== null ? { note: r.note } : {}),
    ...(endedAt !== undefined ? { endedAt } : {}),
    ...(r.handover_note !== null ? { handoverNote: r.handover_note } : {}),
  }
}

export function shiftValues(s: Shift): unknown[] {
  return [
    s.id,
    s.officer,
    s.scope,
    s.community ?? null,
    s.street ?? null,
    s.startedAt,
    s.note ?? null,
    s.endedAt ?? null,
    s.handoverNote ?? null,
  ]
}

/** WHERE of a check filter, with the engine's placeholder. */
export function checkWhere(
  f: { status?: string; scope?: string; community?: string; street?: string },
  ph: (i: number) => string,
): { sql: string; values: unknown[] } {
  const parts: string[] = []
  const values: unknown[] = []
  const add = (col: string, v: string | undefined) => {
    if (v === undefined) return
    values.push(v)
    parts.push(`${col} = ${ph(values.length)}`)
  }
  add('status', f.status)
  add('scope', f.scope)
  add('community', f.community)
  add('street', f.street)
  return { sql: parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`, values }
}
