/**
 * The registry's repository in PostgreSQL (a cluster's database, FC_DATABASE_URL): the rows of
 * services/state/migrations/postgres/ that the SQLite repository writes to state.db, read and
 * written the same, so that a node behaves as the embedded one does. The registry is not
 * partitioned: every node may write it, nothing is fenced, and every node loads all of it.
 *
 * Two differences from SQLite are absorbed here. BIGINT columns come from `pg` as strings:
 * the queries cast them (times to float8, exact below 2^53 ms; flags and floors to int4) so
 * that the rows are those of ./rows.ts. And text is ordered by the database's collation:
 * every ORDER BY says `COLLATE "C"` (byte order, SQLite's BINARY), so that a page of ids is
 * the same page on either database.
 */
import type { PgClient, PgDatabase } from '../state/index.ts'
import type { IdPage, RegistryRepository, RegistrySnapshot, SecretHolder } from './repository.ts'
import {
  buildingOf,
  communityOf,
  deviceOf,
  FILTER_COLUMNS,
  type ListTable,
  officerOf,
  responderOf,
} from './rows.ts'
import type { Community, Device, PageRequest, Responder } from './types.ts'

const ms = (column: string) => `${column}::float8 AS ${column}`
const int = (column: string) => `${column}::int4 AS ${column}`

// A device's links (migrations/postgres/002_panels.sql), beside its row.
const LINK_COLUMNS = [
  '(SELECT address FROM device_links l WHERE l.device = devices.id) AS address',
  '(SELECT heartbeat_s FROM device_links l WHERE l.device = devices.id)::int4 AS heartbeat_s',
  '(SELECT dev_eui FROM device_links l WHERE l.device = devices.id) AS dev_eui',
].join(', ')

// Hashes are not loaded with the records: read one at a time when a secret is checked.
const COLUMNS = {
  communities: `id, name, street, geometry, ${ms('created_at')}`,
  buildings: `id, name, lon, lat, community, street, responsible, maintenance, address, ${ms('created_at')}`,
  devices: `id, kind, building, community, street, lon, lat, ${int('floor')}, gateway, thresholds, ${int('enabled')}, ${ms('created_at')}, ${LINK_COLUMNS}`,
  responders: `id, name, type, mode, lon, lat, ${int('on_duty')}, building, community, street, ${int('enabled')}, ${ms('created_at')}`,
  officers: `id, name, scope, ${ms('created_at')}`,
} as const
type RecordTable = keyof typeof COLUMNS

/** A community whose id is taken: its transaction is rolled back (the street with it). */
class Taken extends Error {}

function deviceValues(d: Device) {
  return {
    lon: d.location?.[0] ?? null,
    lat: d.location?.[1] ?? null,
    floor: d.floor ?? null,
    thresholds: d.thresholds ? JSON.stringify(d.thresholds) : null,
  }
}
function responderValues(r: Responder) {
  return {
    lon: r.location?.[0] ?? null,
    lat: r.location?.[1] ?? null,
    onDuty: r.onDuty ? 1 : 0,
    community: r.community ?? null,
    street: r.street ?? null,
  }
}

/** Every record of a table, in byte order of ids. */
async function all<R extends object, T>(client: PgClient, table: RecordTable, of: (r: R) => T) {
  const res = await client.query<R>(`SELECT ${COLUMNS[table]} FROM ${table} ORDER BY id COLLATE "C"`)
  return res.rows.map(of)
}
/** One record by id, or undefined. */
async function one<R extends object, T>(db: PgDatabase, table: RecordTable, id: string, of: (r: R) => T) {
  const res = await db.query<R>(`SELECT ${COLUMNS[table]} FROM ${table} WHERE id = $1`, [id])
  const row = res.rows[0]
  return row === undefined ? undefined : of(row)
}
/** Run an insert ending in ON CONFLICT (id) DO NOTHING: true when a row was stored. */
async function inserted(db: PgDatabase, sql: string, values: unknown[]): Promise<boolean> {
  return ((await db.query(sql, values)).rowCount ?? 0) > 0
}
const PRINCIPAL_ID_LOCK = 0x46_43_50_52 // 'FCPR'
/**
 * A bulk registration's batch cannot take one lock per id (thousands of advisory locks in one
 * transaction overflow PostgreSQL's shared lock table, max_locks_per_transaction × connections).
 * So ids also fall into 256 buckets (hashtext's low 8 bits): a single insert holds its bucket
 * SHARED beside its own id's lock (single inserts never wait on each other for it), a batch holds
 * every bucket of its ids EXCLUSIVE, ascending (batches never wait on each other round a cycle).
 */
