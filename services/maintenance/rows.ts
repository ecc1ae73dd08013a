/** The rows of work_orders and test_modes (the 004_maintenance.sql migrations), shared by both stores. */
import type { WorkOrderFilter } from './repository.ts'
import type { TestMode, WorkOrder, WorkOrderEntry, WorkOrderKind, WorkOrderStatus } from './types.ts'
import type { MaintenanceWindow } from './windows.ts'

export interface WorkOrderRow {
  id: string
  kind: string
  status: string
  building: string
  community: string
  street: string
  device: string | null
  condition: string | null
  reason: string
  opened_at: number
  due_at: number
  assignee: string | null
  escalations: number
  cleared_at: number | null
  photo_type: string | null
  history: string
  updated_at: number
}

export function orderOf(r: WorkOrderRow): WorkOrder {
  const o: WorkOrder = {
    id: r.id,
    kind: r.kind as WorkOrderKind,
    status: r.status as WorkOrderStatus,
    building: r.building,
    community: r.community,
    street: r.street,
    reason: r.reason,
    openedAt: Number(r.opened_at),
    due: Number(r.due_at),
    escalations: Number(r.escalations),
    history: JSON.parse(r.history) as WorkOrderEntry[],
    updatedAt: Number(r.updated_at),
  }
  if (r.device !== null) o.device = r.device
  if (r.condition !== null) o.condition = r.condition
  if (r.assignee !== null) o.assignee = r.assignee
  if (r.cleared_at !== null) o.clearedAt = Number(r.cleared_at)
  if (r.photo_type !== null) o.photoType = r.photo_type
  return o
}

/** The columns in insert order. */
export const ORDER_COLUMNS = [
  'id',
  'kind',
  'status',
  'building',
  'community',
  'street',
  'device',
  'condition',
  'reason',
  'opened_at',
  'due_at',
  'assignee',
  'escalations',
  'cleared_at',
  'photo_type',
  'history',
  'updated_at',
] as const

export function valuesOf(o: WorkOrder): unknown[] {
  return [
    o.id,
    o.kind,
    o.status,
    o.building,
    o.community,
    o.street,
    o.device ?? null,
    o.condition ?? null,
    o.reason,
    o.openedAt,
    o.due,
    o.assignee ?? null,
    o.escalations,
    o.clearedAt ?? null,
    o.photoType ?? null,
    JSON.stringify(o.history),
    o.updatedAt,
  ]
}

/** The WHERE of a list, with `param(i)` placing the i-th value (`?` or `$i`). */
export function whereOf(
  f: WorkOrderFilter,
  param: (i: number) => string,
): { sql: string; values: unknown[] } {
  const parts: string[] = []
  const values: unknown[] = []
  for (const [col, v] of [
    ['status', f.status],
    ['kind', f.kind],
    ['community', f.community],
    ['street', f.street],
    ['building', f.building],
  ] as const) {
    if (v === undefined) continue
    values.push(v)
    parts.push(`${col} = ${param(values.length)}`)
  }
  return { sql: parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`, values }
}

export interface TestModeRow {
  target: string
  community: string
  until_at: number
  started_at: number
  actor: string
}

export function testModeOf(r: TestModeRow): TestMode {
  return {
    target: r.target,
    community: r.community,
    until: Number(r.until_at),
    startedAt: Number(r.started_at),
    actor: r.actor,
  }
}

export interface MaintenanceWindowRow {
  id: string
  building: string
  community: string
  weekday: number | null
  day_of_month: number | null
  start_at: string
  minutes: number
  devices: string | null
  created_at: number
  actor: string
}

export const WINDOW_COLUMNS = [
  'id',
  'building',
  'community',
  'weekday',
  'day_of_month',
  'start_at',
  'minutes',
  'devices',
  'created_at',
  'actor',
] as const

export function windowOf(r: MaintenanceWindowRow): MaintenanceWindow {
  return {
    id: r.id,
    building: r.building,
    community: r.community,
    ...(r.weekday !== null ? { weekday: Number(r.weekday) } : {}),
    ...(r.day_of_month !== null ? { dayOfMonth: Number(r.day_of_month) } : {}),
    start: r.start_at,
    minutes: Number(r.minutes),
    ...(r.devices !== null ? { devices: JSON.parse(r.devices) as string[] } : {}),
    createdAt: Number(r.created_at),
    actor: r.actor,
  }
}

export function windowValues(w: MaintenanceWindow): unknown[] {
  return [
    w.id,
    w.building,
    w.community,
    w.weekday ?? null,
    w.dayOfMonth ?? null,
    w.start,
    w.minutes,
    w.devices === undefined ? null : JSON.stringify(w.devices),
    w.createdAt,
    w.actor,
  ]
}
