/**
 * What the console reads from the API ([docs/PROTOCOL.md §HTTP]): the subset of the service's
 * response schemas it uses. The end-to-end test in a real browser keeps the two in step.
 */
import type { IncidentStatus } from '../../alarms/lifecycle.ts'

export type { IncidentStatus }
export type LonLat = [number, number]

export interface Officer {
  id: string
  name: string
  scope: string
}

export type Me = { role: 'administrator' } | { role: 'officer'; officer: Officer }

export interface IncidentDevice {
  device: string
  kind: string
  conditions: string[]
  firstAt: string
  lastAt: string
}

export interface TimelineEntry {
  at: string
  type: string
  status?: IncidentStatus
  from?: IncidentStatus
  actor: string
  reason: string
  device?: string
  responder?: string
  audience?: string
  channel?: string
}

export interface Offer {
  responder: string
  name?: string
  type: string
  mode: string
  eta_s: number
  distance_m: number
  inside: boolean
  state: string
  round: number
  limit_s: number
  offeredAt: string
  expiresAt: string
  answeredAt?: string
  enRouteAt?: string
  onSceneAt?: string
}

export interface LinkageCommand {
  id: string
  device: string
  action: string
  status?: string
  attempts?: number
}

export interface LinkageView {
  audit?: { id: string; purpose: string; audience: string; channel: string; status: string; error?: string }[]
  commands?: LinkageCommand[]
  escalations?: { step: number; deadline: string; audience: string }[]
  timeline?: TimelineEntry[]
}

export interface Incident {
  clocks?: Record<string, string>
  breaches?: { clock: string; limitS: number; tookS: number }[]
  id: string
  status: IncidentStatus
  cause: 'fire' | 'gas'
  building?: string
  community: string
  street: string
  location: LonLat
  openedAt: string
  updatedAt: string
  alarmAt?: string
  acknowledgedAt?: string
  confirmedAt?: string
  devices: IncidentDevice[]
  timeline?: TimelineEntry[]
  offers?: Offer[]
  linkage?: LinkageView
}

export interface Page<T> {
  items: T[]
  total: number
  limit: number
  offset: number
}

export interface CommunityFeature {
  type: 'Feature'
  id: string
  properties: { id: string; name: string; street: string; areaKm2: number; bbox: number[] }
  geometry: { type: 'Polygon' | 'MultiPolygon'; coordinates: unknown }
}

/** GET /api/coverage: the share of buildings an available responder reaches within 300 s. */
export interface Coverage {
  scope: string
  share: number
  communities: { id: string; buildings: number; covered: number; share: number }[]
  uncovered: FeatureCollection<{
    type: 'Feature'
    geometry: { type: 'Point'; coordinates: LonLat }
    properties: { id: string; name: string; community: string }
  }>
}

/** A `coverage` stream event: a community fell below the warning share, or is back. */
export interface CoverageChange {
  community: string
  street: string
  state: 'below' | 'restored'
  share: number
  buildings: number
  covered: number
  threshold: number
  at: string
}

export interface FeatureCollection<F> {
  type: 'FeatureCollection'
  features: F[]
}

export interface Building {
  id: string
  name: string
  location: LonLat
  community: string
  street: string
  responsible: { name: string; phone?: string; webhook?: string }
  /** Its postal address, when registered with one. */
  address?: string
}

export interface Device {
  id: string
  kind: string
  building: string
  community: string
  location?: LonLat
  floor?: number
  gateway?: string
  enabled: boolean
  online: boolean
  lastSeen?: string
  since?: string
  cause?: string
  battery?: number
  testModeUntil?: string
}

export interface CircleFeature {
  type: 'Feature'
  geometry:
    | { type: 'Polygon'; coordinates: LonLat[][] }
    | { type: 'MultiPolygon'; coordinates: LonLat[][][] }
    | { type: 'Point'; coordinates: LonLat }
  properties: {
    mode: string
    radius_m?: number
    limit_s?: number
    id?: string
    name?: string
    type?: string
    eta_s?: number
    distance_m?: number
    /** With a road network: the route's length. */
    road_m?: number
  }
}

export interface Telemetry {
  device: string
  field: string
  unit: string
  points: { ts: string; value: number }[]
}

export interface Signal {
  condition: string
  class: string
  level: string
  since: string
  value?: number
}

export interface HealthCounts {
  devices: number
  online: number
  offline: number
  neverSeen: number
  lowBattery: number
  supervisory: number
  trouble: number
  inAlarm: number
}

export interface DeviceHealth {
  at: string
  totals: HealthCounts
  communities: (HealthCounts & { id: string; name: string; street: string })[]
  problems: {
    total: number
    items: {
      device: string
      kind: string
      building: string
      community: string
      street: string
      online: boolean
      neverSeen: boolean
      since?: string
      lastSeen?: string
      battery?: number
      signals: Signal[]
    }[]
  }
}

/** An `incident` event on the SSE stream. */
export interface IncidentStreamEvent {
  change: 'opened' | 'status' | 'device' | 'verification' | 'operation' | 'clock'
  incident: Incident
  entry?: TimelineEntry
}
