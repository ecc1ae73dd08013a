/**
 * The fence a partitioned write passes: inside the writer's transaction, the partition's
 * lease row is locked FOR SHARE and must still carry this node at the epoch it acquired,
 * unexpired. A takeover (an UPDATE of that row) therefore waits for the write to commit, and
 * a write by a node whose lease moved — a paused process waking up — is refused before it
 * changes anything.
 */
import type { Clock } from '../shared/index.ts'
import { type PartitionFence, type PgClient, partitionMoved } from '../state/index.ts'

export interface FenceDeps {
  nodeId: string
  clock: Clock
  /** The epoch this node holds `partition` at, as it believes. */
  epochOf(partition: string): string | undefined
  owned(): readonly string[]
}

export function createFence(deps: FenceDeps): PartitionFence {
  return {
    async hold(client: PgClient, partition: string) {
      const epoch = deps.epochOf(partition)
      if (epoch === undefined) throw partitionMoved(partition)
      const r = await client.query(
        `SELECT 1 FROM cluster_leases
         WHERE partition = $1 AND owner = $2 AND epoch = $3 AND expires_at > $4 FOR SHARE`,
        [partition, deps.nodeId, epoch, deps.clock.now()],
      )
      if (r.rowCount === 0) throw partitionMoved(partition)
    },
    owned: () => deps.owned(),
  }
}