const PRINCIPAL_BUCKET_LOCK = 0x46_43_50_42 // 'FCPB'

/**
 * Insert a device or a responder (its statement ending in ON CONFLICT (id) DO NOTHING) unless
 * the other kind holds its id: one space of MQTT usernames. Under a lock on the id, so that
 * two nodes registering it at once as a device and as a responder take turns and one wins.
 */
async function insertedPrincipal(
  db: PgDatabase,
  id: string,
  other: 'devices' | 'responders',
  sql: string,
  values: unknown[],
  /** What goes in with the row, in its transaction (a device's links). */
  with_?: { sql: string; values: unknown[] },
): Promise<boolean> {
  return db.tx(async (c) => {
    await c.query(
      'SELECT pg_advisory_xact_lock($1, hashtext($3)), pg_advisory_xact_lock_shared($2, hashtext($3) & 255)',
      [PRINCIPAL_ID_LOCK, PRINCIPAL_BUCKET_LOCK, id],
    )
    if (((await c.query(`SELECT 1 FROM ${other} WHERE id = $1`, [id])).rowCount ?? 0) > 0) return false
    const stored = ((await c.query(sql, values)).rowCount ?? 0) > 0
    if (stored && with_ !== undefined) await c.query(with_.sql, with_.values)
    return stored
  })
}
type DeviceRows = readonly { device: Device; secretHash: string }[]

/**
 * A bulk registration's batch in one transaction: the buckets of its ids locked (ascending, so
 * two batches never wait on each other round a cycle), one INSERT … SELECT FROM unnest of every
 * row whose id no responder holds, then the links of those stored; a row whose address or
 * DevEUI is taken is deleted again. Resolves the ids not stored.
 */
