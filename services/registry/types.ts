import type { MultiPolygon, Polygon } from 'geojson'
import type { DeviceKind } from '../../devices/catalogue.ts'
import type { DomainError } from '../shared/index.ts'

export type LonLat = [number, number]

export const RESPONDER_TYPES = [
  'micro_station',
  'fire_station',
  'grid_staff',
  'security_guard',
  'volunteer',
] as const
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
  /** Who repairs the building's devices: its work orders are assigned to this party at once. */
  maintenance?: MaintenanceParty
  /** Its postal address, shown to responders in an offer. */
  address?: string
  createdAt: number
}

/** A building's maintenance contractor (维保单位). */
export interface MaintenanceParty {
  name: string
  phone?: string
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
  /** A `uitd`'s GB/T 26875.3 source address: 12 lowercase hex digits, most significant first. */
  address?: string
  /** A `uitd`'s heartbeat interval (s); 3 × this without a frame = offline. */
  heartbeatS?: number
  /** A LoRaWAN device's DevEUI (16 lowercase hex digits), as its ChirpStack integration names it. */
  devEui?: string
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
  /** Derived: the building's community, else the one holding `location`; none when neither. */
  community?: string
  street?: string
  enabled: boolean
  createdAt: number
}

export type OfficerScope =
  | { level: 'district' }
  | { level: 'street'; street: string }
  | { level: 'community'; community: string }

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
  /** Constant-time check of an MQTT password against the stored salted hash (HMAC-SHA256 for generated secrets, scrypt for older or chosen ones). */
  checkSecret(id: string, secret: string): Promise<SecretCheck>
  device(id: string): Device | undefined
  responder(id: string): Responder | undefined
  building(id: string): Building | undefined
}

// ---- Management: what the API (and the composition root) use on top of PrincipalDirectory.

export interface CommunityInput {
  id: string
  name: string
  street: string
  /** A GeoJSON Polygon or MultiPolygon; validated by the registry (closed rings, ranges). */
  geometry: unknown
}

export interface BuildingInput {
  id: string
  name: string
  location: LonLat
  responsible: { name: string; phone?: string; webhook?: string }
  maintenance?: MaintenanceParty
  address?: string
}

export interface DeviceInput {
  id: string
  kind: string
  building: string
  location?: LonLat
  floor?: number
  gateway?: string
  thresholds?: Record<string, number>
  address?: string
  heartbeatS?: number
  devEui?: string
}

/** One input of `Registry.addDevices`: registered with its secret, or rejected with why. */
export type DeviceRegistration = { device: Device; secret: string } | { rejected: DomainError }

/** `null` clears an optional field. */
export interface DevicePatch {
  thresholds?: Record<string, number> | null
  enabled?: boolean
  floor?: number | null
  location?: LonLat | null
}

export interface ResponderInput {
  id: string
  name: string
  type: string
  mode: string
  location?: LonLat
  onDuty: boolean
  building?: string
}

export interface ResponderPatch {
  onDuty?: boolean
  mode?: string
  location?: LonLat | null
  enabled?: boolean
}

export interface OfficerInput {
  id: string
  name: string
  scope: string
}

/** Who is calling the HTTP API, from a bearer token. */
export type Caller = { role: 'administrator' } | { role: 'officer'; officer: Officer; scope: OfficerScope }

export interface PageRequest {
  limit: number
  offset: number
}

export interface Page<T> {
  items: T[]
  total: number
  limit: number
  offset: number
}

export interface DeviceFilter {
  building?: string
  community?: string
  street?: string
  kind?: string
  gateway?: string
}

export interface BuildingFilter {
  community?: string
  street?: string
}

export interface ResponderFilter {
  community?: string
  street?: string
  type?: string
  building?: string
}

