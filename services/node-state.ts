/**
 * Where a node keeps its state, for the composition root: the embedded single node's SQLite
 * files in FC_DATA_DIR, or a cluster's PostgreSQL (FC_DATABASE_URL). Either way the stages get
 * the same repositories and a spool with the same promise (a QoS 1 message is acknowledged
 * only once it is committed); only a cluster's partitioned repositories are fenced.
 */

import fs from 'node:fs'
import path from 'node:path'
import type { Registry as Metrics } from 'prom-client'
import {
  type AlarmRepository,
  createPostgresAlarmRepository,
  createSqliteAlarmRepository,
} from './alarms/index.ts'
import {
  type AuditRepository,
  createPostgresAuditRepository,
  createSqliteAuditRepository,
} from './audit/index.ts'
import type { ClusterNode } from './cluster/index.ts'
import type { Config } from './config/index.ts'
import {
  createPostgresDispatchRepository,
  createSqliteDispatchRepository,
  type DispatchRepository,
} from './dispatch/index.ts'
import {
  createPostgresDutyRepository,
  createSqliteDutyRepository,
  type DutyRepository,
} from './duty/index.ts'
import {
  createPostgresFloorsRepository,
  createSqliteFloorsRepository,
  type FloorsRepository,
} from './floors/index.ts'
import type { IntakeLogEntry } from './intake/index.ts'
import {
  createPostgresLinkageRepository,
  createSqliteLinkageRepository,
  type LinkageRepository,
} from './linkage/index.ts'
import {
  createPostgresLivenessRepository,
  createSqliteLivenessRepository,
  type LivenessRepository,
} from './liveness/index.ts'
import {
  createPostgresMaintenanceRepository,
  createSqliteMaintenanceRepository,
  type MaintenanceRepository,
} from './maintenance/index.ts'
import {
  createPostgresPanelsRepository,
  createSqlitePanelsRepository,
  type PanelsRepository,
} from './panels/index.ts'
import { createPipeline, type Pipeline, type PipelineDeps } from './pipeline/index.ts'
import {
  createPostgresRegistryRepository,
  createSqliteRegistryRepository,
  type RegistryRepository,
} from './registry/index.ts'
import {
  createPostgresReportRepository,
  createSqliteReportRepository,
  type ReportRepository,
} from './reports/index.ts'
import type { Clock, Logger, QuietLog } from './shared/index.ts'
import { createPostgresSpool, createSpool, type PointSource, type PostgresSpool } from './spool/index.ts'
import { startSpoolThread } from './spool-thread/index.ts'
import {
  checkpointInBackground,
  openPostgres,
  openStateDatabase,
  type PartitionFence,
  type PgDatabase,
  partitionMoved,
  STATE_CHECKPOINT_MS,
} from './state/index.ts'
import type { Point } from './store/index.ts'

export interface NodeState {
  readonly repositories: {
    registry: RegistryRepository
    liveness: LivenessRepository
    alarms: AlarmRepository
    dispatch: DispatchRepository
    linkage: LinkageRepository
    maintenance: MaintenanceRepository
    panels: PanelsRepository
    reports: ReportRepository
    duty: DutyRepository
    audit: AuditRepository
    floors: FloorsRepository
  }
  /** What the intake and the stages append to (points; a cluster's log entries with them). */
  readonly spool: {
    append(points: readonly Point[], log?: readonly IntakeLogEntry[]): Promise<void>
  }
  /**
   * The spool's depth for its bound (../spool/bound.ts), read at each decision; a spool thread
   * also says when it is behind what it was given.
   */
  readonly points: Pick<PointSource, 'depth'> & { behind?(): boolean }
  /**
   * The pipeline that drains the spool into the telemetry store: built here on the node's
   * thread, or the one the spool thread runs (FC_THREADS=2, services/spool-thread).
   */
  pipeline(deps: Omit<PipelineDeps, 'spool'>): Pipeline
  /** Points committed and not yet in the store, for /readyz and the stop. */
  depth(): Promise<number>
  /** The state store answers (SQLite open; PostgreSQL reachable). */
  up(): boolean
  /**
   * What a full disk would break, for /readyz (issue #12): `spool`, whether the spool can commit
   * (a failed commit, then a probe write); `disk`, whether FC_DATA_DIR's file system has its
   * headroom. A cluster keeps both in PostgreSQL: its database check says it.
   */
  storage(): { spool?: boolean; disk?: boolean }
  close(): Promise<void>
  /** Set for a node of a cluster. */
  readonly cluster?: {
    db: PgDatabase
    spool: PostgresSpool
    /** The fence the repositories were given, bound to the cluster node once it exists. */
    bind(node: Pick<ClusterNode, 'fence' | 'databaseUp'>): void
  }
}

/**
 * Whether the file system under `dir` has its headroom: 64 MiB free or 2 % of its size,
 * whichever is less. Below it /readyz says not ready before the disk is full, so a load
 * balancer sends devices elsewhere while the spool can still commit what it is given.
 */
export function diskHasRoom(dir: string): boolean {
  try {
    const { bavail, blocks, bsize } = fs.statfsSync(dir)
    return bavail * bsize >= Math.min(64 * 1024 * 1024, 0.02 * blocks * bsize)
  } catch {
    return false
  }
}

/** The embedded node's spool on the node's own thread (FC_THREADS=1: the layout before issue #14). */
function spoolOnThisThread(config: Config, file: string) {
  const spool = createSpool({ file, commitMs: config.spoolCommitMs })
  return {
    parts: {
      spool,
      points: spool,
      depth: async () => spool.depth(),
      pipeline: (deps: Omit<PipelineDeps, 'spool'>) => createPipeline({ ...deps, spool }),
    },
    writable: () => spool.writable(),
    close: async () => spool.close(),
  }
}

