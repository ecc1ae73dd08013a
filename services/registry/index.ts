/**
 * The registry: communities (and the streets they group into), buildings, devices,
 * responders, duty officers and the administrator token, in SQLite, with an in-memory copy
 * of what the hot path reads (devices, responders, buildings, communities) so that the
 * broker and intake look a principal up in O(1). Every write goes to SQLite first and to
 * memory only when the write committed.
 *
 * Secrets are generated here, returned once and stored as salted hashes (./secrets.ts:
 * HMAC-SHA256 for generated 192-bit secrets, scrypt for a chosen administrator token).
 * Bearer tokens for officers are `<officerId>.<random>`: the prefix finds
 * the one hash to check, so a request costs at most one officer check and one administrator
 * check, never one per officer.
 */
import { checkThresholds, DEVICE_KINDS, isDeviceKind } from '../../devices/catalogue.ts'
import { ConfigError } from '../config/index.ts'
import {
  alreadyRegistered,
  type Clock,
  type EventBus,
  invalidInput,
  type Logger,
  notRegistered,
} from '../shared/index.ts'
import type { SqliteDb } from '../state/index.ts'
import { areaM2, checkCommunityGeometry, checkLonLat, createCommunityIndex } from './geo.ts'
import { parseScope } from './scope.ts'
import {
  CHOSEN_SECRET_PARAMS,
  createVerifiedCache,
  dummyGeneratedHash,
  dummyHash,
  generateSecret,
  hashGeneratedSecret,
  hashSecret,
  verifySecret,
} from './secrets.ts'
import {
  type Building,
  type BuildingFilter,
  type BuildingInput,
  type Caller,
  type Community,
  type CommunityInput,
  type Device,
  type DeviceFilter,
  type DeviceInput,
  type DevicePatch,
  type LonLat,
  type Officer,
  type OfficerInput,
  type Page,
  type PageRequest,
  type PrincipalKind,
  RESPONDER_TYPES,
  type Registry,
  type RegistryEvents,
  type Responder,
  type ResponderFilter,
  type ResponderInput,
  type ResponderPatch,
  type ResponderType,
  type SecretCheck,
  TRAVEL_MODES,
  type TravelMode,
} from './types.ts'

export { formatScope, inScope, type Place, parseScope } from './scope.ts'
export * from './types.ts'

export interface RegistryOptions {
  db: SqliteDb
  clock: Clock
  logger: Logger
  events: EventBus<RegistryEvents>
}

/**
 * Ids are MQTT usernames and topic levels (`dev/{id}/telemetry`), so no `/`, `+`, `#` or
 * `$`; they appear in URLs and tokens too. Letters, digits, `_`, `.`, `-`; 1..64 long.
 */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'
const ID_RE = new RegExp(ID_PATTERN)
/** Officer id reserved for the generated administrator token (`admin.<random>`). */
const ADMIN_TOKEN_PREFIX = 'admin'
/** Responder ids that would shadow a route under /api/responders/. */
const RESERVED_RESPONDER_IDS = new Set(['nearby'])
const MAX_TOKEN_LENGTH = 512
const MIN_CONFIGURED_ADMIN_TOKEN = 16

function checkId(id: unknown, what: string): string {
  if (typeof id !== 'string' || !ID_RE.test(id)) {
    throw invalidInput(
      `${what} id ${JSON.stringify(id)} is not valid: use 1-64 letters, digits, "_", "." or "-", starting with a letter or digit`,
    )
  }
  return id
}

function checkText(value: unknown, field: string, max = 200): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw invalidInput(`${field} must be a non-empty string`)
  if (value.length > max) throw invalidInput(`${field} is longer than ${max} characters`)
  return value.trim()
}

function checkPosition(value: unknown, field: string): LonLat {
  const reason = checkLonLat(value, field)
  if (reason) throw invalidInput(reason)
  const [lon, lat] = value as number[]
  return [lon as number, lat as number]
}

function checkFloor(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -20 || value > 300) {
    throw invalidInput('floor must be a whole number between -20 and 300')
  }
  return value
}