/** The registry: PrincipalDirectory for the broker and intake, plus management for the API. */
export interface Registry extends PrincipalDirectory {
  community(id: string): Community | undefined
  communities(): Community[]
  /** Area in m² and [minLon, minLat, maxLon, maxLat] of a registered community. */
  communityExtent(id: string): { areaM2: number; bbox: [number, number, number, number] } | undefined
  /** The community holding a point (smallest wins where polygons overlap), if any. */
  locate(point: LonLat): Community | undefined
  streets(): string[]
  officer(id: string): Officer | undefined
  officers(): Officer[]
  /** Devices registered in a building (e.g. its sounders and gas valves), O(devices there). */
  devicesOfBuilding(building: string): Device[]
  /** Every responder (for the dispatch stage's spatial index). */
  allResponders(): IterableIterator<Responder>
  /** Responders assigned to a building (e.g. its security guards), in id order, O(responders there). */
  respondersOfBuilding(building: string): Responder[]
  /** Every device (the console's device health summary walks them once per request). */
  allDevices(): IterableIterator<Device>
  /**
   * While a start still reads devices in the background: resolves once all are in memory
   * (`device` and `allDevices` answer for all of them meanwhile, reading what they need);
   * undefined once they are.
   */
  devicesLoading(): Promise<void> | undefined

  addCommunity(input: CommunityInput): Promise<Community>
  addBuilding(input: BuildingInput): Promise<Building>
  addDevice(input: DeviceInput): Promise<{ device: Device; secret: string }>
  /**
   * Register many devices as `addDevice` would one by one, in input order, stored in one
   * transaction (POST /api/devices/bulk: a few thousand a call). Each input answers on its own:
   * registered with its secret, or rejected (invalid, unknown building, id taken — also by an
   * earlier input of the same call) and then written nowhere; the others are stored.
   */
  addDevices(inputs: readonly DeviceInput[]): Promise<DeviceRegistration[]>
  updateDevice(id: string, patch: DevicePatch): Promise<Device>
  addResponder(input: ResponderInput): Promise<{ responder: Responder; secret: string }>
  updateResponder(id: string, patch: ResponderPatch): Promise<Responder>
  addOfficer(input: OfficerInput): Promise<{ officer: Officer; token: string }>

  listDevices(filter: DeviceFilter, page: PageRequest): Promise<Page<Device>>
  listBuildings(filter: BuildingFilter, page: PageRequest): Promise<Page<Building>>
  listResponders(filter: ResponderFilter, page: PageRequest): Promise<Page<Responder>>

  /** The caller a bearer token belongs to, or undefined. Constant-time, salted-hash checked. */
  authenticate(token: string): Promise<Caller | undefined>
  /**
   * Make sure an administrator token exists. With `configured` (FC_ADMIN_TOKEN) that is the
   * token. Without, one is generated at first start and returned (once) for the entry point
   * to print; later starts return undefined.
   */
  ensureAdminToken(configured?: string): Promise<string | undefined>

  /**
   * Read one record again from the repository after another node of a cluster wrote it (the
   * `registry.changed` that node emitted) and change memory as the local write did there,
   * with the same local events (`responder.changed`, `principal.disabled`) but never
   * `registry.changed` (no echo between nodes). A record that is gone, or unchanged: nothing
   * happens.
   */
  refresh(change: RegistryChange): Promise<void>
}

/** What the registry keeps, one kind of record per value (the administrator token is one). */
export const REGISTRY_ENTITIES = [
  'street',
  'community',
  'building',
  'device',
  'responder',
  'officer',
  'admin_token',
] as const
export type RegistryEntity = (typeof REGISTRY_ENTITIES)[number]

/**
 * One record a write changed: what another node reads again to stay true (Registry.refresh).
 * A community's write names the community only; its street comes with it when refreshed.
 */
export interface RegistryChange {
  entity: RegistryEntity
  /** The record's id (a street's name; `admin` for the administrator token). */
  id: string
  /**
   * A write of many records of the entity at once (a bulk registration of devices): all their
   * ids, `id` the first. At most MAX_CHANGE_IDS.
   */
  ids?: string[]
}

/** The most ids one RegistryChange names (a batch of POST /api/devices/bulk is smaller). */
export const MAX_CHANGE_IDS = 10_000

/** What the registry tells the other stages. */
export interface RegistryEvents {
  /** A device, gateway or responder was disabled: its MQTT connection must close. */
  'principal.disabled': [string]
  /** A responder was registered or changed (duty, mode, registered location, enabled). */
  'responder.changed': [Responder]
  /**
   * A write of this node's registry succeeded (after the record is stored and in memory):
   * what a cluster relays to the other nodes, for their `Registry.refresh`. Not emitted by
   * `refresh` itself.
   */
  'registry.changed': [RegistryChange]
}
