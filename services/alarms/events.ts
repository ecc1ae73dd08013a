/** What the alarm engine tells other stages (dispatch, linkage, the SSE stream). */
import type { DeviceKind } from '../../devices/catalogue.ts'
import type { Incident, TimelineEntry } from './incidents.ts'
import type { ConditionSpec, ConditionType } from './types.ts'

/** A condition starting or clearing on a device: alarm, warning, supervisory or trouble. */
export interface SignalEvent {
  device: string
  kind: DeviceKind
  building: string
  community: string
  street: string
  condition: ConditionType
  class: ConditionSpec['class']
  level: ConditionSpec['level']
  active: boolean
  at: number
  value?: number
  threshold?: number
  /** The incident the condition opened or joined, for alarm-level conditions. */
  incident?: string
  /**
   * false: the state store refused the change (a full disk) — the officers see the alarm from
   * memory at once, no incident could be opened, and the device's message is not acknowledged,
   * so its resend opens the incident once the store takes writes again.
   */
  stored?: false
}

/** `operation`: someone reset, silenced or self-tested a device of the building (a fire panel's report). */
export type IncidentChangeType = 'opened' | 'status' | 'device' | 'verification' | 'operation'

/** An incident opened or changed; `incident` is the state after the change. */
export interface IncidentEvent {
  change: IncidentChangeType
  incident: Incident
  entry: TimelineEntry
}

/** What the alarm engine tells the other stages. */
export interface AlarmEvents {
  /** A device condition started or cleared (alarm, warning, supervisory, trouble). */
  signal: [SignalEvent]
  /** An incident opened or changed (status, a device joined, verification). */
  incident: [IncidentEvent]
  /**
   * A condition raised by a device in test mode: recorded as a test, and nothing else (no
   * stored condition, no incident, no `signal` for the stages that alert or dispatch).
   */
  'test.signal': [SignalEvent]
}
