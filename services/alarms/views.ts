/** Incidents as the API and the stream show them: ISO times, [lon, lat]. */
import { Type } from 'typebox'
import { OFFER_STATES } from '../dispatch/types.ts'
import type { Incident, TimelineEntry } from './incidents.ts'
import { INCIDENT_STATUSES } from './lifecycle.ts'
import { CONDITIONS } from './types.ts'

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString())
const IsoTime = Type.String({ description: 'ISO 8601 time (UTC)' })
const Status = Type.Enum([...INCIDENT_STATUSES])
const Condition = Type.Enum(Object.keys(CONDITIONS))

export const TimelineEntryOut = Type.Object({
  at: IsoTime,
  type: Type.Enum(['opened', 'status', 'device', 'verification', 'note', 'offer', 'reply', 'escalation']),
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

/** A responder's offer on the incident (services/dispatch), nearest ETA first within each step. */
export const OfferOut = Type.Object({
  responder: Type.String(),
  name: Type.Optional(Type.String()),
  type: Type.String({ description: 'responder type' }),
  mode: Type.String({ description: 'travel mode' }),
  eta_s: Type.Number({ description: 'ETA when offered, seconds, to 0.1' }),
  distance_m: Type.Number({ description: 'straight-line distance when offered, metres, to 0.1' }),
  inside: Type.Boolean({ description: 'inside the circle when offered (a building’s guard may not be)' }),
  state: Type.Enum([...OFFER_STATES]),
  round: Type.Integer({ description: 'the widening step it was offered at (0: the 5-minute circle)' }),
  limit_s: Type.Number({ description: 'the circle’s limit at that step, seconds' }),
  offeredAt: IsoTime,
  expiresAt: IsoTime,
  answeredAt: Type.Optional(IsoTime),
  enRouteAt: Type.Optional(IsoTime),
  onSceneAt: Type.Optional(IsoTime),
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
  timeline: Type.Optional(Type.Array(TimelineEntryOut)),
  offers: Type.Optional(Type.Array(OfferOut, { description: 'responders offered the incident (dispatch)' })),
  linkage: Type.Optional(
    Type.Object(
      {
        audit: Type.Array(Type.Unknown(), { description: 'every notification with its outcome' }),
        commands: Type.Array(Type.Unknown(), { description: 'linked-device commands and their state' }),
        escalations: Type.Array(Type.Unknown(), { description: 'escalations still pending' }),
        timeline: Type.Array(Type.Unknown(), { description: 'alerts, escalations, forwarding, commands' }),
      },
      { description: 'what linkage did: GET /api/linkage/incidents/{id} has the full schema' },
    ),
  ),
})

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
    ...(timeline !== undefined ? { timeline: timeline.map(timelineEntryView) } : {}),
  }
}
