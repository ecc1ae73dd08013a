/**
 * The registry's repository in SQLite (tables of services/state/migrations/state/), the only
 * registry file that touches SQLite. better-sqlite3 works synchronously: every method does
 * its work at once and returns a settled promise.
 */
import type { Statement } from 'better-sqlite3'
import type { SqliteDb } from '../state/index.ts'
import type {
  DeviceSlices,
  IdPage,
  RegistryRepository,
  RegistrySnapshot,
  SecretHolder,
} from './repository.ts'
import {
  type BuildingRow,
  buildingOf,
  type CommunityRow,
  communityOf,
  createInterner,
  DEVICE_VALUE_COLUMNS,
  type DeviceRow,
  deviceOf,
  deviceOfValues,
  FILTER_COLUMNS,
  type ListTable,
  type OfficerRow,
  officerOf,
  type ResponderRow,
  responderOf,
} from './rows.ts'
import type { Community, Device, PageRequest } from './types.ts'

// Hashes are not loaded with the records: read one at a time when a secret is checked.
// A device's links (services/state/migrations/state/002_panels.sql), beside its row.
const LINK_COLUMNS = ['address', 'heartbeat_s', 'dev_eui']
  .map((c) => `(SELECT ${c} FROM device_links l WHERE l.device = devices.id) AS ${c}`)
  .join(', ')
const DEVICE_COLUMNS = `id, kind, building, community, street, lon, lat, floor, gateway, thresholds, enabled, created_at, ${LINK_COLUMNS}`
const RESPONDER_COLUMNS =
  'id, name, type, mode, lon, lat, on_duty, building, community, street, enabled, created_at'

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE'
}

/**
 * Run an insert: true when stored, false when the id is taken (a unique violation, or no row
 * inserted: a principal's id held by the other kind of principal); other errors propagate.
 */
function inserted(run: () => { changes: number }): boolean {
  try {
    return run().changes > 0
  } catch (err) {
    if (isUniqueViolation(err)) return false
    throw err
  }
}

const one = <R, T>(row: R | undefined, of: (r: R) => T): T | undefined =>
  row === undefined ? undefined : of(row)

/**
 * The devices a slice at a time in rowid order (keyset: each slice starts after the last one's
 * rowid, so reading a million costs O(n) in all): raw rows (arrays) with their links joined
 * once, repeated strings interned (bench/million.ts: a million devices, what a restart reads).
 */
function deviceSlicesOf(db: SqliteDb, device: Statement<[string], DeviceRow>): DeviceSlices {
  const columns = DEVICE_VALUE_COLUMNS.map((c) =>
    c === 'address' || c === 'heartbeat_s' || c === 'dev_eui' ? `l.${c}` : `d.${c}`,
  ).join(', ')
  const slice = db
    .prepare<[number, number], unknown[]>(
      `SELECT ${columns}, d.rowid FROM devices d LEFT JOIN device_links l ON l.device = d.id
       WHERE d.rowid > ? ORDER BY d.rowid LIMIT ?`,
    )
    .raw(true)
  const rowidAt = DEVICE_VALUE_COLUMNS.length
  const intern = createInterner()
  let after = Number.MIN_SAFE_INTEGER
  return {
    next(limit) {
      const rows = slice.all(after, limit)
      const last = rows[rows.length - 1]
      if (last !== undefined) after = last[rowidAt] as number
      return rows.map((r) => deviceOfValues(r, intern))
    },
    device: (id) => one(device.get(id), deviceOf),
  }
}

function loadAll(db: SqliteDb, slices: () => DeviceSlices, withDevices: boolean): RegistrySnapshot {
  const all = <R, T>(sql: string, of: (r: R) => T): T[] => {
    const out: T[] = []
    for (const r of db.prepare<[], R>(sql).iterate()) out.push(of(r))
    return out
  }
  const devices: Device[] = []
  if (withDevices) {
    const s = slices()
    for (let slice = s.next(10_000); slice.length > 0; slice = s.next(10_000)) devices.push(...slice)
  }
  return {
    streets: all<{ name: string }, string>('SELECT name FROM streets', (r) => r.name),
    communities: all('SELECT * FROM communities', communityOf),
    buildings: all('SELECT * FROM buildings', buildingOf),
    devices,
    responders: all(`SELECT ${RESPONDER_COLUMNS} FROM responders`, responderOf),
    officers: all('SELECT id, name, scope, created_at FROM officers', officerOf),
  }
}

