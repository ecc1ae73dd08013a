/**
 * The duty room's vocabulary ([docs/DOMAIN.md §Running a monitoring centre], docs/PROTOCOL.md
 * §The monitoring centre's daily work): duty checks (查岗) sent from a wider scope to a
 * narrower one and answered by its officers in time, or missed and escalated one level up;
 * and the officers' shifts (sign on, sign off with a handover note).
 */

export const DUTY_CHECK_STATUSES = ['pending', 'answered', 'missed'] as const
export type DutyCheckStatus = (typeof DUTY_CHECK_STATUSES)[number]

/** A fire panel's (UITD's) own answer to a check of its community (GB/T 26875.3 type 91). */
export interface PanelCheck {
  device: string
  /** False when the panel could not be asked (not connected). */
  asked: boolean
  answeredAt?: number
}

export interface DutyCheck {
  id: string
  /** As written: `district`, `street:<name>`, `community:<id>`. */
  scope: string
  /** The checked place: a community check has both, a street check the street, a district none. */
  community?: string
  street?: string
  status: DutyCheckStatus
  /** `administrator`, `officer:<id>` or `schedule` (a random check). */
  sender: string
  sentAt: number
  due: number
  answerWithinMs: number
  /** `officer:<id>` of who answered. */
  answeredBy?: string
  answeredAt?: number
  missedAt?: number
  /** The officers one level up told of the miss. */
  escalatedTo?: string[]
  panels: PanelCheck[]
}

export interface Shift {
  id: string
  officer: string
  /** The officer's scope when signing on. */
  scope: string
  community?: string
  street?: string
  startedAt: number
  note?: string
  endedAt?: number
  handoverNote?: string
}

export type DutyCheckChange = 'sent' | 'answered' | 'missed' | 'panel_answered'

/** A duty check sent, answered or missed; `officers` are who the stream gives it to. */
export interface DutyCheckEvent {
  change: DutyCheckChange
  check: DutyCheck
  at: number
  /** The checked officers (for `duty_check`); for `missed` also `escalatedTo`. */
  officers: string[]
}

export interface ShiftEvent {
  change: 'started' | 'ended'
  shift: Shift
  at: number
}

/** What the duty stage tells the other stages (the stream, the audit log). */
export interface DutyEvents {
  'duty.check': [DutyCheckEvent]
  'duty.shift': [ShiftEvent]
}

/** FC_DUTY_CHECKS_PER_DAY, FC_DUTY_CHECK_HOURS, FC_DUTY_CHECK_ANSWER_S, FC_TIME_ZONE. */
export interface DutySettings {
  checksPerDay: number
  /** Minutes after local midnight: [from, to). */
  hours: { fromMin: number; toMin: number }
  answerWithinMs: number
  timeZone: string
}

export const DEFAULT_DUTY_SETTINGS: DutySettings = {
  checksPerDay: 0,
  hours: { fromMin: 8 * 60, toMin: 22 * 60 },
  answerWithinMs: 300_000,
  timeZone: 'Asia/Shanghai',
}

export const ANSWER_WITHIN_S = { min: 10, max: 3600, default: 300 } as const

/** The optional fire-panel side (services/panels' GB/T 26875.3 type 91), handed in by the composition root. */
export interface PanelDuty {
  /** Ask a UITD for its duty answer; false when it cannot be asked now. */
  checkDuty(deviceId: string, answerWithinS: number): boolean
  /** Hear the panels' answers; returns the unsubscribe. */
  onDutyAnswer(listener: (deviceId: string, atMs: number) => void): () => void
}

/** One line of the duty log. */
export interface DutyLogEntry {
  at: number
  kind: 'shift_started' | 'shift_ended' | 'check_sent' | 'check_answered' | 'check_missed' | 'panel_answered'
  officer?: string
  scope: string
  community?: string
  street?: string
  check?: string
  shift?: string
  note?: string
}
