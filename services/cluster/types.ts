/**
 * The cluster's types: a node of the cluster (membership, leases on the partitions of work,
 * the fence its partitioned writes pass) and the relay of effects between nodes.
 */
import type { Registry as Metrics } from 'prom-client'
import type { Clock, Logger } from '../shared/index.ts'
import type { PartitionFence, PgClient, PgDatabase } from '../state/index.ts'

export interface ClusterNodeDeps {
  db: PgDatabase
  /** FC_NODE_ID: unique among the live nodes on this database. */
  nodeId: string
  /** Where other nodes forward an HTTP request for a partition this node owns. */
  httpUrl: string
  mqttPort?: number
  /** FC_LEASE_S in ms: a node that stops renewing for this long loses its partitions. */
  leaseMs: number
  /**
   * How long a fenced write may sit idle inside its transaction before PostgreSQL ends the
   * session (default: the lease). A process paused mid-write (SIGSTOP, a long GC) would
   * otherwise keep the lease row locked FOR SHARE, and no other node could take it over.
   */
  stallMs?: number
  clock: Clock
  logger: Logger
  metrics?: Metrics
}

export interface OwnershipChange {
  /** The partitions owned now (sorted). */
  owned: readonly string[]
  gained: string[]
  lost: string[]
}

export interface ClusterNodeView {
  nodes: { id: string; alive: boolean; lastSeen: string; partitions: number }[]
  /** How many partitions there are (communities). */
  partitions: number
}

export interface ClusterNode {
  readonly nodeId: string
  /**
   * Register in cluster_nodes (a live node of the same id refuses the start: ConfigError
   * FC_NODE_ID), give up leases a crashed earlier run of this id left, run one lease round,
   * then a round every leaseMs/5 on the clock's timers.
   */
  start(): Promise<void>
  /** Stop the rounds, give up every lease (free at once for the others), mark the node stopped. */
  stop(): Promise<void>
  /** For partitioned repositories: hold a partition inside a writing transaction. */
  readonly fence: PartitionFence
  /** Local belief, synchronous: held, and renewed recently enough (less a safety margin). */
  owns(partition: string): boolean
  /** The partitions owned now (sorted). */
  owned(): readonly string[]
  /** Called (awaited, one at a time, in order) whenever the owned set changed. */
  onChange(fn: (change: OwnershipChange) => Promise<void> | void): void
  /** The live owner of a partition, from the database (to forward an HTTP request to). */
  ownerOf(partition: string): Promise<{ node: string; httpUrl: string } | undefined>
  /** False from a failed (or stalled) round until a round succeeds: readiness. */
  databaseUp(): boolean
  /** GET /api/cluster. */
  view(): Promise<ClusterNodeView>
  readonly relay: Relay
  /** Resolves when the round (and the change reports) started so far are done: tests, shutdown. */
  settled(): Promise<void>
}

export interface Relay {
  /**
   * Queue an effect for the other nodes: a row in cluster_outbox and NOTIFY, in one
   * transaction (the caller's when `client` is given, else its own; resolves once committed).
   */
  send(kind: string, body: unknown, client?: PgClient): Promise<void>
  /**
   * Hear effects of `kind` sent by other nodes (never this node's own): each row once per
   * node, in id order as seen, within about a second of its commit.
   */
  on(kind: string, fn: (body: unknown, origin: string) => void): void
  start(): Promise<void>
  stop(): Promise<void>
  /** Resolves when the fetches and polls started so far are done (tests). */
  settled(): Promise<void>
}
