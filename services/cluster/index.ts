/**
 * The cluster (FC_DATABASE_URL): this node's membership among the nodes on one PostgreSQL,
 * its leases on the partitions of work (one per community) with the fence every partitioned
 * write passes, and the relay that carries effects to the other nodes (outbox, LISTEN/NOTIFY
 * and a polling fallback). ./node.ts (membership and lease rounds), ./leases.ts (the lease
 * table's statements and the share), ./fence.ts, ./relay.ts, ./routes.ts (GET /api/cluster).
 */
export { createClusterNode, safetyMargin } from './node.ts'
export { createRelay, OUTBOX_CHANNEL, type RelayDeps } from './relay.ts'
export { registerClusterRoute } from './routes.ts'
export type { ClusterNode, ClusterNodeDeps, ClusterNodeView, OwnershipChange, Relay } from './types.ts'
