/**
 * A tiny PartitionFence for repository tests (the real one is the cluster stage's): this node
 * takes leases by writing cluster_leases rows itself, holds a partition while its row names it
 * at the epoch it took, and `steal` moves a lease to another node (epoch + 1) behind its back,
 * as a node that paused while its lease expired would find it.
 */
import {
  type PartitionFence,
  type PgClient,
  type PgDatabase,
  partitionMoved,
} from '../../services/state/index.ts'

export interface OwnedFence extends PartitionFence {
  /** Take the lease on these partitions (epoch + 1) and work on them. */
  take(...partitions: string[]): Promise<void>
  /** Stop working on a partition (its lease is left to expire). */
  drop(partition: string): void
  /** Another node takes the lease (epoch + 1); this node still believes it holds it. */
  steal(partition: string): Promise<void>
}

export function ownedFence(db: PgDatabase, node = 'node-a', now: () => number = Date.now): OwnedFence {
  const epochs = new Map<string, number>()
  const LEASE_MS = 3_600_000
  async function claim(partition: string, owner: string): Promise<number> {
    const row = await db.query<{ epoch: string }>(
      `INSERT INTO cluster_leases (partition, owner, epoch, expires_at, acquired_at) VALUES ($1, $2, 1, $3, $4)
       ON CONFLICT (partition) DO UPDATE SET owner = excluded.owner, epoch = cluster_leases.epoch + 1,
         expires_at = excluded.expires_at, acquired_at = excluded.acquired_at
       RETURNING epoch`,
      [partition, owner, now() + LEASE_MS, now()],
    )
    return Number(row.rows[0]!.epoch)
  }
  return {
    async hold(client: PgClient, partition: string) {
      const epoch = epochs.get(partition)
      if (epoch === undefined) throw partitionMoved(partition)
      const row = await client.query(
        'SELECT 1 FROM cluster_leases WHERE partition = $1 AND owner = $2 AND epoch = $3 AND expires_at > $4 FOR SHARE',
        [partition, node, epoch, now()],
      )
      if (row.rowCount === 0) throw partitionMoved(partition)
    },
    owned: () => [...epochs.keys()].sort(),
    async take(...partitions) {
      for (const p of partitions) epochs.set(p, await claim(p, node))
    },
    drop(partition) {
      epochs.delete(partition)
    },
    async steal(partition) {
      await claim(partition, `${node}-rival`)
    },
  }
}

/** The registry rows a fenced write looks a device's community up in: a street, the communities, a building each, the devices. */
export async function seedDevices(
  db: PgDatabase,
  devices: { id: string; community: string; kind?: string }[],
): Promise<void> {
  await db.query("INSERT INTO streets (name, created_at) VALUES ('s1', 0) ON CONFLICT DO NOTHING")
  for (const community of new Set(devices.map((d) => d.community))) {
    await db.query(
      `INSERT INTO communities (id, name, street, geometry, created_at) VALUES ($1, $1, 's1', '{}', 0) ON CONFLICT DO NOTHING`,
      [community],
    )
    await db.query(
      `INSERT INTO buildings (id, name, lon, lat, community, street, responsible, created_at)
       VALUES ($1, $1, 116.4, 39.9, $2, 's1', 'r', 0) ON CONFLICT DO NOTHING`,
      [`b-${community}`, community],
    )
  }
  for (const d of devices)
    await db.query(
      `INSERT INTO devices (id, kind, building, community, street, enabled, secret_hash, created_at, updated_at)
       VALUES ($1, $2, $3, $4, 's1', 1, 'x', 0, 0)`,
      [d.id, d.kind ?? 'smoke', `b-${d.community}`, d.community],
    )
}