async function insertDevices(db: PgDatabase, rows: DeviceRows): Promise<Set<string>> {
  const col = <T>(f: (d: Device, h: string) => T) => rows.map((r) => f(r.device, r.secretHash))
  return db.tx(async (c) => {
    await c.query(
      `SELECT pg_advisory_xact_lock($1, b) FROM
         (SELECT DISTINCT hashtext(id) & 255 AS b FROM unnest($2::text[]) AS id ORDER BY b) AS buckets`,
      [PRINCIPAL_BUCKET_LOCK, col((d) => d.id)],
    )
    const v = rows.map((r) => deviceValues(r.device))
    const res = await c.query<{ id: string }>(
      `INSERT INTO devices (id, kind, building, community, street, lon, lat, floor, gateway, thresholds,
         enabled, secret_hash, created_at, updated_at)
       SELECT t.id, t.kind, t.building, t.community, t.street, t.lon, t.lat, t.floor, t.gateway, t.thresholds,
         1, t.secret_hash, t.created_at, t.created_at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[],
         $8::int8[], $9::text[], $10::text[], $11::text[], $12::int8[])
         AS t(id, kind, building, community, street, lon, lat, floor, gateway, thresholds, secret_hash, created_at)
       WHERE NOT EXISTS (SELECT 1 FROM responders r WHERE r.id = t.id)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [
        col((d) => d.id),
        col((d) => d.kind),
        col((d) => d.building),
        col((d) => d.community),
        col((d) => d.street),
        v.map((x) => x.lon),
        v.map((x) => x.lat),
        v.map((x) => x.floor),
        col((d) => d.gateway ?? null),
        v.map((x) => x.thresholds),
        col((_, h) => h),
        col((d) => d.createdAt),
      ],
    )
    const stored = new Set(res.rows.map((r) => r.id))
    const linked = rows
      .map((r) => r.device)
      .filter((d) => stored.has(d.id) && (d.address ?? d.heartbeatS ?? d.devEui) !== undefined)
    if (linked.length > 0) {
      const links = await c.query<{ device: string }>(
        `INSERT INTO device_links (device, address, heartbeat_s, dev_eui)
         SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::text[])
         ON CONFLICT DO NOTHING RETURNING device`,
        [
          linked.map((d) => d.id),
          linked.map((d) => d.address ?? null),
          linked.map((d) => d.heartbeatS ?? null),
          linked.map((d) => d.devEui ?? null),
        ],
      )
      const ok = new Set(links.rows.map((r) => r.device))
      const unlinked = linked.filter((d) => !ok.has(d.id)).map((d) => d.id)
      if (unlinked.length > 0) {
        await c.query('DELETE FROM devices WHERE id = ANY($1::text[])', [unlinked])
        for (const id of unlinked) stored.delete(id)
      }
    }
    return new Set(rows.map((r) => r.device.id).filter((id) => !stored.has(id)))
  })
}

async function hash(db: PgDatabase, sql: string, id: string): Promise<string | undefined> {
  return (await db.query<{ h: string }>(sql, [id])).rows[0]?.h
}

// One statement: the count and the page come from one snapshot, in one round trip.
async function page(
  db: PgDatabase,
  table: ListTable,
  filter: Record<string, string | undefined>,
  p: PageRequest,
) {
  const columns = FILTER_COLUMNS[table].filter((k) => filter[k] !== undefined)
  const values: unknown[] = columns.map((k) => filter[k])
  const where = columns.length ? `WHERE ${columns.map((k, i) => `${k} = $${i + 1}`).join(' AND ')}` : ''
  const n = columns.length
  const res = await db.query<{ total: number; ids: string[] }>(
    `SELECT (SELECT count(*)::int4 FROM ${table} ${where}) AS total,
       ARRAY(SELECT id FROM ${table} ${where} ORDER BY id COLLATE "C" LIMIT $${n + 1} OFFSET $${n + 2}) AS ids`,
    [...values, p.limit, p.offset],
  )
  const row = res.rows[0] as { total: number; ids: string[] }
  return { ids: row.ids, total: row.total } satisfies IdPage
}

async function insertCommunity(db: PgDatabase, c: Community): Promise<boolean> {
  try {
    await db.tx(async (client) => {
      await client.query(
        'INSERT INTO streets (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
        [c.street, c.createdAt],
      )
      const res = await client.query(
        `INSERT INTO communities (id, name, street, geometry, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO NOTHING`,
        [c.id, c.name, c.street, JSON.stringify(c.geometry), c.createdAt],
      )
      // A taken id changes nothing: not even the street a new community would have added.
      if (res.rowCount === 0) throw new Taken()
    })
    return true
  } catch (err) {
    if (err instanceof Taken) return false
    throw err
  }
}

type Reads = Omit<RegistryRepository, Writes>
type Writes =
  | 'insertCommunity'
  | 'insertBuilding'
  | 'insertDevice'
  | 'insertDevices'
  | 'updateDevice'
  | 'insertResponder'
  | 'updateResponder'
  | 'insertOfficer'
  | 'storeAdminTokenHash'

function createReads(db: PgDatabase): Reads {
  return {
    // One snapshot of every table (other nodes write meanwhile): a building is never loaded
    // without the community it was registered in.
    load: (options) =>
      db.tx(async (c): Promise<RegistrySnapshot> => {
        await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY')
        const streets = await c.query<{ name: string }>('SELECT name FROM streets ORDER BY name COLLATE "C"')
        return {
          streets: streets.rows.map((r) => r.name),
          communities: await all(c, 'communities', communityOf),
          buildings: await all(c, 'buildings', buildingOf),
          devices: options?.devices === false ? [] : await all(c, 'devices', deviceOf),
          responders: await all(c, 'responders', responderOf),
          officers: await all(c, 'officers', officerOf),
        }
      }),
    hasStreet: async (name) =>
      ((await db.query('SELECT 1 FROM streets WHERE name = $1', [name])).rowCount ?? 0) > 0,
    community: (id) => one(db, 'communities', id, communityOf),
    building: (id) => one(db, 'buildings', id, buildingOf),
    device: (id) => one(db, 'devices', id, deviceOf),
    devices: async (ids) =>
      (await db.query(`SELECT ${COLUMNS.devices} FROM devices WHERE id = ANY($1::text[])`, [ids])).rows.map(
        (r) => deviceOf(r as never),
      ),
    responder: (id) => one(db, 'responders', id, responderOf),
    officer: (id) => one(db, 'officers', id, officerOf),

    secretHash: (holder: SecretHolder, id) =>
      hash(
        db,
        `SELECT secret_hash AS h FROM ${holder === 'responder' ? 'responders' : 'devices'} WHERE id = $1`,
        id,
      ),
    officerTokenHash: (id) => hash(db, 'SELECT token_hash AS h FROM officers WHERE id = $1', id),
    adminTokenHash: async () =>
      (await db.query<{ h: string }>('SELECT token_hash AS h FROM admin_token WHERE id = 1')).rows[0]?.h,
    deviceIds: (f, p) => page(db, 'devices', { ...f }, p),
    buildingIds: (f, p) => page(db, 'buildings', { ...f }, p),
    responderIds: (f, p) => page(db, 'responders', { ...f }, p),
  }
}

function createWrites(db: PgDatabase): Pick<RegistryRepository, Writes> {
  return {
    insertCommunity: (c) => insertCommunity(db, c),
    insertBuilding: (b) =>
      inserted(
        db,
        `INSERT INTO buildings (id, name, lon, lat, community, street, responsible, maintenance, address, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
        [
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
        ],
      ),
    insertDevice(d, secretHash) {
      const v = deviceValues(d)
      return insertedPrincipal(
        db,
        d.id,
        'responders',
        `INSERT INTO devices (id, kind, building, community, street, lon, lat, floor, gateway, thresholds,
           enabled, secret_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $12) ON CONFLICT (id) DO NOTHING`,
        [
          d.id,
          d.kind,
          d.building,
          d.community,
          d.street,
          v.lon,
          v.lat,
          v.floor,
          d.gateway ?? null,
          v.thresholds,
          secretHash,
          d.createdAt,
        ],
        (d.address ?? d.heartbeatS ?? d.devEui) === undefined
          ? undefined
          : {
              sql: 'INSERT INTO device_links (device, address, heartbeat_s, dev_eui) VALUES ($1, $2, $3, $4)',
              values: [d.id, d.address ?? null, d.heartbeatS ?? null, d.devEui ?? null],
            },
      )
    },
    insertDevices: (rows) => insertDevices(db, rows),
    async updateDevice(d, updatedAt) {
      const v = deviceValues(d)
      await db.query(
        `UPDATE devices SET lon = $2, lat = $3, floor = $4, thresholds = $5, enabled = $6, updated_at = $7
         WHERE id = $1`,
        [d.id, v.lon, v.lat, v.floor, v.thresholds, d.enabled ? 1 : 0, updatedAt],
      )
    },
    insertResponder(r, secretHash) {
      const v = responderValues(r)
      return insertedPrincipal(
        db,
        r.id,
        'devices',
        `INSERT INTO responders (id, name, type, mode, lon, lat, on_duty, building, community, street, enabled,
           secret_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $12) ON CONFLICT (id) DO NOTHING`,
        [
          r.id,
          r.name,
          r.type,
          r.mode,
          v.lon,
          v.lat,
          v.onDuty,
          r.building ?? null,
          v.community,
          v.street,
          secretHash,
          r.createdAt,
        ],
      )
    },
    async updateResponder(r, updatedAt) {
      const v = responderValues(r)
      await db.query(
        `UPDATE responders SET mode = $2, lon = $3, lat = $4, on_duty = $5, community = $6, street = $7,
           enabled = $8, updated_at = $9 WHERE id = $1`,
        [r.id, r.mode, v.lon, v.lat, v.onDuty, v.community, v.street, r.enabled ? 1 : 0, updatedAt],
      )
    },
    insertOfficer: (o, tokenHash) =>
      inserted(
        db,
        `INSERT INTO officers (id, name, scope, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO NOTHING`,
        [o.id, o.name, o.scope, tokenHash, o.createdAt],
      ),

    async storeAdminTokenHash(h, at) {
      await db.query(
        `INSERT INTO admin_token (id, token_hash, created_at) VALUES (1, $1, $2)
         ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at`,
        [h, at],
      )
    },
  }
}

export function createPostgresRegistryRepository(db: PgDatabase): RegistryRepository {
  return { ...createReads(db), ...createWrites(db) }
}