/** The paged id queries: one COUNT and one page of ids per call, statements kept by text. */
function createPager(db: SqliteDb) {
  const statements = new Map<string, Statement<unknown[]>>()
  const prepared = (sql: string) => {
    let s = statements.get(sql)
    if (s === undefined) {
      s = db.prepare<unknown[]>(sql)
      statements.set(sql, s)
    }
    return s
  }
  return (table: ListTable, filter: Record<string, string | undefined>, p: PageRequest): IdPage => {
    const columns = FILTER_COLUMNS[table].filter((k) => filter[k] !== undefined)
    const params = columns.map((k) => filter[k])
    const where = columns.length ? `WHERE ${columns.map((k) => `${k} = ?`).join(' AND ')}` : ''
    const total = (prepared(`SELECT COUNT(*) AS n FROM ${table} ${where}`).get(...params) as { n: number }).n
    const rows = prepared(`SELECT id FROM ${table} ${where} ORDER BY id LIMIT ? OFFSET ?`).all(
      ...params,
      p.limit,
      p.offset,
    ) as { id: string }[]
    return { ids: rows.map((r) => r.id), total }
  }
}

function createStatements(db: SqliteDb) {
  return {
    insertStreet: db.prepare('INSERT OR IGNORE INTO streets (name, created_at) VALUES (?, ?)'),
    insertCommunity: db.prepare(
      'INSERT INTO communities (id, name, street, geometry, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    insertBuilding: db.prepare(
      `INSERT INTO buildings (id, name, lon, lat, community, street, responsible, maintenance, address, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertDevice: db.prepare(
      `INSERT INTO devices (id, kind, building, community, street, lon, lat, floor, gateway, thresholds,
         enabled, secret_hash, created_at, updated_at)
       SELECT @id, @kind, @building, @community, @street, @lon, @lat, @floor, @gateway, @thresholds,
         1, @secret_hash, @created_at, @created_at
       WHERE NOT EXISTS (SELECT 1 FROM responders WHERE id = @id)`,
    ),
    deleteDevice: db.prepare('DELETE FROM devices WHERE id = ?'),
    insertDeviceLinks: db.prepare(
      'INSERT INTO device_links (device, address, heartbeat_s, dev_eui) VALUES (@id, @address, @heartbeat_s, @dev_eui)',
    ),
    updateDevice: db.prepare(
      `UPDATE devices SET lon = @lon, lat = @lat, floor = @floor, thresholds = @thresholds, enabled = @enabled,
         updated_at = @updated_at WHERE id = @id`,
    ),
    insertResponder: db.prepare(
      `INSERT INTO responders (id, name, type, mode, lon, lat, on_duty, building, community, street, enabled,
         secret_hash, created_at, updated_at)
       SELECT @id, @name, @type, @mode, @lon, @lat, @on_duty, @building, @community, @street, 1,
         @secret_hash, @created_at, @created_at
       WHERE NOT EXISTS (SELECT 1 FROM devices WHERE id = @id)`,
    ),
    updateResponder: db.prepare(
      `UPDATE responders SET mode = @mode, lon = @lon, lat = @lat, on_duty = @on_duty, community = @community,
         street = @street, enabled = @enabled, updated_at = @updated_at WHERE id = @id`,
    ),
    insertOfficer: db.prepare(
      'INSERT INTO officers (id, name, scope, token_hash, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    deviceHash: db.prepare<[string], { secret_hash: string }>('SELECT secret_hash FROM devices WHERE id = ?'),
    responderHash: db.prepare<[string], { secret_hash: string }>(
      'SELECT secret_hash FROM responders WHERE id = ?',
    ),
    hasStreet: db.prepare<[string], { name: string }>('SELECT name FROM streets WHERE name = ?'),
    community: db.prepare<[string], CommunityRow>('SELECT * FROM communities WHERE id = ?'),
    building: db.prepare<[string], BuildingRow>('SELECT * FROM buildings WHERE id = ?'),
    device: db.prepare<[string], DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = ?`),
    responder: db.prepare<[string], ResponderRow>(`SELECT ${RESPONDER_COLUMNS} FROM responders WHERE id = ?`),
    officer: db.prepare<[string], OfficerRow>(
      'SELECT id, name, scope, created_at FROM officers WHERE id = ?',
    ),
    officerHash: db.prepare<[string], { token_hash: string }>('SELECT token_hash FROM officers WHERE id = ?'),
    adminHash: db.prepare<[], { token_hash: string }>('SELECT token_hash FROM admin_token WHERE id = 1'),
    upsertAdmin: db.prepare(
      `INSERT INTO admin_token (id, token_hash, created_at) VALUES (1, ?, ?)
       ON CONFLICT(id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at`,
    ),
  }
}

type Statements = ReturnType<typeof createStatements>

function deviceParams(d: Device, secretHash: string) {
  return {
    id: d.id,
    kind: d.kind,
    building: d.building,
    community: d.community,
    street: d.street,
    lon: d.location?.[0] ?? null,
    lat: d.location?.[1] ?? null,
    floor: d.floor ?? null,
    gateway: d.gateway ?? null,
    thresholds: d.thresholds ? JSON.stringify(d.thresholds) : null,
    secret_hash: secretHash,
    created_at: d.createdAt,
  }
}

