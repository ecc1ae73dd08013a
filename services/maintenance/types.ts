/**
 * The maintenance stage's vocabulary ([docs/DOMAIN.md §Running a monitoring centre]): work
 * orders that close the loop on trouble, supervisory signals, hazards and sites that cry wolf,
 * and the devices and buildings in test mode.
 */

export const WORK_ORDER_KINDS = ['trouble', 'supervisory', 'false_alarms', 'hazard'] as const
export type WorkOrderKind = (typeof WORK_ORDER_KINDS)[number]

export const WORK_ORDER_STATUSES = ['open', 'assigned', 'done', 'verified'] as const
export type WorkOrderStatus = (typeof WORK_ORDER_STATUSES)[number]

/** One step of an order's history: when, the status after it, who, and why. */
export interface WorkOrderEntry {
  at: number
  status: WorkOrderStatus
  /** `engine`, `device`, `administrator`, `officer:<id>`. */
  actor: string
  note?: string
}

export interface WorkOrder {
  id: string
  kind: WorkOrderKind
  status: WorkOrderStatus
  building: string
  community: string
  street: string
  /** The device whose condition raised it (trouble, supervisory). */
  device?: string
  /** The condition that raised it (`low_battery`, `low_pressure`, …). */
  condition?: string
  reason: string
  openedAt: number
  due: number
  assignee?: string
  /** Escalation steps taken since it went overdue (0: none; community, street, district). */
  escalations: number
  /** When the device's condition last cleared (undefined: still active, or none). */
  clearedAt?: number
  /** The hazard photo's media type, when one was attached. */
  photoType?: string
  history: WorkOrderEntry[]
  updatedAt: number
}

/** Deadlines and windows of work orders (settings, docs/PROTOCOL.md §The monitoring centre's daily work). */
export interface MaintenanceSettings {
  /** FC_WORK_ORDER_GRACE_S: a trouble or supervisory condition lasting this long opens an order. */
  graceMs: number
  /** FC_WORK_ORDER_VERIFY_S: a cleared condition that stays clear this long verifies its order. */
  verifyMs: number
  /** FC_WORK_ORDER_DUE_<KIND>_S: the deadline of each kind. */
  dueMs: Record<WorkOrderKind, number>
  /** FC_FALSE_ALARM_LIMIT: a site with more false alarms than this in 24 h gets an order. */
  falseAlarmLimit: number
  /** FC_WORK_ORDER_PHOTO_MAX_BYTES: the largest hazard photo accepted. */
  photoMaxBytes: number
}

export const DEFAULT_MAINTENANCE_SETTINGS: MaintenanceSettings = {
  graceMs: 60_000,
  verifyMs: 60_000,
  dueMs: {
    supervisory: 2 * 3600_000,
    trouble: 4 * 3600_000,
    hazard: 24 * 3600_000,
    false_alarms: 24 * 3600_000,
  },
  falseAlarmLimit: 5,
  photoMaxBytes: 2 * 1024 * 1024,
}

export type WorkOrderChange = 'opened' | 'status' | 'escalated'

/** Who an overdue order's escalation told. */
export type EscalationAudience = 'community' | 'street' | 'district'

/** A work order opened, moved or escalated; `order` is the state after the change. */
export interface WorkOrderEvent {
  change: WorkOrderChange
  order: WorkOrder
  entry: WorkOrderEntry
  /** For `escalated`: the level told and the officers with that scope. */
  audience?: EscalationAudience
  officers?: string[]
}

/** A device, or every device of a building, whose signals are tests until `until`. */
export interface TestMode {
  /** `device:<id>` or `building:<id>`. */
  target: string
  community: string
  until: number
  startedAt: number
  actor: string
}

/** What the maintenance stage tells the other stages (the stream, the console). */
export interface MaintenanceEvents {
  /** A work order opened, changed status or was escalated for being overdue. */
  work_order: [WorkOrderEvent]
}
