import type { MultiPolygon, Polygon } from 'geojson'
import type { DeviceKind } from '../../devices/catalogue.ts'

export type LonLat = [number, number]

export const RESPONDER_TYPES = ['micro_station', 'fire_station', 'grid_staff', 'security_guard', 'volunteer'] as const
export type ResponderType = (typeof RESPONDER_TYPES)[number]
export const TRAVEL_MODES = ['foot', 'bicycle', 'motor'] as const
export type TravelMode = (typeof TRAVEL_MODES)[number]

export interface Community {
  id: string
  name: string
  street: string
  geometry: Polygon | MultiPolygon
  createdAt: number
}

export interface Building {
  id: string
  name: string
  location: LonLat
  community: string
  street: string
  responsible: { name: string; phone?: string; webhook?: string }
  createdAt: number
}

export interface Device {
  id: string
  kind: DeviceKind
  building: string
  community: string
  street: string
  location?: LonLat
  floor?: number
  /** The gateway that carries this device's readings, if any. */
  gateway?: string
  thresholds?: Record<string, number>
  enabled: boolean
  createdAt: number
}

export interface Responder {
  id: string
  name: string
  type: ResponderType
  mode: TravelMode
  location?: LonLat
  onDuty: boolean
  building?: string
  enabled: boolean
  createdAt: number
}

export type OfficerScope = { level: 'district' } | { level: 'street'; street: string } | { level: 'community'; community: string }

export interface Officer {
  id: string
  name: string
  /** As written in the API: "district" | "street:<name>" | "community:<id>". */
  scope: string
  createdAt: number
}

/** MQTT principals: devices (gateways are devices of kind `gateway`) and responders. */
export type PrincipalKind = 'device' | 'gateway' | 'responder'

export type SecretCheck =
  | { ok: true; kind: PrincipalKind }
  | { ok: false; reason: 'unknown' | 'wrong_secret' | 'disabled' }

/** What the broker and intake need from the registry: fast, in-memory lookups. */
export interface PrincipalDirectory {
  /** Constant-time check of an MQTT password against the stored salted scrypt hash. */
  checkSecret(id: string, secret: string): Promise<SecretCheck>
  device(id: string): Device | undefined
  responder(id: string): Responder | undefined
  building(id: string): Building | undefined
}
