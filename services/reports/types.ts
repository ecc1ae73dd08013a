/**
 * The duty room's vocabulary: the handling clocks' limits, the events this stage emits, and the
 * daily and monthly report ([docs/PROTOCOL.md §The monitoring centre's daily work]).
 */
import type { Incident, LimitedClock } from '../alarms/index.ts'

/** Each handling clock's limit in seconds (settings FC_CLOCK_*_S; the standards' defaults). */
export interface ClockLimits {
  /** received → shown on a console (GB 50440: 20 s). */
  shownS: number
  /** alarm → acknowledged (NFPA 72 positive alarm sequence: 15 s). */
  acknowledgeS: number
  /** acknowledged → confirmed or declared false (NFPA 72: 90 s). */
  confirmS: number
  /** confirmed → 119 acknowledged the call (GB 50440: 3 s). */
  fireCentreS: number
  /** alarm → first offer to a responder. */
  firstOfferS: number
  /** alarm → first responder on scene (the 5-minute circle: 300 s). */
  onSceneS: number
}

export const DEFAULT_CLOCK_LIMITS: Readonly<ClockLimits> = {
  shownS: 20,
  acknowledgeS: 15,
  confirmS: 90,
  fireCentreS: 3,
  firstOfferS: 90,
  onSceneS: 300,
}

/** An incident's clocks changed (a stamp, a breach): the incident after the change. */
export interface IncidentClocksEvent {
  incident: Incident
  at: number
}

/** What the reports stage tells the other stages (the stream). */
export interface ReportsEvents {
  'incident.clocks': [IncidentClocksEvent]
}

/** A report's scope, as written (`community:<id>`, `street:<name>`, `district`) and parsed. */
export interface ReportScope {
  kind: 'community' | 'street' | 'district'
  id?: string
}

/** Duty checks sent to and missed in a scope over a period (the duty-check stage; zeros until wired). */
export type DutyChecksIn = (
  scope: ReportScope,
  fromMs: number,
  toMs: number,
) => Promise<{ sent: number; missed: number }>

export interface ClockFigures {
  count: number
  p50S: number | null
  p90S: number | null
  maxS: number | null
  limitS: number | null
  breaches: number
}

/** Every report clock: the limited ones and first_accept (no limit). */
export type ReportClock = LimitedClock | 'first_accept'

export interface Report {
  scope: string
  period: 'daily' | 'monthly'
  date?: string
  month?: string
  timeZone: string
  from: string
  to: string
  generatedAt: string
  /** The period is over: the figures are kept and the same every time they are asked for. */
  final: boolean
  incidents: {
    total: number
    byStatus: Record<string, number>
    byOutcome: Record<string, number>
    byClass: Record<string, number>
  }
  /** Officers' false alarms and verifications that cancelled (the work-order count's definition). */
  falseAlarms: {
    total: number
    cancelledByVerification: number
    byCause: Record<string, number>
    bySite: Record<string, number>
  }
  clocks: Record<ReportClock, ClockFigures>
  breaches: { total: number; byClock: Record<string, number> }
  workOrders: { opened: number; verified: number; overdue: number }
  devices: { total: number; offline: number; neverSeen: number }
  dutyChecks: { sent: number; missed: number }
  responders: { onDuty: number; offered: number; accepted: number }
  fiveMinute: { alarms: number; reachedWithin300s: number; share: number | null }
}
