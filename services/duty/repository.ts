/**
 * What the duty stage keeps: duty checks and shifts. Every method is asynchronous so that a
 * cluster's PostgreSQL can sit behind it. A check's end (answered, missed) is written only
 * while it is still pending (`settle` answers false otherwise), so that two nodes, or a timer
 * and an answer, never both end it.
 */
import type { DutyCheck, DutyCheckStatus, Shift } from './types.ts'

export interface DutyCheckFilter {
  status?: DutyCheckStatus
  /** Checks of exactly this scope. */
  scope?: string
  /** Checks whose place lies in this community / street (an officer's view). */
  community?: string
  street?: string
}

export interface DutyCheckRepository {
  /** False when a check with its id exists already (a scheduled check another node sent). */
  insert(check: DutyCheck): Promise<boolean>
  get(id: string): Promise<DutyCheck | undefined>
  /** Newest first. */
  list(filter: DutyCheckFilter, limit: number): Promise<DutyCheck[]>
  /** Every pending check (re-armed at start). */
  pending(): Promise<DutyCheck[]>
  /** Write the check's end when it is still pending; false when it is not. */
  settle(check: DutyCheck): Promise<boolean>
  /** Panel answers and other changes that do not end the check. */
  update(check: DutyCheck): Promise<void>
  /** Checks sent, answered or missed in [from, to). */
  between(from: number, to: number): Promise<DutyCheck[]>
}

export interface ShiftRepository {
  insert(shift: Shift): Promise<void>
  /** Write the end (ended_at, handover note) when still open; false when it is not. */
  end(shift: Shift): Promise<boolean>
  /** The officer's open shift. */
  current(officer: string): Promise<Shift | undefined>
  /** Every open shift. */
  open(): Promise<Shift[]>
  /** Shifts started or ended in [from, to). */
  between(from: number, to: number): Promise<Shift[]>
}

export interface DutyRepository {
  checks: DutyCheckRepository
  shifts: ShiftRepository
}
