/**
 * The lease table's statements. Each statement touches one lease row at a time and runs
 * outside any transaction: a renewal waits on the FOR SHARE lock of its own fenced write in
 * flight, a takeover is not made while another node's fenced write holds the row (that is
 * the fence working), and holding one row lock while waiting for another could deadlock with
 * a transaction that holds several partitions.
 */
import { ConfigError } from '../config/index.ts'
import { iso } from '../shared/index.ts'
import type { PgDatabase } from '../state/index.ts'

/** The advisory lock class that serialises two starts under one node id. */
const NODE_LOCK = 0x46_43_4e // 'FCN'

export interface Registration {
  nodeId: string
  httpUrl: string
  mqttPort: number | undefined
  leaseMs: number
  now: number
}

/**
 * Enter the node in cluster_nodes, refusing a live namesake, and give up whatever leases a
 * crashed earlier run under this id left (their epochs are of no use to this run, and a
 * process that is still somewhere is fenced out: the owner changed).
 */
export async function registerNode(db: PgDatabase, r: Registration): Promise<void> {
  await db.tx(async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [NODE_LOCK, r.nodeId])
    const found = await c.query<{ last_seen: string; stopped_at: string | null }>(
      'SELECT last_seen, stopped_at FROM cluster_nodes WHERE id = $1 FOR UPDATE',
      [r.nodeId],
    )
    const prior = found.rows[0]
    if (prior && prior.stopped_at === null && Number(prior.last_seen) > r.now - r.leaseMs) {
      throw new ConfigError(
        'FC_NODE_ID',
        `another live node is named ${r.nodeId} (last seen ${iso(Number(prior.last_seen))}): give each node its own FC_NODE_ID`,
      )
    }
    await c.query(
      `INSERT INTO cluster_nodes (id, http_url, mqtt_port, started_at, last_seen, stopped_at)
       VALUES ($1, $2, $3, $4, $4, NULL)
       ON CONFLICT (id) DO UPDATE SET http_url = $2, mqtt_port = $3, started_at = $4, last_seen = $4, stopped_at = NULL`,
      [r.nodeId, r.httpUrl, r.mqttPort ?? null, r.now],
    )
    await c.query('UPDATE cluster_leases SET owner = NULL, expires_at = 0 WHERE owner = $1', [r.nodeId])
  })
}

/** Step 1 of a round: this node is alive. False when another run took the id since. */
export async function heartbeat(
  db: PgDatabase,
  nodeId: string,
  startedAt: number,
  now: number,
): Promise<boolean> {
  const r = await db.query(
    'UPDATE cluster_nodes SET last_seen = $3 WHERE id = $1 AND started_at = $2 AND stopped_at IS NULL',
    [nodeId, startedAt, now],
  )
  return (r.rowCount ?? 0) > 0
}

/** Every community is a partition: its lease row exists (free) from the first round on. */
export async function ensurePartitions(db: PgDatabase): Promise<void> {
  await db.query(
    'INSERT INTO cluster_leases (partition) SELECT id FROM communities ON CONFLICT (partition) DO NOTHING',
  )
}

/** Extend a lease this node holds at `epoch`; false when it has moved. */
export async function renew(
  db: PgDatabase,
  nodeId: string,
  partition: string,
  epoch: string,
  expiresAt: number,
): Promise<boolean> {
  const r = await db.query(
    'UPDATE cluster_leases SET expires_at = $4 WHERE partition = $1 AND owner = $2 AND epoch = $3',
    [partition, nodeId, epoch, expiresAt],
  )
  return (r.rowCount ?? 0) > 0
}

/**
 * Take a free or expired lease: the new epoch, or undefined when another node was first or a
 * fenced write holds the row (FOR SHARE). It does not wait for that write: a round that waited
 * would stop renewing this node's own leases; the next round tries again, and a writer paused
 * in its transaction is ended by the database (the fence's stallMs).
 */
export async function take(
  db: PgDatabase,
  nodeId: string,
  partition: string,
  now: number,
  leaseMs: number,
): Promise<string | undefined> {
  const r = await db.query<{ epoch: string }>(
    `UPDATE cluster_leases SET owner = $2, epoch = epoch + 1, expires_at = $4, acquired_at = $3
     WHERE partition = (SELECT partition FROM cluster_leases
       WHERE partition = $1 AND (owner IS NULL OR expires_at <= $3) FOR UPDATE SKIP LOCKED)
     RETURNING epoch`,
    [partition, nodeId, now, now + leaseMs],
  )
  const epoch = r.rows[0]?.epoch
  return epoch === undefined ? undefined : String(epoch)
}

/** Give a lease up (free for the others at their next round). */
export async function release(
  db: PgDatabase,
  nodeId: string,
  partition: string,
  epoch: string,
): Promise<void> {
  await db.query(
    'UPDATE cluster_leases SET owner = NULL, expires_at = 0 WHERE partition = $1 AND owner = $2 AND epoch = $3',
    [partition, nodeId, epoch],
  )
}

export interface Census {
  /** Live nodes (seen within the lease, not stopped), this one included. */
  live: string[]
  /** Partitions held unexpired, by owner. */
  holdings: Map<string, number>
  /** Partitions free or expired, in partition order. */
  free: string[]
  /** How many partitions there are. */
  partitions: number
  /** Every partition (a lease whose community is gone is none). */
  all: Set<string>
}

export async function census(db: PgDatabase, now: number, leaseMs: number): Promise<Census> {
  const nodes = await db.query<{ id: string }>(
    'SELECT id FROM cluster_nodes WHERE last_seen > $1 AND stopped_at IS NULL ORDER BY id',
    [now - leaseMs],
  )
  const leases = await db.query<{ partition: string; owner: string | null; expires_at: string }>(
    `SELECT l.partition, l.owner, l.expires_at FROM cluster_leases l
     JOIN communities c ON c.id = l.partition ORDER BY l.partition`,
  )
  const holdings = new Map<string, number>()
  const free: string[] = []
  for (const l of leases.rows) {
    if (l.owner === null || Number(l.expires_at) <= now) free.push(l.partition)
    else holdings.set(l.owner, (holdings.get(l.owner) ?? 0) + 1)
  }
  return {
    live: nodes.rows.map((n) => n.id),
    holdings,
    free,
    partitions: leases.rows.length,
    all: new Set(leases.rows.map((l) => l.partition)),
  }
}

/**
 * How many partitions this node should give up: what it holds above its share, when some
 * live node holds less than its share (and no more than those are short of), so that a new
 * node gets its part and a settled cluster never moves anything.
 */
export function surplus(c: Census, nodeId: string, mine: number, target: number): number {
  if (mine <= target) return 0
  let short = 0
  for (const id of c.live) {
    if (id === nodeId) continue
    short += Math.max(0, target - (c.holdings.get(id) ?? 0))
  }
  return Math.min(mine - target, Math.max(0, short - c.free.length))
}
