/**
 * The alarm engine's repository in PostgreSQL (a cluster's one database): the rows of
 * ./repository-sqlite.ts, column for column. With a PartitionFence (cluster mode) the work is
 * partitioned by community: every write holds its partition's lease in its own transaction
 * (an incident's community; a condition's device's community, looked up in `devices` there),
 * so a node whose lease moved changes nothing, and the loads at (re)start return only the
 * partitions this node owns now. Reads (find, timeline, list) are not scoped: any node
 * answers them.
 */
import { notRegistered } from '../shared/index.ts'
import type { PartitionFence, PgClient, PgDatabase } from '../state/index.ts'
import type { Incident, TimelineEntry } from './incidents.ts'
import type { AlarmRepository, StoredCondition } from './repository.ts'
import type { ConditionType } from './types.ts'

const OPEN = `('verifying', 'alarm', 'acknowledged', 'confirmed')`

interface ConditionRow {
  device: string
  condition: ConditionType
  since: string
  value: number | null
  threshold: number | null
}

function conditionOf(r: ConditionRow): StoredCondition {
  // BIGINT comes back from node-postgres as a string (it may exceed 2^53); ms times do not.
  const c: StoredCondition = { device: r.device, condition: r.condition, since: Number(r.since) }
  if (r.value !== null) c.value = r.value
  if (r.threshold !== null) c.threshold = r.threshold
  return c
}

async function appendEntries(client: PgClient, incident: string, entries: TimelineEntry[]): Promise<void> {
  if (entries.length === 0) return
  // One statement for the batch; unnest keeps the array order, so seq follows the entries' order.
  await client.query(
    'INSERT INTO incident_timeline (incident, data) SELECT $1, d FROM unnest($2::text[]) WITH ORDINALITY AS t(d, n) ORDER BY n',
    [incident, entries.map((e) => JSON.stringify(e))],
  )
}

export function createPostgresAlarmRepository(db: PgDatabase, fence?: PartitionFence): AlarmRepository {
  /** Hold the device's partition: a condition's row has no community, its device has. */
  async function holdDevice(client: PgClient, device: string): Promise<void> {
    if (fence === undefined) return
    const row = await client.query<{ community: string }>('SELECT community FROM devices WHERE id = $1', [
      device,
    ])
    const community = row.rows[0]?.community
    if (community === undefined)
      throw notRegistered(
        `device ${device} is not registered: its condition belongs to no community and is not kept`,
      )
    await fence.hold(client, community)
  }

  return {
    async loadOpen() {
      const rows =
        fence === undefined
          ? await db.query<{ data: string }>(
              `SELECT data FROM incidents WHERE status IN ${OPEN} ORDER BY opened_at, id`,
            )
          : await db.query<{ data: string }>(
              `SELECT data FROM incidents WHERE status IN ${OPEN} AND community = ANY($1::text[]) ORDER BY opened_at, id`,
              [[...fence.owned()]],
            )
      return rows.rows.map((r) => JSON.parse(r.data) as Incident)
    },
    async find(id) {
      const row = await db.query<{ data: string }>('SELECT data FROM incidents WHERE id = $1', [id])
      const data = row.rows[0]?.data
      return data === undefined ? undefined : (JSON.parse(data) as Incident)
    },
    async insert(i, entry) {
      await db.tx(async (client) => {
        await fence?.hold(client, i.community)
        await client.query(
          'INSERT INTO incidents (id, status, building, community, street, opened_at, updated_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
          [
            i.id,
            i.status,
            i.building ?? null,
            i.community,
            i.street,
            i.openedAt,
            i.updatedAt,
            JSON.stringify(i),
          ],
        )
        await appendEntries(client, i.id, [entry])
      })
    },
    async save(i, entries) {
      await db.tx(async (client) => {
        await fence?.hold(client, i.community)
        await client.query('UPDATE incidents SET status = $1, updated_at = $2, data = $3 WHERE id = $4', [
          i.status,
          i.updatedAt,
          JSON.stringify(i),
          i.id,
        ])
        await appendEntries(client, i.id, entries)
      })
    },
    async timeline(id) {
      const rows = await db.query<{ data: string }>(
        'SELECT data FROM incident_timeline WHERE incident = $1 ORDER BY seq',
        [id],
      )
      return rows.rows.map((r) => JSON.parse(r.data) as TimelineEntry)
    },
    async list(filter, page) {
      const where: string[] = []
      const args: (string | number)[] = []
      if (filter.status === 'open') where.push(`status IN ${OPEN}`)
      else if (filter.status !== undefined) {
        args.push(filter.status)
        where.push(`status = $${args.length}`)
      }
      for (const key of ['community', 'street', 'building'] as const) {
        const v = filter[key]
        if (v !== undefined) {
          args.push(v)
          where.push(`${key} = $${args.length}`)
        }
      }
      if (filter.openedFrom !== undefined) {
        args.push(filter.openedFrom)
        where.push(`opened_at >= $${args.length}`)
      }
      if (filter.openedBefore !== undefined) {
        args.push(filter.openedBefore)
        where.push(`opened_at < $${args.length}`)
      }
      const clause = where.length ? `WHERE ${where.join(' AND ')}` : ''
      const total = await db.query<{ n: string }>(`SELECT COUNT(*) AS n FROM incidents ${clause}`, args)
      const rows = await db.query<{ data: string }>(
        `SELECT data FROM incidents ${clause} ORDER BY opened_at DESC, id LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
        [...args, page.limit, page.offset],
      )
      return {
        items: rows.rows.map((r) => JSON.parse(r.data) as Incident),
        total: Number(total.rows[0]?.n ?? 0),
      }
    },
    async loadConditions() {
      const rows =
        fence === undefined
          ? await db.query<ConditionRow>(
              'SELECT device, condition, since, value, threshold FROM device_conditions',
            )
          : await db.query<ConditionRow>(
              `SELECT c.device, c.condition, c.since, c.value, c.threshold
                 FROM device_conditions c JOIN devices d ON d.id = c.device
                WHERE d.community = ANY($1::text[])`,
              [[...fence.owned()]],
            )
      return rows.rows.map(conditionOf)
    },
    async putCondition(c) {
      await db.tx(async (client) => {
        await holdDevice(client, c.device)
        await client.query(
          `INSERT INTO device_conditions (device, condition, since, value, threshold) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (device, condition) DO UPDATE SET since = excluded.since, value = excluded.value, threshold = excluded.threshold`,
          [c.device, c.condition, c.since, c.value ?? null, c.threshold ?? null],
        )
      })
    },
    async deleteCondition(device, condition) {
      await db.tx(async (client) => {
        await holdDevice(client, device)
        await client.query('DELETE FROM device_conditions WHERE device = $1 AND condition = $2', [
          device,
          condition,
        ])
      })
    },
  }
}
