/**
 * The registry's rows as both repositories read them (services/state/migrations/*: the same
 * columns in SQLite and in PostgreSQL), and the records they make: one mapping, so that the
 * two implementations cannot drift apart. Integers arrive as numbers and JSON documents as
 * text in both (the PostgreSQL queries cast their BIGINT columns for this).
 */
import type {
  Building,
  Community,
  Device,
  LonLat,
  Officer,
  Responder,
  ResponderType,
  TravelMode,
} from './types.ts'

export interface CommunityRow {
  id: string
  name: string
  street: string
  geometry: string
  created_at: number
}
export interface BuildingRow {
  id: string
  name: string
  lon: number
  lat: number
  community: string
  street: string
  responsible: string
  maintenance?: string | null
  address?: string | null
  created_at: number
}
export interface DeviceRow {
  id: string
  kind: string
  building: string
  community: string
  street: string
  lon: number | null
  lat: number | null
  floor: number | null
  gateway: string | null
  thresholds: string | null
  address: string | null
  heartbeat_s: number | null
  dev_eui: string | null
  enabled: number
  created_at: number
}
export interface ResponderRow {
  id: string
  name: string
  type: string
  mode: string
  lon: number | null
  lat: number | null
  on_duty: number
  building: string | null
  community: string | null
  street: string | null
  enabled: number
  created_at: number
}
export interface OfficerRow {
  id: string
  name: string
  scope: string
  created_at: number
}

/** The columns each list may filter on (by equality); nothing else reaches the SQL text. */
export const FILTER_COLUMNS = {
  devices: ['building', 'community', 'street', 'kind', 'gateway'],
  buildings: ['community', 'street'],
  responders: ['community', 'street', 'type', 'building'],
} as const
export type ListTable = keyof typeof FILTER_COLUMNS

export const lonLat = (lon: number | null, lat: number | null): LonLat | undefined =>
  lon === null || lat === null ? undefined : [lon, lat]

export function communityOf(r: CommunityRow): Community {
  return {
    id: r.id,
    name: r.name,
    street: r.street,
    geometry: JSON.parse(r.geometry),
    createdAt: r.created_at,
  }
}
export function buildingOf(r: BuildingRow): Building {
  return {
    id: r.id,
    name: r.name,
    location: [r.lon, r.lat],
    community: r.community,
    street: r.street,
    responsible: JSON.parse(r.responsible),
    ...(r.maintenance ? { maintenance: JSON.parse(r.maintenance) } : {}),
    ...(r.address ? { address: r.address } : {}),
    createdAt: r.created_at,
  }
}
export function deviceOf(r: DeviceRow): Device {
  const d: Device = {
    id: r.id,
    kind: r.kind as Device['kind'],
    building: r.building,
    community: r.community,
    street: r.street,
    enabled: r.enabled === 1,
    createdAt: r.created_at,
  }
  const location = lonLat(r.lon, r.lat)
  if (location) d.location = location
  if (r.floor !== null) d.floor = r.floor
  if (r.gateway !== null) d.gateway = r.gateway
  if (r.thresholds !== null) d.thresholds = JSON.parse(r.thresholds)
  if (r.address !== null) d.address = r.address
  if (r.heartbeat_s !== null) d.heartbeatS = r.heartbeat_s
  if (r.dev_eui !== null) d.devEui = r.dev_eui
  return d
}
/**
 * The columns of a device row in the order `deviceOfValues` reads them (a raw row: an array,
 * not an object per row — a million rows load in a third of the time).
 */
export const DEVICE_VALUE_COLUMNS = [
  'id',
  'kind',
  'building',
  'community',
  'street',
  'lon',
  'lat',
  'floor',
  'gateway',
  'thresholds',
  'enabled',
  'created_at',
  'address',
  'heartbeat_s',
  'dev_eui',
] as const

/**
 * One string object per distinct value: a million devices in a few thousand buildings share
 * their building's, community's, street's and kind's strings instead of holding a copy each.
 */
export function createInterner(): (s: string) => string {
  const seen = new Map<string, string>()
  return (s) => {
    const known = seen.get(s)
    if (known !== undefined) return known
    seen.set(s, s)
    return s
  }
}

/** deviceOf for a raw row in DEVICE_VALUE_COLUMNS order, its repeated strings interned. */
export function deviceOfValues(v: unknown[], intern: (s: string) => string): Device {
  const [id, kind, building, community, street, lon, lat, floor, gateway, thresholds, enabled, createdAt] = v
  return deviceOf({
    id: id as string,
    kind: intern(kind as string),
    building: intern(building as string),
    community: intern(community as string),
    street: intern(street as string),
    lon: lon as number | null,
    lat: lat as number | null,
    floor: floor as number | null,
    gateway: gateway === null ? null : intern(gateway as string),
    thresholds: thresholds as string | null,
    enabled: enabled as number,
    created_at: createdAt as number,
    address: v[12] as string | null,
    heartbeat_s: v[13] as number | null,
    dev_eui: v[14] as string | null,
  })
}

export function responderOf(r: ResponderRow): Responder {
  const x: Responder = {
    id: r.id,
    name: r.name,
    type: r.type as ResponderType,
    mode: r.mode as TravelMode,
    onDuty: r.on_duty === 1,
    enabled: r.enabled === 1,
    createdAt: r.created_at,
  }
  const location = lonLat(r.lon, r.lat)
  if (location) x.location = location
  if (r.building !== null) x.building = r.building
  if (r.community !== null) x.community = r.community
  if (r.street !== null) x.street = r.street
  return x
}
export function officerOf(r: OfficerRow): Officer {
  return { id: r.id, name: r.name, scope: r.scope, createdAt: r.created_at }
}