/** The embedded node's spool and pipeline on a worker thread of their own (FC_THREADS=2). */
function spoolOnItsThread(config: Config, file: string, thread: { logger: Logger; metrics: Metrics }) {
  const spool = startSpoolThread({
    spoolFile: file,
    dataDir: config.dataDir,
    influx: config.influx,
    commitMs: config.spoolCommitMs,
    logLevel: config.logLevel,
    logger: thread.logger.child({ stage: 'spool' }),
    metrics: thread.metrics,
  })
  return {
    parts: {
      spool,
      points: spool.points,
      depth: () => spool.depth(),
      pipeline: () => spool.pipeline,
    },
    writable: () => spool.writable(),
    close: () => spool.close(),
  }
}

/** The embedded single node: state.db (WAL, synchronous=NORMAL) and spool.db (FULL). */
export function openEmbeddedState(
  config: Config,
  quietLog?: QuietLog,
  thread?: { logger: Logger; metrics: Metrics },
): NodeState {
  // State (registry, incidents, device conditions): WAL with synchronous=NORMAL, so every
  // committed change survives a crash of the process (SIGKILL) without an fsync on the alarm
  // path (an fsync here costs ~4 ms at p99, the alarm budget is 1 ms). The spool, which
  // carries the PUBACK promise, fsyncs every group commit (FULL).
  const stateDb = openStateDatabase(path.join(config.dataDir, 'state.db'), { synchronous: 'NORMAL' })
  const stopCheckpoints = checkpointInBackground(stateDb, STATE_CHECKPOINT_MS, (err) =>
    quietLog?.log(
      'error',
      `state:checkpoint:${err.message}`,
      { err: err.message },
      'checkpointing the state database failed; tried again shortly',
    ),
  )
  const spoolFile = path.join(config.dataDir, 'spool.db')
  const keeping =
    thread !== undefined && config.threads === 2
      ? spoolOnItsThread(config, spoolFile, thread)
      : spoolOnThisThread(config, spoolFile)
  return {
    repositories: {
      registry: createSqliteRegistryRepository(stateDb),
      liveness: createSqliteLivenessRepository(stateDb),
      alarms: createSqliteAlarmRepository(stateDb),
      dispatch: createSqliteDispatchRepository(stateDb),
      linkage: createSqliteLinkageRepository(stateDb),
      maintenance: createSqliteMaintenanceRepository(stateDb),
      panels: createSqlitePanelsRepository(stateDb),
      reports: createSqliteReportRepository(stateDb),
      duty: createSqliteDutyRepository(stateDb),
      audit: createSqliteAuditRepository(stateDb),
      floors: createSqliteFloorsRepository(stateDb),
    },
    ...keeping.parts,
    up: () => stateDb.open,
    storage: () => ({ spool: keeping.writable(), disk: diskHasRoom(config.dataDir) }),
    async close() {
      await keeping.close()
      stopCheckpoints()
      stateDb.close()
    },
  }
}

/**
 * A fence that waits for the cluster node: the repositories are built before the node can
 * join (it needs the HTTP address, known once the API listens); until then this node holds no
 * partition, so it loads nothing and writes nothing partitioned.
 */
function lateFence(): PartitionFence & { bind(node: Pick<ClusterNode, 'fence'>): void } {
  let fence: PartitionFence | undefined
  return {
    bind(node) {
      fence = node.fence
    },
    async hold(client, partition) {
      if (fence === undefined) throw partitionMoved(partition)
      await fence.hold(client, partition)
    },
    owned: () => fence?.owned() ?? [],
  }
}

/** A node of a cluster: everything in PostgreSQL, nothing that matters in FC_DATA_DIR. */
export async function openClusterState(
  config: Config & { cluster: NonNullable<Config['cluster']> },
  deps: { clock: Clock; logger: Logger; metrics: Metrics },
): Promise<NodeState> {
  const { cluster } = config
  const db = await openPostgres(cluster.databaseUrl, {
    applicationName: `firecircle ${cluster.nodeId}`,
    max: 20,
  })
  const fence = lateFence()
  const spool = createPostgresSpool({
    db,
    nodeId: cluster.nodeId,
    commitMs: config.spoolCommitMs,
    clock: deps.clock,
    logger: deps.logger.child({ stage: 'spool' }),
    metrics: deps.metrics,
  })
  let node: Pick<ClusterNode, 'fence' | 'databaseUp'> | undefined
  return {
    repositories: {
      registry: createPostgresRegistryRepository(db),
      liveness: createPostgresLivenessRepository(db, fence),
      alarms: createPostgresAlarmRepository(db, fence),
      dispatch: createPostgresDispatchRepository(db, fence),
      linkage: createPostgresLinkageRepository(db, fence),
      maintenance: createPostgresMaintenanceRepository(db, fence),
      panels: createPostgresPanelsRepository(db),
      reports: createPostgresReportRepository(db),
      duty: createPostgresDutyRepository(db),
      audit: createPostgresAuditRepository(db),
      floors: createPostgresFloorsRepository(db),
    },
    spool,
    points: spool,
    depth: () => spool.depth(),
    pipeline: (pipelineDeps) => createPipeline({ ...pipelineDeps, spool }),
    // The node's lease rounds are its check of the database (every leaseMs/5).
    up: () => node?.databaseUp() ?? true,
    storage: () => ({}),
    async close() {
      await spool.close().catch(() => {})
      await db.close().catch(() => {})
    },
    cluster: {
      db,
      spool,
      bind(n) {
        node = n
        fence.bind(n)
      },
    },
  }
}
