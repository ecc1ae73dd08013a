/**
 * The kernel every stage may import: the injected clock, domain errors, the event bus,
 * the logger and the one time format. It imports no stage.
 */
export { type Clock, createManualClock, type ManualClock, systemClock, type Timer } from './clock.ts'
export {
  type ConnectionGate,
  type ConnectionLimits,
  type ConnectionMetrics,
  createConnectionGate,
  createConnectionMetrics,
  type ListenerName,
  watchAcceptErrors,
} from './connection-gate.ts'
export { csvField } from './csv.ts'
export {
  alreadyRegistered,
  type DomainCode,
  DomainError,
  deviceNotConnected,
  deviceTimeout,
  invalidInput,
  notAuthenticated,
  notPermitted,
  notRegistered,
  outOfScope,
  stateConflict,
  storeUnavailable,
} from './errors.ts'
export { createEventBus, type EventBus, type EventMap } from './events.ts'
export { createLogger, type Logger } from './log.ts'
export { createQuietLog, type QuietLog, type QuietLogOptions } from './quiet-log.ts'
export { createSerialQueue, type SerialQueue } from './serial.ts'
export { iso, type LocalTime, localTimeIn, msOfLocalTime } from './time.ts'
export { bundleWebApp, type WebBundle } from './web-bundle.ts'