function checkWebhook(value: unknown): string {
  const text = checkText(value, 'responsible.webhook', 2048)
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw invalidInput(`responsible.webhook "${text}" is not a URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalidInput(`responsible.webhook must be an http(s) URL, not ${url.protocol}`)
  }
  return url.toString()
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE'
}

// ---- rows

interface CommunityRow {
  id: string
  name: string
  street: string
  geometry: string
  created_at: number
}
interface BuildingRow {
  id: string
  name: string
  lon: number
  lat: number
  community: string
  street: string
  responsible: string
  created_at: number
}
interface DeviceRow {
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
  enabled: number
  created_at: number
}
interface ResponderRow {
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
interface OfficerRow {
  id: string
  name: string
  scope: string
  created_at: number
}

// Hashes stay in SQLite: read one at a time when a secret is checked, never kept in memory.
const DEVICE_COLUMNS =
  'id, kind, building, community, street, lon, lat, floor, gateway, thresholds, enabled, created_at'
const RESPONDER_COLUMNS =
  'id, name, type, mode, lon, lat, on_duty, building, community, street, enabled, created_at'

const lonLat = (lon: number | null, lat: number | null): LonLat | undefined =>
  lon === null || lat === null ? undefined : [lon, lat]

function communityOf(r: CommunityRow): Community {
  return {
    id: r.id,
    name: r.name,
    street: r.street,
    geometry: JSON.parse(r.geometry),
    createdAt: r.created_at,
  }
}
function buildingOf(r: BuildingRow): Building {
  return {
    id: r.id,
    name: r.name,
    location: [r.lon, r.lat],
    community: r.community,
    street: r.street,
    responsible: JSON.parse(r.responsible),
    createdAt: r.created_at,
  }
}
function deviceOf(r: DeviceRow): Device {
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
  return d
}
function responderOf(r: ResponderRow): Responder {
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
function officerOf(r: OfficerRow): Officer {
  return { id: r.id, name: r.name, scope: r.scope, createdAt: r.created_at }
}

export function createRegistry(opts: RegistryOptions): Registry {
  const { db, clock, logger, events } = opts
  const log = logger.child({ stage: 'registry' })

  // ---- memory, loaded once
  const communities = new Map<string, Community>()
  const index = createCommunityIndex()
  const streets = new Set<string>()
  const buildings = new Map<string, Building>()
  const devices = new Map<string, Device>()
  const byBuilding = new Map<string, Set<string>>()
  const responders = new Map<string, Responder>()
  const officers = new Map<string, Officer>()

  for (const r of db.prepare<[], { name: string }>('SELECT name FROM streets').iterate()) streets.add(r.name)
  for (const r of db.prepare<[], CommunityRow>('SELECT * FROM communities').iterate()) {
    const c = communityOf(r)
    communities.set(c.id, c)
    index.add(c.id, c.geometry)
  }
  for (const r of db.prepare<[], BuildingRow>('SELECT * FROM buildings').iterate()) {
    buildings.set(r.id, buildingOf(r))
  }
  const indexDevice = (d: Device) => {
    const set = byBuilding.get(d.building)
    if (set) set.add(d.id)
    else byBuilding.set(d.building, new Set([d.id]))
  }
  for (const r of db.prepare<[], DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices`).iterate()) {
    const d = deviceOf(r)
    devices.set(d.id, d)
    indexDevice(d)
  }
  for (const r of db.prepare<[], ResponderRow>(`SELECT ${RESPONDER_COLUMNS} FROM responders`).iterate()) {
    responders.set(r.id, responderOf(r))
  }
  for (const r of db.prepare<[], OfficerRow>('SELECT id, name, scope, created_at FROM officers').iterate()) {
    officers.set(r.id, officerOf(r))
  }
  log.info(
    {
      communities: communities.size,
      buildings: buildings.size,
      devices: devices.size,
      responders: responders.size,
      officers: officers.size,
    },
    'registry loaded',
  )

  // ---- statements
  const insertStreet = db.prepare('INSERT OR IGNORE INTO streets (name, created_at) VALUES (?, ?)')
  const insertCommunity = db.prepare(
    'INSERT INTO communities (id, name, street, geometry, created_at) VALUES (?, ?, ?, ?, ?)',
  )
  const insertBuilding = db.prepare(
    `INSERT INTO buildings (id, name, lon, lat, community, street, responsible, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  const insertDevice = db.prepare(
    `INSERT INTO devices (id, kind, building, community, street, lon, lat, floor, gateway, thresholds,
       enabled, secret_hash, created_at, updated_at)
     VALUES (@id, @kind, @building, @community, @street, @lon, @lat, @floor, @gateway, @thresholds,
       1, @secret_hash, @created_at, @created_at)`,
  )
  const updateDeviceRow = db.prepare(
    `UPDATE devices SET lon = @lon, lat = @lat, floor = @floor, thresholds = @thresholds, enabled = @enabled,
       updated_at = @updated_at WHERE id = @id`,
  )
  const insertResponder = db.prepare(
    `INSERT INTO responders (id, name, type, mode, lon, lat, on_duty, building, community, street, enabled,
       secret_hash, created_at, updated_at)
     VALUES (@id, @name, @type, @mode, @lon, @lat, @on_duty, @building, @community, @street, 1,
       @secret_hash, @created_at, @created_at)`,
  )
  const updateResponderRow = db.prepare(
    `UPDATE responders SET mode = @mode, lon = @lon, lat = @lat, on_duty = @on_duty, community = @community,
       street = @street, enabled = @enabled, updated_at = @updated_at WHERE id = @id`,
  )
  const insertOfficer = db.prepare(
    'INSERT INTO officers (id, name, scope, token_hash, created_at) VALUES (?, ?, ?, ?, ?)',
  )
  const deviceHash = db.prepare<[string], { secret_hash: string }>(
    'SELECT secret_hash FROM devices WHERE id = ?',
  )
  const responderHash = db.prepare<[string], { secret_hash: string }>(
    'SELECT secret_hash FROM responders WHERE id = ?',
  )
  const officerHash = db.prepare<[string], { token_hash: string }>(
    'SELECT token_hash FROM officers WHERE id = ?',
  )
  const adminHashRow = db.prepare<[], { token_hash: string }>(
    'SELECT token_hash FROM admin_token WHERE id = 1',
  )
  const upsertAdmin = db.prepare(
    `INSERT INTO admin_token (id, token_hash, created_at) VALUES (1, ?, ?)
     ON CONFLICT(id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at`,
  )

  // ---- secrets
  const principalCache = createVerifiedCache()
  const tokenCache = createVerifiedCache()
  let adminHash: string | undefined = adminHashRow.get()?.token_hash
  // Hashes of secrets nobody knows, in the form real ones use: an unknown id or token costs
  // the same check as a known one.
  let dummy: Promise<string> | undefined
  const dummyGenerated = () => {
    dummy ??= Promise.resolve(dummyGeneratedHash())
    return dummy
  }
  let dummyChosen: Promise<string> | undefined
  const dummyForAdmin = () => {
    dummyChosen ??= dummyHash(CHOSEN_SECRET_PARAMS)
    return dummyChosen
  }
  dummyGenerated().catch((err: Error) => log.error({ err: err.message }, 'could not prepare the dummy hash'))

  function idTaken(id: string): string | undefined {
    if (devices.has(id)) return 'a device'
    if (responders.has(id)) return 'a responder'
    return undefined
  }

  /** One page of a table filtered by equality on the given columns; records from memory. */
  function page<T>(
    table: 'devices' | 'buildings' | 'responders',
    filter: Record<string, string | undefined>,
    p: PageRequest,
    pick: (id: string) => T | undefined,
  ): Page<T> {
    const columns = Object.keys(filter).filter((k) => filter[k] !== undefined)
    const params = columns.map((k) => filter[k])
    const where = columns.length ? `WHERE ${columns.map((k) => `${k} = ?`).join(' AND ')}` : ''
    const total = (db.prepare(`SELECT COUNT(*) AS n FROM ${table} ${where}`).get(...params) as { n: number })
      .n
    const rows = db
      .prepare(`SELECT id FROM ${table} ${where} ORDER BY id LIMIT ? OFFSET ?`)
      .all(...params, p.limit, p.offset) as { id: string }[]
    const items: T[] = []
    for (const r of rows) {
      const x = pick(r.id)
      if (x !== undefined) items.push(x)
    }
    return { items, total, limit: p.limit, offset: p.offset }
  }

  function placeOfResponder(building: string | undefined, location: LonLat | undefined) {
    if (building !== undefined) {
      const b = buildings.get(building)
      if (b) return { community: b.community, street: b.street }
    }
    if (location !== undefined) {
      const id = index.locate(location)
      const c = id === undefined ? undefined : communities.get(id)
      if (c) return { community: c.id, street: c.street }
    }
    return { community: undefined, street: undefined }
  }

  function principalKind(id: string): PrincipalKind | undefined {
    const d = devices.get(id)
    if (d) return d.kind === 'gateway' ? 'gateway' : 'device'
    return responders.has(id) ? 'responder' : undefined
  }

  const registry: Registry = {
    // ---- PrincipalDirectory
    async checkSecret(id: string, secret: string): Promise<SecretCheck> {
      const kind = principalKind(id)
      if (kind === undefined) {
        // The same work as for a known id with a wrong secret: the cache check, one lookup of
        // the stored hash (which finds none) and one HMAC, so ids cannot be probed by timing.
        principalCache.matches(id, secret)
        const stored = deviceHash.get(id)?.secret_hash ?? (await dummyGenerated())
        await verifySecret(secret, stored)
        return { ok: false, reason: 'unknown' }
      }
      if (!principalCache.matches(id, secret)) {
        const stored =
          (kind === 'responder' ? responderHash.get(id)?.secret_hash : deviceHash.get(id)?.secret_hash) ??
          (await dummyGenerated())
        if (!(await verifySecret(secret, stored))) return { ok: false, reason: 'wrong_secret' }
      }
      // Read again after the await: the principal may have been disabled meanwhile.
      const enabled = kind === 'responder' ? responders.get(id)?.enabled : devices.get(id)?.enabled
      if (enabled === undefined) return { ok: false, reason: 'unknown' }
      if (!enabled) return { ok: false, reason: 'disabled' }
      principalCache.remember(id, secret)
      return { ok: true, kind }
    },
    device: (id) => devices.get(id),
    responder: (id) => responders.get(id),
    building: (id) => buildings.get(id),

    // ---- reads
    community: (id) => communities.get(id),
    communities: () => [...communities.values()].sort((a, b) => (a.id < b.id ? -1 : 1)),
    communityExtent(id) {
      const areaM2 = index.areaM2(id)
      const bbox = index.bbox(id)
      return areaM2 === undefined || bbox === undefined ? undefined : { areaM2, bbox }
    },
    locate(point) {
      const id = index.locate(point)
      return id === undefined ? undefined : communities.get(id)
    },
    streets: () => [...streets].sort(),
    officer: (id) => officers.get(id),
    officers: () => [...officers.values()].sort((a, b) => (a.id < b.id ? -1 : 1)),
    devicesOfBuilding(building) {
      const ids = byBuilding.get(building)
      if (!ids) return []
      return [...ids].map((id) => devices.get(id)).filter((d): d is Device => d !== undefined)
    },
    allResponders: () => responders.values(),
    allDevices: () => devices.values(),

    // ---- writes
    addCommunity(input: CommunityInput): Community {
      const id = checkId(input.id, 'community')
      const name = checkText(input.name, 'properties.name')
      const street = checkText(input.street, 'properties.street')
      const reason = checkCommunityGeometry(input.geometry)
      if (reason) throw invalidInput(`community ${id}: ${reason}`)
      if (communities.has(id)) throw alreadyRegistered(`community ${id} is already registered`)
      // Only what a geometry is: foreign members (crs, bbox, …) are not kept.
      const given = input.geometry as Community['geometry']
      const geometry = { type: given.type, coordinates: given.coordinates } as Community['geometry']
      if (!(areaM2(geometry) > 0)) throw invalidInput(`community ${id}: the geometry encloses no area`)
      const community: Community = { id, name, street, geometry, createdAt: clock.now() }
      try {
        db.transaction(() => {
          insertStreet.run(street, community.createdAt)
          insertCommunity.run(id, name, street, JSON.stringify(geometry), community.createdAt)
        })()
      } catch (err) {
        if (isUniqueViolation(err)) throw alreadyRegistered(`community ${id} is already registered`)
        throw err
      }
      communities.set(id, community)
      streets.add(street)
      index.add(id, geometry)
      log.info({ community: id, street }, 'community registered')
      return community
    },

    addBuilding(input: BuildingInput): Building {
      const id = checkId(input.id, 'building')
      const name = checkText(input.name, 'name')
      const location = checkPosition(input.location, 'location')
      if (typeof input.responsible !== 'object' || input.responsible === null) {
        throw invalidInput('responsible must be an object {name, phone?, webhook?}')
      }
      const responsible: Building['responsible'] = {
        name: checkText(input.responsible.name, 'responsible.name'),
      }
      if (input.responsible.phone !== undefined) {
        responsible.phone = checkText(input.responsible.phone, 'responsible.phone', 40)
      }
      if (input.responsible.webhook !== undefined)
        responsible.webhook = checkWebhook(input.responsible.webhook)
      if (buildings.has(id)) throw alreadyRegistered(`building ${id} is already registered`)
      const communityId = index.locate(location)
      const community = communityId === undefined ? undefined : communities.get(communityId)
      if (community === undefined) {
        throw invalidInput(
          `building ${id}: the point [${location[0]}, ${location[1]}] lies in no registered community (register the community first, or check that location is [lon, lat])`,
        )
      }
      const building: Building = {
        id,
        name,
        location,
        community: community.id,
        street: community.street,
        responsible,
        createdAt: clock.now(),
      }
      try {
        insertBuilding.run(
          id,
          name,
          location[0],
          location[1],
          community.id,
          community.street,
          JSON.stringify(responsible),
          building.createdAt,
        )
      } catch (err) {
        if (isUniqueViolation(err)) throw alreadyRegistered(`building ${id} is already registered`)
        throw err
      }
      buildings.set(id, building)
      log.info({ building: id, community: community.id }, 'building registered')
      return building
    },

    async addDevice(input: DeviceInput) {
      const id = checkId(input.id, 'device')
      if (!isDeviceKind(input.kind)) {
        throw invalidInput(
          `kind ${JSON.stringify(input.kind)} is not a device kind (known: ${DEVICE_KINDS.join(', ')})`,
        )
      }
      const kind = input.kind
      const building = buildings.get(input.building)
      if (building === undefined)
        throw invalidInput(`building ${JSON.stringify(input.building)} is not registered`)
      const location = input.location === undefined ? undefined : checkPosition(input.location, 'location')
      const floor = input.floor === undefined ? undefined : checkFloor(input.floor)
      if (input.gateway !== undefined) {
        const gw = devices.get(input.gateway)
        if (gw === undefined)
          throw invalidInput(`gateway ${JSON.stringify(input.gateway)} is not a registered device`)
        if (gw.kind !== 'gateway')
          throw invalidInput(`gateway ${input.gateway} is a ${gw.kind} device, not a gateway`)
        if (kind === 'gateway') throw invalidInput('a gateway cannot be carried by another gateway')
      }
      if (input.thresholds !== undefined) {
        const reason = checkThresholds(kind, input.thresholds)
        if (reason) throw invalidInput(reason)
      }
      const taken = idTaken(id)
      if (taken) throw alreadyRegistered(`id ${id} is already registered as ${taken}`)

      const secret = generateSecret()
      const secretHash = hashGeneratedSecret(secret)
      const takenNow = idTaken(id)
      if (takenNow) throw alreadyRegistered(`id ${id} is already registered as ${takenNow}`)
      const device: Device = {
        id,
        kind,
        building: building.id,
        community: building.community,
        street: building.street,
        enabled: true,
        createdAt: clock.now(),
      }
      if (location) device.location = location
      if (floor !== undefined) device.floor = floor
      if (input.gateway !== undefined) device.gateway = input.gateway
      if (input.thresholds !== undefined && Object.keys(input.thresholds).length > 0) {
        device.thresholds = { ...input.thresholds }
      }
      try {
        insertDevice.run({
          id,
          kind,
          building: device.building,
          community: device.community,
          street: device.street,
          lon: location?.[0] ?? null,
          lat: location?.[1] ?? null,
          floor: floor ?? null,
          gateway: device.gateway ?? null,
          thresholds: device.thresholds ? JSON.stringify(device.thresholds) : null,
          secret_hash: secretHash,
          created_at: device.createdAt,
        })
      } catch (err) {
        if (isUniqueViolation(err)) throw alreadyRegistered(`device ${id} is already registered`)
        throw err
      }
      devices.set(id, device)
      indexDevice(device)
      log.info(
        { device: id, kind, building: device.building, community: device.community },
        'device registered',
      )
      return { device, secret }
    },

    updateDevice(id: string, patch: DevicePatch): Device {
      const current = devices.get(id)
      if (current === undefined) throw notRegistered(`device ${id} is not registered`)
      const next: Device = { ...current }
      if (patch.thresholds !== undefined) {
        if (patch.thresholds === null || Object.keys(patch.thresholds).length === 0) delete next.thresholds
        else {
          const reason = checkThresholds(current.kind, patch.thresholds)
          if (reason) throw invalidInput(reason)
          next.thresholds = { ...patch.thresholds }
        }
      }
      if (patch.floor !== undefined) {
        if (patch.floor === null) delete next.floor
        else next.floor = checkFloor(patch.floor)
      }
      if (patch.location !== undefined) {
        if (patch.location === null) delete next.location
        else next.location = checkPosition(patch.location, 'location')
      }
      if (patch.enabled !== undefined) {
        if (typeof patch.enabled !== 'boolean') throw invalidInput('enabled must be true or false')
        next.enabled = patch.enabled
      }
      updateDeviceRow.run({
        id,
        lon: next.location?.[0] ?? null,
        lat: next.location?.[1] ?? null,
        floor: next.floor ?? null,
        thresholds: next.thresholds ? JSON.stringify(next.thresholds) : null,
        enabled: next.enabled ? 1 : 0,
        updated_at: clock.now(),
      })
      devices.set(id, next)
      if (current.enabled && !next.enabled) {
        principalCache.forget(id)
        log.info({ device: id }, 'device disabled')
        events.emit('principal.disabled', id)
      } else if (!current.enabled && next.enabled) {
        log.info({ device: id }, 'device enabled')
      }
      return next
    },

    async addResponder(input: ResponderInput) {
      const id = checkId(input.id, 'responder')
      if (RESERVED_RESPONDER_IDS.has(id)) throw invalidInput(`responder id "${id}" is reserved`)
      const name = checkText(input.name, 'name')
      if (!(RESPONDER_TYPES as readonly string[]).includes(input.type)) {
        throw invalidInput(
          `type ${JSON.stringify(input.type)} is not a responder type (known: ${RESPONDER_TYPES.join(', ')})`,
        )
      }
      if (!(TRAVEL_MODES as readonly string[]).includes(input.mode)) {
        throw invalidInput(
          `mode ${JSON.stringify(input.mode)} is not a travel mode (known: ${TRAVEL_MODES.join(', ')})`,
        )
      }
      if (typeof input.onDuty !== 'boolean') throw invalidInput('onDuty must be true or false')
      const location = input.location === undefined ? undefined : checkPosition(input.location, 'location')
      if (input.building !== undefined && !buildings.has(input.building)) {
        throw invalidInput(`building ${JSON.stringify(input.building)} is not registered`)
      }
      const taken = idTaken(id)
      if (taken) throw alreadyRegistered(`id ${id} is already registered as ${taken}`)

      const secret = generateSecret()
      const secretHash = hashGeneratedSecret(secret)
      const takenNow = idTaken(id)
      if (takenNow) throw alreadyRegistered(`id ${id} is already registered as ${takenNow}`)
      const place = placeOfResponder(input.building, location)
      const responder: Responder = {
        id,
        name,
        type: input.type as ResponderType,
        mode: input.mode as TravelMode,
        onDuty: input.onDuty,
        enabled: true,
        createdAt: clock.now(),
      }
      if (location) responder.location = location
      if (input.building !== undefined) responder.building = input.building
      if (place.community !== undefined) responder.community = place.community
      if (place.street !== undefined) responder.street = place.street
      try {
        insertResponder.run({
          id,
          name,
          type: responder.type,
          mode: responder.mode,
          lon: location?.[0] ?? null,
          lat: location?.[1] ?? null,
          on_duty: responder.onDuty ? 1 : 0,
          building: responder.building ?? null,
          community: responder.community ?? null,
          street: responder.street ?? null,
          secret_hash: secretHash,
          created_at: responder.createdAt,
        })
      } catch (err) {
        if (isUniqueViolation(err)) throw alreadyRegistered(`responder ${id} is already registered`)
        throw err
      }
      responders.set(id, responder)
      log.info(
        { responder: id, type: responder.type, community: responder.community },
        'responder registered',
      )
      events.emit('responder.changed', responder)
      return { responder, secret }
    },

    updateResponder(id: string, patch: ResponderPatch): Responder {
      const current = responders.get(id)
      if (current === undefined) throw notRegistered(`responder ${id} is not registered`)
      const next: Responder = { ...current }
      if (patch.mode !== undefined) {
        if (!(TRAVEL_MODES as readonly string[]).includes(patch.mode)) {
          throw invalidInput(
            `mode ${JSON.stringify(patch.mode)} is not a travel mode (known: ${TRAVEL_MODES.join(', ')})`,
          )
        }
        next.mode = patch.mode as TravelMode
      }
      if (patch.onDuty !== undefined) {
        if (typeof patch.onDuty !== 'boolean') throw invalidInput('onDuty must be true or false')
        next.onDuty = patch.onDuty
      }
      if (patch.enabled !== undefined) {
        if (typeof patch.enabled !== 'boolean') throw invalidInput('enabled must be true or false')
        next.enabled = patch.enabled
      }
      if (patch.location !== undefined) {
        if (patch.location === null) delete next.location
        else next.location = checkPosition(patch.location, 'location')
        const place = placeOfResponder(next.building, next.location)
        if (place.community === undefined) {
          delete next.community
          delete next.street
        } else {
          next.community = place.community
          next.street = place.street
        }
      }
      updateResponderRow.run({
        id,
        mode: next.mode,
        lon: next.location?.[0] ?? null,
        lat: next.location?.[1] ?? null,
        on_duty: next.onDuty ? 1 : 0,
        community: next.community ?? null,
        street: next.street ?? null,
        enabled: next.enabled ? 1 : 0,
        updated_at: clock.now(),
      })
      responders.set(id, next)
      if (current.enabled && !next.enabled) {
        principalCache.forget(id)
        log.info({ responder: id }, 'responder disabled')
        events.emit('principal.disabled', id)
      }
      events.emit('responder.changed', next)
      return next
    },

    async addOfficer(input: OfficerInput) {
      const id = checkId(input.id, 'officer')
      if (id === ADMIN_TOKEN_PREFIX) throw invalidInput(`officer id "${id}" is reserved`)
      const name = checkText(input.name, 'name')
      const scopeText = checkText(input.scope, 'scope', 300)
      const scope = parseScope(scopeText)
      if ('error' in scope) throw invalidInput(scope.error)
      if (scope.level === 'community' && !communities.has(scope.community)) {
        throw invalidInput(`scope ${scopeText}: community ${scope.community} is not registered`)
      }
      if (officers.has(id)) throw alreadyRegistered(`officer ${id} is already registered`)
      const token = `${id}.${generateSecret()}`
      const tokenHash = hashGeneratedSecret(token)
      if (officers.has(id)) throw alreadyRegistered(`officer ${id} is already registered`)
      const officer: Officer = { id, name, scope: scopeText, createdAt: clock.now() }
      try {
        insertOfficer.run(id, name, scopeText, tokenHash, officer.createdAt)
      } catch (err) {
        if (isUniqueViolation(err)) throw alreadyRegistered(`officer ${id} is already registered`)
        throw err
      }
      officers.set(id, officer)
      log.info({ officer: id, scope: scopeText }, 'officer registered')
      return { officer, token }
    },

    // ---- lists (SQL for the filter and the page, memory for the records)
    listDevices(filter: DeviceFilter, p: PageRequest): Page<Device> {
      const { building, community, street, kind, gateway } = filter
      return page('devices', { building, community, street, kind, gateway }, p, (id) => devices.get(id))
    },
    listBuildings(filter: BuildingFilter, p: PageRequest): Page<Building> {
      const { community, street } = filter
      return page('buildings', { community, street }, p, (id) => buildings.get(id))
    },
    listResponders(filter: ResponderFilter, p: PageRequest): Page<Responder> {
      const { community, street, type, building } = filter
      return page('responders', { community, street, type, building }, p, (id) => responders.get(id))
    },

    // ---- bearer tokens
    async authenticate(token: string): Promise<Caller | undefined> {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return undefined
      const dot = token.lastIndexOf('.')
      const officer = dot > 0 ? officers.get(token.slice(0, dot)) : undefined
      const asOfficer = (o: Officer): Caller | undefined => {
        const scope = parseScope(o.scope)
        return 'error' in scope ? undefined : { role: 'officer', officer: o, scope }
      }
      if (officer && tokenCache.matches(`officer:${officer.id}`, token)) return asOfficer(officer)
      if (tokenCache.matches('admin', token)) return { role: 'administrator' }

      // At most two checks (officer HMAC, administrator scrypt), whatever the token: officer (or dummy), then administrator.
      const officerOk = await verifySecret(
        token,
        (officer ? officerHash.get(officer.id)?.token_hash : undefined) ?? (await dummyGenerated()),
      )
      if (officer && officerOk) {
        tokenCache.remember(`officer:${officer.id}`, token)
        return asOfficer(officer)
      }
      const stored = adminHash
      const adminOk = await verifySecret(token, stored ?? (await dummyForAdmin()))
      if (stored !== undefined && adminOk && stored === adminHash) {
        tokenCache.remember('admin', token)
        return { role: 'administrator' }
      }
      return undefined
    },

    async ensureAdminToken(configured?: string): Promise<string | undefined> {
      const existing = adminHashRow.get()?.token_hash
      if (configured !== undefined) {
        if (configured.length < MIN_CONFIGURED_ADMIN_TOKEN) {
          throw new ConfigError('FC_ADMIN_TOKEN', `is shorter than ${MIN_CONFIGURED_ADMIN_TOKEN} characters`)
        }
        if (configured.length > MAX_TOKEN_LENGTH) {
          throw new ConfigError('FC_ADMIN_TOKEN', `is longer than ${MAX_TOKEN_LENGTH} characters`)
        }
        if (/\s/.test(configured)) throw new ConfigError('FC_ADMIN_TOKEN', 'must not contain white space')
        if (existing !== undefined && (await verifySecret(configured, existing))) {
          adminHash = existing
          log.info('administrator token: from FC_ADMIN_TOKEN (unchanged)')
          return undefined
        }
        const hash = await hashSecret(configured, CHOSEN_SECRET_PARAMS)
        upsertAdmin.run(hash, clock.now())
        adminHash = hash
        tokenCache.forget('admin')
        log.info('administrator token: from FC_ADMIN_TOKEN (stored as a salted hash)')
        return undefined
      }
      if (existing !== undefined) {
        adminHash = existing
        return undefined
      }
      const token = `${ADMIN_TOKEN_PREFIX}.${generateSecret()}`
      const hash = hashGeneratedSecret(token)
      upsertAdmin.run(hash, clock.now())
      adminHash = hash
      log.info('administrator token generated at first start; the entry point shows it once')
      return token
    },
  }
  return registry
}
