/**
 * The alarm engine stage: readings and device events in, device signals and incidents out
 * (./engine.ts), the per-device rules (./rules.ts), the incident lifecycle (./lifecycle.ts)
 * and the incidents behind a repository (./incidents.ts, ./book.ts, ./repository.ts), and the incident and device-health routes.
 */

export { createIncidentBook } from './book.ts'
export {
  type ActiveCondition,
  type AlarmEngine,
  type AlarmEngineDeps,
  createAlarmEngine,
} from './engine.ts'
export type { AlarmEvents, IncidentChangeType, IncidentEvent, SignalEvent } from './events.ts'
export { type DeviceHealthDeps, HEALTH_CACHE_MS, registerDeviceHealthRoute } from './health.ts'
export {
  type ClockBreach,
  type ClockStamp,
  type Incident,
  type IncidentBook,
  type IncidentDevice,
  type IncidentFilter,
  InvalidTransition,
  LIMITED_CLOCKS,
  type LimitedClock,
  newIncidentId,
  type Resolution,
  type TimelineEntry,
  type TimelineType,
  type Verification,
} from './incidents.ts'
export {
  canTransition,
  INCIDENT_STATUSES,
  type IncidentStatus,
  isOpen,
  OFFICER_ACTIONS,
  type OfficerAction,
  OPEN_STATUSES,
  URGENCY,
} from './lifecycle.ts'
export type {
  AlarmRepository,
  ConditionRepository,
  IncidentRepository,
  StoredCondition,
} from './repository.ts'
export { createPostgresAlarmRepository } from './repository-postgres.ts'
export { createSqliteAlarmRepository } from './repository-sqlite.ts'
export { type IncidentRoutesDeps, registerIncidentRoutes } from './routes.ts'
export { evaluateReading, newDetectorMemory } from './rules.ts'
export {
  CONDITIONS,
  type ConditionChange,
  type ConditionSpec,
  type ConditionType,
  type DetectorMemory,
  type RuleReading,
  type SignalClass,
} from './types.ts'
export {
  breachesView,
  clocksView,
  IncidentOut,
  incidentDetailOut,
  incidentView,
  TimelineEntryOut,
  timelineEntryView,
} from './views.ts'
