/**
 * What receivers get: the incident as the responsible party, the officers and the fire
 * command centre (119) see it. Pure; times are ISO 8601, coordinates [lon, lat].
 */
import type { Incident, SignalEvent } from '../alarms/index.ts'
import type { Building } from '../registry/index.ts'

import { iso } from '../shared/index.ts'

export function incidentSummary(i: Incident, building?: Building): Record<string, unknown> {
  return {
    id: i.id,
    status: i.status,
    cause: i.cause,
    community: i.community,
    street: i.street,
    location: i.location,
    openedAt: iso(i.openedAt),
    ...(i.alarmAt !== undefined ? { alarmAt: iso(i.alarmAt) } : {}),
    ...(i.confirmedAt !== undefined ? { confirmedAt: iso(i.confirmedAt) } : {}),
    devices: i.devices.map((d) => ({ device: d.device, kind: d.kind, conditions: d.conditions })),
    ...(building !== undefined
      ? { building: { id: building.id, name: building.name, location: building.location } }
      : i.building !== undefined
        ? { building: { id: i.building } }
        : {}),
  }
}

export function describeIncident(i: Incident, building?: Building): string {
  const what = i.cause === 'gas' ? 'Gas alarm' : 'Fire alarm'
  const where = building ? `${building.name} (${building.id})` : (i.building ?? `[${i.location.join(', ')}]`)
  return `${what} at ${where}, community ${i.community}`
}

/** The body of the 119 webhook: the incident, the building and who answers for it. */
export function fireCentrePayload(i: Incident, building?: Building): Record<string, unknown> {
  return {
    incident: incidentSummary(i, building),
    ...(building !== undefined
      ? {
          responsible: {
            name: building.responsible.name,
            ...(building.responsible.phone !== undefined ? { phone: building.responsible.phone } : {}),
          },
        }
      : {}),
    message: `Confirmed ${i.cause === 'gas' ? 'gas emergency' : 'fire'}: ${describeIncident(i, building)}`,
  }
}

export function warningPayload(s: SignalEvent, building?: Building): Record<string, unknown> {
  return {
    warning: {
      device: s.device,
      kind: s.kind,
      condition: s.condition,
      at: iso(s.at),
      ...(s.value !== undefined ? { value: s.value } : {}),
      ...(s.threshold !== undefined ? { threshold: s.threshold } : {}),
      community: s.community,
      street: s.street,
    },
    ...(building !== undefined ? { building: { id: building.id, name: building.name } } : {}),
    message: `Electrical fire warning at ${building?.name ?? s.building}: ${s.condition.replace('electrical_', '').replace('_', ' ')}${s.value !== undefined ? ` ${s.value}` : ''}${s.threshold !== undefined ? ` (threshold ${s.threshold})` : ''}. Power is not cut automatically; please inspect.`,
  }
}
