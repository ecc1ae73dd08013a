/**
 * Incidents: every incident, its devices and its timeline survive a restart (kept through the
 * IncidentRepository, ./repository.ts); the IncidentBook (./book.ts) is how the engine, the
 * HTTP layer and the other stages read and change them.
 */
import { randomBytes } from 'node:crypto'
import type { DeviceKind } from '../../devices/catalogue.ts'
import type { LonLat } from '../registry/index.ts'
import type { IncidentStatus } from './lifecycle.ts'
import type { ConditionType } from './types.ts'

export interface IncidentDevice {
  device: string
  kind: DeviceKind
  /** The alarm conditions this device raised in the incident, in order. */
  conditions: ConditionType[]
  firstAt: number
  lastAt: number
}

export interface Verification {
  device: string
  condition: ConditionType
  startedAt: number
  /** When the alarm is confirmed if the condition persists (the window's end). */
  deadline: number
}

/** `offer`, `reply`, `escalation`: written by the dispatch stage (services/dispatch). */
export type TimelineType =
  | 'opened'
  | 'status'
  | 'device'
  | 'verification'
  | 'note'
  | 'offer'
  | 'reply'
  | 'escalation'
  | 'operation'

export interface TimelineEntry {
  at: number
  type: TimelineType
  /** The status after this entry. */
  status: IncidentStatus
  /** Who did it: `engine`, `officer:<id>`, `administrator`, `device:<id>`. */
  actor: string
  reason: string
  from?: IncidentStatus
  device?: string
  condition?: ConditionType
  value?: number
  /** The responder an offer or a reply concerns. */
  responder?: string
}

export type Resolution = 'verification_cancelled' | 'false_alarm' | 'resolved'

/**
 * The handling clocks an incident's own times do not already give (docs/PROTOCOL.md §The
 * monitoring centre's daily work): when a console first showed it, when 119 was sent and
 * acknowledged, the first offer, acceptance and arrival. Filled by the reports stage from the
 * flows they measure; `received`, `acknowledged` and `confirmed` are the incident's own times.
 */
export type ClockStamp =
  | 'shown'
  | 'fire_centre_sent'
  | 'fire_centre_acked'
  | 'first_offer'
  | 'first_accept'
  | 'first_on_scene'

/** The clocks that have a limit: `shown` (from received), `acknowledged` (from the alarm), …. */
export type LimitedClock =
  | 'shown'
  | 'acknowledged'
  | 'confirmed'
  | 'fire_centre_acked'
  | 'first_offer'
  | 'first_on_scene'

export const LIMITED_CLOCKS: readonly LimitedClock[] = [
  'shown',
  'acknowledged',
  'confirmed',
  'fire_centre_acked',
  'first_offer',
  'first_on_scene',
]

/** A handling clock that ran past its limit: named when it happened (`tookS` grows once it stops). */
export interface ClockBreach {
  clock: LimitedClock
  limitS: number
  tookS: number
  /** When the breach was named. */
  at: number
  /** false while the clock still runs (tookS is the time so far). */
  stopped: boolean
}

export interface Incident {
  id: string
  status: IncidentStatus
  /** `gas` when only gas conditions raised it; `fire` otherwise. */
  cause: 'fire' | 'gas'
  building?: string
  community: string
  street: string
  location: LonLat
  openedAt: number
  updatedAt: number
  alarmAt?: number
  acknowledgedAt?: number
  confirmedAt?: number
  falseAlarmAt?: number
  closedAt?: number
  resolution?: Resolution
  devices: IncidentDevice[]
  verification?: Verification
  clocks?: Partial<Record<ClockStamp, number>>
  breaches?: ClockBreach[]
}

export interface IncidentWithTimeline extends Incident {
  timeline: TimelineEntry[]
}

export interface IncidentFilter {
  /** `open` = verifying, alarm, acknowledged or confirmed. */
  status?: IncidentStatus | 'open'
  community?: string
  street?: string
  building?: string
  /** Opened at or after (ms): the reports' days and months. */
  openedFrom?: number
  /** Opened before (ms). */
  openedBefore?: number
}

export class InvalidTransition extends Error {
  constructor(
    readonly from: IncidentStatus,
    readonly to: IncidentStatus,
  ) {
    super(`an incident in status ${from} cannot become ${to}`)
    this.name = 'InvalidTransition'
  }
}

export function newIncidentId(at: number): string {
  const d = new Date(at)
  const day = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`
  return `inc-${day}-${randomBytes(5).toString('hex')}`
}

/**
 * The incidents as the other stages and the HTTP layer use them: what is open is read from
 * memory at once (`getOpen`, `openForBuilding`, `openIncidents`); anything that may need the
 * database — an incident that is closed, a timeline, a page of the list — and every change is
 * asynchronous, so that a networked database can hold them. Changes to one incident are
 * applied one after another in the order they were asked for.
 */
export interface IncidentBook {
  /** An open incident (verifying, alarm, acknowledged, confirmed), from memory. */
  getOpen(id: string): Incident | undefined
  openForBuilding(building: string): Incident | undefined
  openIncidents(): Incident[]
  /** Any incident, open or closed. */
  get(id: string): Promise<Incident | undefined>
  timeline(id: string): Promise<TimelineEntry[]>
  list(
    filter: IncidentFilter,
    page: { limit: number; offset: number },
  ): Promise<{ items: Incident[]; total: number }>
  open(
    init: Omit<Incident, 'id' | 'updatedAt' | 'devices'> & { devices?: IncidentDevice[] },
    entry: TimelineEntry,
  ): Promise<Incident>
  update(id: string, change: (i: Incident) => void, entries: TimelineEntry[]): Promise<Incident>
  /** A status change; rejects with InvalidTransition when the lifecycle does not allow it. */
  transition(
    id: string,
    to: IncidentStatus,
    entry: Omit<TimelineEntry, 'type' | 'status' | 'from'>,
    change?: (i: Incident) => void,
  ): Promise<{ incident: Incident; entry: TimelineEntry }>
  /**
   * Load the open incidents again, in place of those in memory (in a cluster: when the set of
   * partitions this node owns changed; the engine is stopped around it). Runs after the changes
   * asked for before it.
   */
  reload(): Promise<void>
}
