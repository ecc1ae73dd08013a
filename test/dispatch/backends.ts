/**
 * The two places dispatch keeps its state, for tests that must hold for both: the state
 * database in SQLite (a temp dir) and a cluster's PostgreSQL (a fresh migrated database on
 * one throwaway server per test file). And a fence as small as the contract: a partition is
 * held while its lease row names this node at the epoch it acts under and has not expired.
 */
import path from 'node:path'
import {
  createPostgresDispatchRepository,
  createSqliteDispatchRepository,
  type DispatchRepository,
} from '../../services/dispatch/index.ts'
import {
  openStateDatabase,
  type PartitionFence,
  type PgDatabase,
  partitionMoved,
} from '../../services/state/index.ts'
import type { PostgresHarness } from '../support/postgres.ts'
import { tempDir } from '../support/tmp.ts'

export interface Store {
  /** A repository over the store (fenced when `fence` is given: PostgreSQL only). */
  repository(fence?: PartitionFence): DispatchRepository
  /** The PostgreSQL database (undefined for SQLite). */
  pg?: PgDatabase
  close(): Promise<void>
}

export interface Backend {
  name: 'SQLite' | 'PostgreSQL'
  open(): Promise<Store>
}

export function backends(pg: () => PostgresHarness): Backend[] {
  return [
    {
      name: 'SQLite',
      async open() {
        const tmp = tempDir('firecircle-dispatch-repo-')
        const db = openStateDatabase(path.join(tmp.dir, 'state.db'))
        return {
          repository: () => createSqliteDispatchRepository(db),
          async close() {
            db.close()
            tmp.cleanup()
          },
        }
      },
    },
    {
      name: 'PostgreSQL',
      async open() {
        const db = await pg().database()
        return {
          pg: db,
          repository: (fence) => createPostgresDispatchRepository(db, fence),
          close: () => db.close().catch(() => {}),
        }
      },
    },
  ]
}

/** A node's hold on its leases, as the brief's contract has it; `owned` may change under it. */
export interface TestFence extends PartitionFence {
  /** Take the lease of `partition` for this node at a new epoch (ms expiry from `now`). */
  take(partition: string): Promise<void>
  /** Another node takes the lease behind this node's back (it still believes it holds it). */
  lose(partition: string, to?: string): Promise<void>
  /** This node lets the partition go (no longer in `owned`). */
  drop(partition: string): void
}

export function testFence(db: PgDatabase, node: string, now: () => number, ttlMs = 15_000): TestFence {
  const epochs = new Map<string, number>()
  return {
    async hold(client, partition) {
      const epoch = epochs.get(partition)
      const r = await client.query(
        `SELECT 1 FROM cluster_leases WHERE partition = $1 AND owner = $2 AND epoch = $3 AND expires_at > $4
         FOR SHARE`,
        [partition, node, epoch ?? -1, now()],
      )
      if (epoch === undefined || r.rowCount === 0) throw partitionMoved(partition)
    },
    owned: () => [...epochs.keys()].sort(),
    async take(partition) {
      const r = await db.query<{ epoch: string }>(
        `INSERT INTO cluster_leases (partition, owner, epoch, expires_at, acquired_at) VALUES ($1, $2, 1, $3, $4)
         ON CONFLICT (partition) DO UPDATE SET owner = $2, epoch = cluster_leases.epoch + 1, expires_at = $3, acquired_at = $4
         RETURNING epoch`,
        [partition, node, now() + ttlMs, now()],
      )
      epochs.set(partition, Number(r.rows[0]!.epoch))
    },
    async lose(partition, to = 'node-other') {
      await db.query(
        'UPDATE cluster_leases SET owner = $2, epoch = epoch + 1, expires_at = $3 WHERE partition = $1',
        [partition, to, now() + ttlMs],
      )
    },
    drop(partition) {
      epochs.delete(partition)
    },
  }
}