/** The device and its links; a taken id, address or DevEUI stores neither: false. Inside a transaction. */
function insertOneDevice(s: Statements, d: Device, secretHash: string): boolean {
  if (!inserted(() => s.insertDevice.run(deviceParams(d, secretHash)))) return false
  if ((d.address ?? d.heartbeatS ?? d.devEui) === undefined) return true
  const linked = inserted(() =>
    s.insertDeviceLinks.run({
      id: d.id,
      address: d.address ?? null,
      heartbeat_s: d.heartbeatS ?? null,
      dev_eui: d.devEui ?? null,
    }),
  )
  if (!linked) s.deleteDevice.run(d.id)
  return linked
}

export function createSqliteRegistryRepository(db: SqliteDb): RegistryRepository {
  const s = createStatements(db)
  const insertDevices = db.transaction((rows: readonly { device: Device; secretHash: string }[]) => {
    const taken = new Set<string>()
    for (const r of rows) if (!insertOneDevice(s, r.device, r.secretHash)) taken.add(r.device.id)
    return taken
  })
  const page = createPager(db)
  const slices = () => deviceSlicesOf(db, s.device)
  const insertCommunity = db.transaction((c: Community) => {
    s.insertStreet.run(c.street, c.createdAt)
    return s.insertCommunity.run(c.id, c.name, c.street, JSON.stringify(c.geometry), c.createdAt)
  })
  return {
    load: async (options) => loadAll(db, slices, options?.devices !== false),
    deviceSlices: slices,
    hasStreet: async (name) => s.hasStreet.get(name) !== undefined,
    community: async (id) => one(s.community.get(id), communityOf),
    building: async (id) => one(s.building.get(id), buildingOf),
    device: async (id) => one(s.device.get(id), deviceOf),
    devices: async (ids) => ids.flatMap((id) => one(s.device.get(id), deviceOf) ?? []),
    responder: async (id) => one(s.responder.get(id), responderOf),
    officer: async (id) => one(s.officer.get(id), officerOf),
    insertCommunity: async (c) => inserted(() => insertCommunity(c)),
    insertBuilding: async (b) =>
      inserted(() =>
        s.insertBuilding.run(
          b.id,
          b.name,
          b.location[0],
          b.location[1],
          b.community,
          b.street,
          JSON.stringify(b.responsible),
          b.maintenance === undefined ? null : JSON.stringify(b.maintenance),
          b.address ?? null,
          b.createdAt,
        ),
      ),
    insertDevice: async (d, secretHash) => {
      // The device and its links in one transaction: a taken address stores neither.
      const taken = insertDevices([{ device: d, secretHash }])
      return taken.size === 0
    },
    insertDevices: async (rows) => insertDevices(rows),
    async updateDevice(d, updatedAt) {
      s.updateDevice.run({
        id: d.id,
        lon: d.location?.[0] ?? null,
        lat: d.location?.[1] ?? null,
        floor: d.floor ?? null,
        thresholds: d.thresholds ? JSON.stringify(d.thresholds) : null,
        enabled: d.enabled ? 1 : 0,
        updated_at: updatedAt,
      })
    },
    insertResponder: async (r, secretHash) =>
      inserted(() =>
        s.insertResponder.run({
          id: r.id,
          name: r.name,
          type: r.type,
          mode: r.mode,
          lon: r.location?.[0] ?? null,
          lat: r.location?.[1] ?? null,
          on_duty: r.onDuty ? 1 : 0,
          building: r.building ?? null,
          community: r.community ?? null,
          street: r.street ?? null,
          secret_hash: secretHash,
          created_at: r.createdAt,
        }),
      ),
    async updateResponder(r, updatedAt) {
      s.updateResponder.run({
        id: r.id,
        mode: r.mode,
        lon: r.location?.[0] ?? null,
        lat: r.location?.[1] ?? null,
        on_duty: r.onDuty ? 1 : 0,
        community: r.community ?? null,
        street: r.street ?? null,
        enabled: r.enabled ? 1 : 0,
        updated_at: updatedAt,
      })
    },
    insertOfficer: async (o, tokenHash) =>
      inserted(() => s.insertOfficer.run(o.id, o.name, o.scope, tokenHash, o.createdAt)),
    secretHash: async (holder: SecretHolder, id) =>
      (holder === 'responder' ? s.responderHash : s.deviceHash).get(id)?.secret_hash,
    officerTokenHash: async (id) => s.officerHash.get(id)?.token_hash,
    adminTokenHash: async () => s.adminHash.get()?.token_hash,
    async storeAdminTokenHash(hash, at) {
      s.upsertAdmin.run(hash, at)
    },
    deviceIds: async (f, p) => page('devices', { ...f }, p),
    buildingIds: async (f, p) => page('buildings', { ...f }, p),
    responderIds: async (f, p) => page('responders', { ...f }, p),
  }
}
