/** Incidents as the API and the stream show them: ISO times, [lon, lat]. */

import type { TProperties } from 'typebox'
import { Type } from 'typebox'
import { iso } from '../shared/index.ts'
import {
  type ClockStamp,
  type Incident,
  LIMITED_CLOCKS,
  type LimitedClock,
  type TimelineEntry,
} from './incidents.ts'
import { INCIDENT_STATUSES } from './lifecycle.ts'
import { CONDITIONS } from './types.ts'

const IsoTime = Type.String({ description: 'ISO 8601 time (UTC)' })
const Status = Type.Enum([...INCIDENT_STATUSES])
const Condition = Type.Enum(Object.keys(CONDITIONS))

export const TimelineEntryOut = Type.Object({
  at: IsoTime,
  type: Type.Enum([
    'opened',
    'status',
    'device',
    'verification',
    'note',
    'offer',
    'reply',
    'escalation',
    'operation',
  ]),
  status: Status,
  from: Type.Optional(Status),
  actor: Type.String({
    description: 'engine, dispatch, officer:<id>, administrator, device:<id> or responder:<id>',
  }),
  reason: Type.String(),
  device: Type.Optional(Type.String()),
  condition: Type.Optional(Condition),
  value: Type.Optional(Type.Number()),
  responder: Type.Optional(Type.String({ description: 'the responder an offer or a reply concerns' })),
})

export const IncidentOut = Type.Object({
  id: Type.String(),
  status: Status,
  cause: Type.Enum(['fire', 'gas']),
  building: Type.Optional(Type.String()),
  community: Type.String(),
  street: Type.String(),
  location: Type.Array(Type.Number(), { description: '[lon, lat]' }),
  openedAt: IsoTime,
  updatedAt: IsoTime,
  alarmAt: Type.Optional(IsoTime),
  acknowledgedAt: Type.Optional(IsoTime),
  confirmedAt: Type.Optional(IsoTime),
  falseAlarmAt: Type.Optional(IsoTime),
  closedAt: Type.Optional(IsoTime),
  resolution: Type.Optional(Type.Enum(['verification_cancelled', 'false_alarm', 'resolved'])),
  verification: Type.Optional(
    Type.Object({ device: Type.String(), condition: Condition, startedAt: IsoTime, deadline: IsoTime }),
  ),
  devices: Type.Array(
    Type.Object({
      device: Type.String(),
      kind: Type.String(),
      conditions: Type.Array(Condition),
      firstAt: IsoTime,
      lastAt: IsoTime,
    }),
  ),
  clocks: Type.Object(
    {
      received: IsoTime,
      shown: Type.Optional(IsoTime),
      acknowledged: Type.Optional(IsoTime),
      confirmed: Type.Optional(IsoTime),
      fire_centre_sent: Type.Optional(IsoTime),
      fire_centre_acked: Type.Optional(IsoTime),
      first_offer: Type.Optional(IsoTime),
      first_accept: Type.Optional(IsoTime),
      first_on_scene: Type.Optional(IsoTime),
    },
    { description: 'the handling clocks (docs/PROTOCOL.md §The monitoring centre’s daily work)' },
  ),
  breaches: Type.Array(
    Type.Object({
      clock: Type.Enum([...LIMITED_CLOCKS]),
      limitS: Type.Number(),
      tookS: Type.Number({ description: 'so far, while the clock still runs' }),
    }),
    { description: 'handling clocks that ran past their limits' },
  ),
  timeline: Type.Optional(Type.Array(TimelineEntryOut)),
})

/** The clocks of an incident, ISO: its own times and the stamps the reports stage adds. */
export function clocksView(
  i: Incident,
): { received: string } & Partial<Record<ClockStamp | 'acknowledged' | 'confirmed', string>> {
  const out: { received: string } & Partial<Record<ClockStamp | 'acknowledged' | 'confirmed', string>> = {
    received: iso(i.openedAt)!,
  }
  if (i.acknowledgedAt !== undefined) out.acknowledged = iso(i.acknowledgedAt)!
  if (i.confirmedAt !== undefined) out.confirmed = iso(i.confirmedAt)!
  for (const [k, v] of Object.entries(i.clocks ?? {})) if (v !== undefined) out[k as ClockStamp] = iso(v)!
  return out
}

export function breachesView(i: Incident): { clock: LimitedClock; limitS: number; tookS: number }[] {
  return (i.breaches ?? []).map((b) => ({ clock: b.clock, limitS: b.limitS, tookS: b.tookS }))
}

/**
 * One incident as GET /api/incidents/{id} shows it: the incident and what later stages add
 * (dispatch's offers, linkage's audit log), whose schemas those stages own and the
 * composition root hands over.
 */
export function incidentDetailOut(extras: TProperties) {
  return Type.Object({ ...IncidentOut.properties, ...extras })
}

export function timelineEntryView(e: TimelineEntry) {
  return { ...e, at: iso(e.at)! }
}

export function incidentView(i: Incident, timeline?: TimelineEntry[]) {
  return {
    id: i.id,
    status: i.status,
    cause: i.cause,
    ...(i.building !== undefined ? { building: i.building } : {}),
    community: i.community,
    street: i.street,
    location: i.location,
    openedAt: iso(i.openedAt)!,
    updatedAt: iso(i.updatedAt)!,
    ...(i.alarmAt !== undefined ? { alarmAt: iso(i.alarmAt) } : {}),
    ...(i.acknowledgedAt !== undefined ? { acknowledgedAt: iso(i.acknowledgedAt) } : {}),
    ...(i.confirmedAt !== undefined ? { confirmedAt: iso(i.confirmedAt) } : {}),
    ...(i.falseAlarmAt !== undefined ? { falseAlarmAt: iso(i.falseAlarmAt) } : {}),
    ...(i.closedAt !== undefined ? { closedAt: iso(i.closedAt) } : {}),
    ...(i.resolution !== undefined ? { resolution: i.resolution } : {}),
    ...(i.verification !== undefined
      ? {
          verification: {
            device: i.verification.device,
            condition: i.verification.condition,
            startedAt: iso(i.verification.startedAt)!,
            deadline: iso(i.verification.deadline)!,
          },
        }
      : {}),
    devices: i.devices.map((d) => ({ ...d, firstAt: iso(d.firstAt)!, lastAt: iso(d.lastAt)! })),
    clocks: clocksView(i),
    breaches: breachesView(i),
    ...(timeline !== undefined ? { timeline: timeline.map(timelineEntryView) } : {}),
  }
}
