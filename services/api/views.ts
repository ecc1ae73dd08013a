/** Registry records as the API shows them: times as ISO 8601, no secrets, live state attached. */
import type { Static } from 'typebox'
import type { DeviceLiveState } from '../liveness/index.ts'
import type { Building, Community, Device, Officer, Registry, Responder } from '../registry/index.ts'
import { iso } from '../shared/index.ts'
import type {
  BuildingOut,
  CommunityOut,
  CommunitySummary,
  DeviceOut,
  LiveState,
  OfficerOut,
  ResponderOut,
} from './schemas.ts'

export function communitySummary(
  c: Community,
  registry: Pick<Registry, 'communityExtent'>,
): Static<typeof CommunitySummary> {
  const extent = registry.communityExtent(c.id)
  return {
    id: c.id,
    name: c.name,
    street: c.street,
    areaKm2: Math.round(((extent?.areaM2 ?? 0) / 1e6) * 1000) / 1000,
    bbox: extent?.bbox ?? [],
    createdAt: iso(c.createdAt),
  }
}

export function communityFeature(
  c: Community,
  registry: Pick<Registry, 'communityExtent'>,
): Static<typeof CommunityOut> {
  return {
    type: 'Feature',
    id: c.id,
    properties: communitySummary(c, registry),
    geometry: { type: c.geometry.type, coordinates: c.geometry.coordinates as unknown[] },
  }
}

export function buildingView(b: Building): Static<typeof BuildingOut> {
  return {
    id: b.id,
    name: b.name,
    location: b.location,
    community: b.community,
    street: b.street,
    responsible: b.responsible,
    ...(b.maintenance !== undefined ? { maintenance: b.maintenance } : {}),
    ...(b.address !== undefined ? { address: b.address } : {}),
    createdAt: iso(b.createdAt),
  }
}

export function liveStateView(s: DeviceLiveState | undefined): Static<typeof LiveState> {
  if (s === undefined) return { online: false }
  const out: Static<typeof LiveState> = { online: s.online }
  if (s.lastSeen !== undefined) out.lastSeen = iso(s.lastSeen)
  if (s.since !== undefined) out.since = iso(s.since)
  if (s.cause !== undefined) out.cause = s.cause
  if (s.battery !== undefined) out.battery = s.battery
  if (s.rssi !== undefined) out.rssi = s.rssi
  if (s.lastRejection !== undefined) {
    const r = s.lastRejection
    out.lastRejection = { at: iso(r.at), topic: r.topic, reason: r.reason, message: r.message }
  }
  if (s.lastClockWarning !== undefined) {
    out.lastClockWarning = { at: iso(s.lastClockWarning.at), deviceTs: iso(s.lastClockWarning.deviceTs) }
  }
  return out
}

/** What the maintenance stage knows of a device's tests (times in ms). */
export type DeviceTests = (device: string) => {
  lastTest?: { at: number; signal: string }
  testModeUntil?: number
  /** No test signal in the last 31 days (nor since it was registered, if that is longer ago). */
  monthlyTestDue?: boolean
}

export function deviceView(
  d: Device,
  state: DeviceLiveState | undefined,
  tests?: ReturnType<DeviceTests>,
): Static<typeof DeviceOut> {
  const out: Static<typeof DeviceOut> = {
    id: d.id,
    kind: d.kind,
    building: d.building,
    community: d.community,
    street: d.street,
    enabled: d.enabled,
    createdAt: iso(d.createdAt),
    ...liveStateView(state),
  }
  if (d.location) out.location = d.location
  if (d.floor !== undefined) out.floor = d.floor
  if (d.gateway !== undefined) out.gateway = d.gateway
  if (d.thresholds !== undefined) out.thresholds = d.thresholds
  if (d.address !== undefined) out.address = d.address
  if (d.heartbeatS !== undefined) out.heartbeatS = d.heartbeatS
  if (d.devEui !== undefined) out.devEui = d.devEui
  if (tests?.lastTest !== undefined)
    out.lastTest = { at: iso(tests.lastTest.at), signal: tests.lastTest.signal }
  if (tests?.testModeUntil !== undefined) out.testModeUntil = iso(tests.testModeUntil)
  if (tests?.monthlyTestDue !== undefined) out.monthlyTestDue = tests.monthlyTestDue
  return out
}

export function responderView(r: Responder): Static<typeof ResponderOut> {
  const out: Static<typeof ResponderOut> = {
    id: r.id,
    name: r.name,
    type: r.type,
    mode: r.mode,
    onDuty: r.onDuty,
    enabled: r.enabled,
    createdAt: iso(r.createdAt),
  }
  if (r.location) out.location = r.location
  if (r.building !== undefined) out.building = r.building
  if (r.community !== undefined) out.community = r.community
  if (r.street !== undefined) out.street = r.street
  return out
}

export function officerView(o: Officer): Static<typeof OfficerOut> {
  return { id: o.id, name: o.name, scope: o.scope, createdAt: iso(o.createdAt) }
}
