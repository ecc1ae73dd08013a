/**
 * A tiny fence for linkage's PostgreSQL tests (the cluster's real one lives in
 * services/cluster/ and is not needed here): the node holds a partition while its row in
 * cluster_leases names it at the epoch it acquired, unexpired on the test's clock.
 */
import type { PgDatabase } from '../../services/state/index.ts'
import { type PartitionFence, partitionMoved } from '../../services/state/index.ts'

export interface LeaseFence extends PartitionFence {
  /** Take the leases now (owner = this node, epoch + 1) until `until`; the fence acts under them. */
  acquire(partitions: string[], until: number): Promise<void>
  /** Act no more on these partitions (what the composition root does when they move away). */
  release(partitions: string[]): void
}

export function leaseFence(db: PgDatabase, node: string, now: () => number): LeaseFence {
  const epochs = new Map<string, number>()
  return {
    async hold(client, partition) {
      const epoch = epochs.get(partition)
      if (epoch === undefined) throw partitionMoved(partition)
      const r = await client.query(
        'SELECT 1 FROM cluster_leases WHERE partition = $1 AND owner = $2 AND epoch = $3 AND expires_at > $4 FOR SHARE',
        [partition, node, epoch, now()],
      )
      if (r.rowCount === 0) throw partitionMoved(partition)
    },
    owned: () => [...epochs.keys()].sort(),
    async acquire(partitions, until) {
      for (const p of partitions) {
        const r = await db.query<{ epoch: string }>(
          `INSERT INTO cluster_leases (partition, owner, epoch, expires_at, acquired_at) VALUES ($1, $2, 1, $3, $4)
           ON CONFLICT (partition) DO UPDATE SET owner = excluded.owner, epoch = cluster_leases.epoch + 1,
             expires_at = excluded.expires_at, acquired_at = excluded.acquired_at
           RETURNING epoch`,
          [p, node, until, now()],
        )
        epochs.set(p, Number(r.rows[0]!.epoch))
      }
    },
    release(partitions) {
      for (const p of partitions) epochs.delete(p)
    },
  }
}

/** Streets, communities, buildings and devices rows the fence looks partitions up in. */
export async function seedPartitions(
  db: PgDatabase,
  places: { community: string; street: string; building: string; devices: string[] }[],
): Promise<void> {
  for (const p of places) {
    await db.query('INSERT INTO streets (name, created_at) VALUES ($1, 0) ON CONFLICT DO NOTHING', [p.street])
    await db.query(
      `INSERT INTO communities (id, name, street, geometry, created_at) VALUES ($1, $1, $2, '{}', 0)
       ON CONFLICT DO NOTHING`,
      [p.community, p.street],
    )
    await db.query(
      `INSERT INTO buildings (id, name, lon, lat, community, street, responsible, created_at)
       VALUES ($1, $1, 113.87, 22.57, $2, $3, '{}', 0) ON CONFLICT DO NOTHING`,
      [p.building, p.community, p.street],
    )
    for (const d of p.devices)
      await db.query(
        `INSERT INTO devices (id, kind, building, community, street, enabled, secret_hash, created_at, updated_at)
         VALUES ($1, 'electrical', $2, $3, $4, 1, 'x', 0, 0) ON CONFLICT DO NOTHING`,
        [d, p.building, p.community, p.street],
      )
  }
}

/** An incident row (what the alarm stage's repository writes; the fence reads its community). */
export async function seedIncident(
  db: PgDatabase,
  i: {
    id: string
    community: string
    street: string
    status?: string
    building?: string
    at?: number
    data?: unknown
  },
): Promise<void> {
  await db.query(
    `INSERT INTO incidents (id, status, building, community, street, opened_at, updated_at, data)
     VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
     ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, data = excluded.data`,
    [
      i.id,
      i.status ?? 'alarm',
      i.building ?? null,
      i.community,
      i.street,
      i.at ?? 0,
      JSON.stringify(i.data ?? {}),
    ],
  )
}
