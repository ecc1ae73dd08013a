/**
 * The duty stage ([docs/DOMAIN.md §Running a monitoring centre], docs/PROTOCOL.md §The
 * monitoring centre's daily work): duty checks (查岗) with their answers, misses and
 * escalations, the fire panels' own duty checks alongside, random checks on a schedule, the
 * officers' shifts and handovers, the duty log (./stage.ts, ./schedule.ts, ./places.ts),
 * behind a repository (./repository.ts); their routes (./routes.ts).
 */
export type { CheckedPlace } from './places.ts'
export type { DutyCheckFilter, DutyRepository } from './repository.ts'
export { createPostgresDutyRepository } from './repository-postgres.ts'
export { createSqliteDutyRepository } from './repository-sqlite.ts'
export {
  DutyCheckOut,
  type DutyRoutesDeps,
  dutyCheckView,
  registerDutyRoutes,
  ShiftOut,
  shiftView,
} from './routes.ts'
export { localMidnight, zoneOffsetMs } from './schedule.ts'
export { createDuty, type Duty, type DutyDeps } from './stage.ts'
export {
  ANSWER_WITHIN_S,
  DEFAULT_DUTY_SETTINGS,
  DUTY_CHECK_STATUSES,
  type DutyCheck,
  type DutyCheckEvent,
  type DutyCheckStatus,
  type DutyEvents,
  type DutyLogEntry,
  type DutySettings,
  type PanelCheck,
  type PanelDuty,
  type Shift,
  type ShiftEvent,
} from './types.ts'
