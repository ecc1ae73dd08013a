/**
 * What the registry keeps, in its own words: every record, the salted hashes of the
 * principals' secrets and of the officers' and administrator's tokens, and the paged
 * queries behind the lists. Every method returns a Promise, so that a networked database
 * can sit behind it.
 *
 * Hashes are read one at a time when a secret is checked and never loaded with the rest.
 * An insert resolves `false` when a record with that id is already stored (the registry
 * answers `already_registered`); devices and responders share one space of ids (their MQTT
 * usernames), so a device's id held by a responder is taken too, and the other way round —
 * checked in the database, where nodes of a cluster registering at once meet. Any other
 * failure rejects.
 *
 * SQLite is one implementation (./repository-sqlite.ts), PostgreSQL the other
 * (./repository-postgres.ts, a cluster's): both read and write the same rows, and order ids by
 * their bytes (SQLite's BINARY, PostgreSQL's "C"), so that a page is the same page on either.
 */
import type {
  Building,
  BuildingFilter,
  Community,
  Device,
  DeviceFilter,
  Officer,
  PageRequest,
  Responder,
  ResponderFilter,
} from './types.ts'

/** Everything the registry holds in memory, as read at start. */
export interface RegistrySnapshot {
  streets: string[]
  communities: Community[]
  buildings: Building[]
  devices: Device[]
  responders: Responder[]
  officers: Officer[]
}

/**
 * The stored devices a slice at a time in storage order, and one by one meanwhile, both
 * synchronous: what a repository whose reads settle at once (SQLite) offers so that the
 * registry is ready before a million devices are in memory (./device-table.ts).
 */
export interface DeviceSlices {
  /** The next stored devices after the last slice, at most `limit`; fewer once all are read. */
  next(limit: number): Device[]
  /** One device as stored now, or undefined. */
  device(id: string): Device | undefined
}

/** One page of ids in id order, and how many records match the filter. */
export interface IdPage {
  ids: string[]
  total: number
}

/** The principals whose secrets are stored (a gateway is a device). */
export type SecretHolder = 'device' | 'responder'

export interface RegistryRepository {
  /** Every record; with `{ devices: false }` no device (they are read by `deviceSlices` then). */
  load(options?: { devices: boolean }): Promise<RegistrySnapshot>
  /** A repository that reads synchronously: its devices in slices (see DeviceSlices). */
  deviceSlices?(): DeviceSlices

  // One record as stored now, or undefined: how a node of a cluster keeps its memory true
  // when another node wrote (Registry.refresh).
  hasStreet(name: string): Promise<boolean>
  community(id: string): Promise<Community | undefined>
  building(id: string): Promise<Building | undefined>
  device(id: string): Promise<Device | undefined>
  /** The stored ones of these devices (a bulk registration on another node), in no order. */
  devices(ids: readonly string[]): Promise<Device[]>
  responder(id: string): Promise<Responder | undefined>
  officer(id: string): Promise<Officer | undefined>

  /** The community and its street (kept once, whatever the number of its communities). */
  insertCommunity(community: Community): Promise<boolean>
  insertBuilding(building: Building): Promise<boolean>
  insertDevice(device: Device, secretHash: string): Promise<boolean>
  /**
   * Many devices in one transaction (a bulk registration's batch); resolves the ids NOT stored
   * because they were taken meanwhile (by a device or a responder, an address or DevEUI by a
   * device): those rows are written nowhere, the others are.
   */
  insertDevices(rows: readonly { device: Device; secretHash: string }[]): Promise<Set<string>>
  /** Location, floor, thresholds and enabled of a stored device. */
  updateDevice(device: Device, updatedAt: number): Promise<void>
  insertResponder(responder: Responder, secretHash: string): Promise<boolean>
  /** Mode, location, duty, community, street and enabled of a stored responder. */
  updateResponder(responder: Responder, updatedAt: number): Promise<void>
  insertOfficer(officer: Officer, tokenHash: string): Promise<boolean>

  secretHash(holder: SecretHolder, id: string): Promise<string | undefined>
  officerTokenHash(id: string): Promise<string | undefined>
  adminTokenHash(): Promise<string | undefined>
  /** Replaces the administrator token's hash (there is one administrator token). */
  storeAdminTokenHash(hash: string, at: number): Promise<void>

  deviceIds(filter: DeviceFilter, page: PageRequest): Promise<IdPage>
  buildingIds(filter: BuildingFilter, page: PageRequest): Promise<IdPage>
  responderIds(filter: ResponderFilter, page: PageRequest): Promise<IdPage>
}
