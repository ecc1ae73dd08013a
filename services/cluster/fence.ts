/**
 * The fence a partitioned write passes: inside the writer's transaction, the partition's
 * lease row is locked FOR SHARE and must still carry this node at the epoch it acquired,
 * unexpired. A takeover (an UPDATE of that row) therefore is not made before the write
 * commits, and a write by a node whose lease moved — a paused process waking up — is refused
 * before it changes anything. A writer paused while it holds the row would hold up the
 * takeover for as long as it sleeps: its transaction is ended by the database after
 * `stallMs` idle.
 */
import type { Clock } from '../shared/index.ts'
import { type PartitionFence, type PgClient, partitionMoved } from '../state/index.ts'

export interface FenceDeps {
  nodeId: string
  clock: Clock
  /** The epoch this node holds `partition` at, as it believes. */
  epochOf(partition: string): string | undefined
  owned(): readonly string[]
  /**
   * The writer's transaction is ended by the database once it sits idle this long (SET LOCAL
   * idle_in_transaction_session_timeout): a paused process must not hold the row past it.
   */
  stallMs?: number
}

export function createFence(deps: FenceDeps): PartitionFence {
  return {
    async hold(client: PgClient, partition: string) {
      const epoch = deps.epochOf(partition)
      if (epoch === undefined) throw partitionMoved(partition)
      // The timeout is set in the same statement (no extra round trip), for this transaction only.
      const r = await client.query(
        `SELECT set_config('idle_in_transaction_session_timeout', $5, true) FROM cluster_leases
         WHERE partition = $1 AND owner = $2 AND epoch = $3 AND expires_at > $4 FOR SHARE`,
        [partition, deps.nodeId, epoch, deps.clock.now(), String(Math.max(0, Math.floor(deps.stallMs ?? 0)))],
      )
      if (r.rowCount === 0) throw partitionMoved(partition)
    },
    owned: () => deps.owned(),
  }
}
