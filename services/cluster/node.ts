/**
 * A node of the cluster: its row in cluster_nodes, its leases on the partitions of work (one
 * per community), the rounds that renew, take and balance them, and the local belief the
 * work stages act on.
 *
 * The belief is deliberately pessimistic: a lease counts as owned only until its last renewal
 * + the lease − a safety margin, so a node cut off from the database stops believing before
 * the others may take over, and owns() turns false by itself with no round succeeding. The
 * fence (./fence.ts) is what makes this safe when the belief is wrong (a paused process): the
 * database refuses the write.
 */
import client, { type Counter, type Registry as Metrics } from 'prom-client'
import { type Clock, createSerialQueue, iso, type Logger, type Timer } from '../shared/index.ts'
import type { PgDatabase } from '../state/index.ts'
import { createFence } from './fence.ts'
import { census, ensurePartitions, heartbeat, registerNode, release, renew, surplus, take } from './leases.ts'
import { createRelay } from './relay.ts'
import type { ClusterNode, ClusterNodeDeps, ClusterNodeView, OwnershipChange } from './types.ts'

interface Held {
  epoch: string
  /** The clock's time just before the statement that last took or renewed the lease. */
  renewedAt: number
}

/** How long before the database's expiry this node stops believing it owns a lease. */
export function safetyMargin(leaseMs: number): number {
  return Math.min(leaseMs / 2, Math.max(1000, leaseMs / 5))
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** The owned set's reports to the listeners: one at a time, in order, each awaited. */
function createChangeReports(log: Logger, counter: Counter | undefined) {
  const listeners: ((change: OwnershipChange) => Promise<void> | void)[] = []
  const queue = createSerialQueue()
  let reported: readonly string[] = []
  return {
    listen: (fn: (change: OwnershipChange) => Promise<void> | void) => void listeners.push(fn),
    /** Report `now` if it differs from what was reported last. */
    report(now: readonly string[]) {
      if (sameList(now, reported)) return
      const before = new Set(reported)
      const after = new Set(now)
      const change: OwnershipChange = {
        owned: now,
        gained: now.filter((p) => !before.has(p)),
        lost: reported.filter((p) => !after.has(p)),
      }
      reported = now
      counter?.inc({ change: 'gained' }, change.gained.length)
      counter?.inc({ change: 'lost' }, change.lost.length)
      log.info({ gained: change.gained, lost: change.lost, owned: now.length }, 'cluster: partitions changed')
      void queue.run(async () => {
        for (const fn of listeners) {
          try {
            await fn(change)
          } catch (err) {
            log.error({ err: (err as Error).message }, 'cluster: a listener of partition changes failed')
          }
        }
      })
    },
    idle: () => queue.idle(),
  }
}

function registerMetrics(metrics: Metrics | undefined, owned: () => number, up: () => boolean) {
  if (metrics === undefined) return undefined
  new client.Gauge({
    name: 'firecircle_cluster_partitions_owned',
    help: 'Partitions (communities) whose work this node holds the lease of',
    registers: [metrics],
    collect() {
      this.set(owned())
    },
  })
  new client.Gauge({
    name: 'firecircle_cluster_database_up',
    help: '1 while the last lease round reached PostgreSQL, else 0',
    registers: [metrics],
    collect() {
      this.set(up() ? 1 : 0)
    },
  })
  return new client.Counter({
    name: 'firecircle_cluster_lease_changes_total',
    help: 'Partitions gained or lost by this node',
    labelNames: ['change'],
    registers: [metrics],
  })
}

interface ShareOut {
  db: PgDatabase
  nodeId: string
  clock: Clock
  leaseMs: number
  held: Map<string, Held>
  report: () => void
}

/**
 * Steps 2 to 4 of a round: renew what this node holds, take free or expired leases up to its
 * share (ceil(partitions / live nodes)), give up its surplus when another live node is short.
 */
async function shareOut({ db, nodeId, clock, leaseMs, held, report }: ShareOut): Promise<void> {
  await ensurePartitions(db)
  for (const [p, h] of [...held]) {
    const at = clock.now()
    if (await renew(db, nodeId, p, h.epoch, at + leaseMs)) h.renewedAt = at
    else held.delete(p)
  }
  const c = await census(db, clock.now(), leaseMs)
  const target = Math.ceil(c.partitions / Math.max(1, c.live.length))
  for (const p of c.free) {
    if (held.size >= target) break
    const at = clock.now()
    const epoch = await take(db, nodeId, p, at, leaseMs)
    if (epoch !== undefined) held.set(p, { epoch, renewedAt: at })
  }
  const extra = surplus(c, nodeId, held.size, target)
  const given = [...held].sort(([x], [y]) => (x < y ? -1 : 1)).slice(held.size - extra)
  // A community removed since is no partition any more: its lease is given up too.
  for (const entry of held) if (!c.all.has(entry[0]) && !given.includes(entry)) given.push(entry)
  // Belief goes first: this node stops acting on them before the rows say they are free.
  for (const [p] of given) held.delete(p)
  report()
  for (const [p, h] of given) await release(db, nodeId, p, h.epoch)
}

/** At stop: every lease free for the others at once, the node marked stopped. */
async function giveUp(
  db: PgDatabase,
  nodeId: string,
  startedAt: number,
  now: number,
  mine: [string, Held][],
): Promise<void> {
  for (const [p, h] of mine) await release(db, nodeId, p, h.epoch)
  await db.query('UPDATE cluster_nodes SET stopped_at = $3 WHERE id = $1 AND started_at = $2', [
    nodeId,
    startedAt,
    now,
  ])
}

/** The live owner of a partition (to forward a request to). */
async function ownerOf(
  db: PgDatabase,
  now: number,
  leaseMs: number,
  partition: string,
): Promise<{ node: string; httpUrl: string } | undefined> {
  const r = await db.query<{ owner: string; http_url: string }>(
    `SELECT l.owner, n.http_url FROM cluster_leases l JOIN cluster_nodes n ON n.id = l.owner
     WHERE l.partition = $1 AND l.expires_at > $2 AND n.stopped_at IS NULL AND n.last_seen > $3`,
    [partition, now, now - leaseMs],
  )
  const row = r.rows[0]
  return row ? { node: row.owner, httpUrl: row.http_url } : undefined
}

export function createClusterNode(deps: ClusterNodeDeps): ClusterNode {
  const { db, nodeId, leaseMs, clock } = deps
  const log = deps.logger.child({ stage: 'cluster', node: nodeId })
  const interval = Math.max(1, Math.floor(leaseMs / 5))
  const margin = safetyMargin(leaseMs)
  const held = new Map<string, Held>()
  const valid = (h: Held) => clock.now() < h.renewedAt + leaseMs - margin
  const owned = (): string[] =>
    [...held]
      .filter(([, h]) => valid(h))
      .map(([p]) => p)
      .sort()

  let running = false
  let startedAt = 0
  let timer: Timer | undefined
  let inFlight: Promise<void> | undefined
  let inFlightSince = 0
  let up = false
  let outage = false
  const counter = registerMetrics(
    deps.metrics,
    () => owned().length,
    () => up,
  )
  const changes = createChangeReports(log, counter)
  const report = () => changes.report(owned())

  function down(why: string): void {
    up = false
    if (outage) return
    outage = true
    log.warn(
      { err: why },
      'cluster: cannot reach the database; the partitions held stop counting at their lease',
    )
  }

  function back(): void {
    if (outage) log.info('cluster: the database answers again')
    outage = false
    up = true
  }

  /** Another run started under this id while this one was away: it has the id, this one stops. */
  function superseded(): void {
    log.error('cluster: another run of this node id started since; this one stops its lease rounds')
    running = false
    timer?.cancel()
    held.clear()
  }

  async function round(): Promise<void> {
    try {
      if (!(await heartbeat(db, nodeId, startedAt, clock.now()))) {
        superseded()
        return
      }
      await shareOut({ db, nodeId, clock, leaseMs, held, report })
      back()
    } catch (err) {
      down((err as Error).message)
    } finally {
      report()
    }
  }

  function runRound(): Promise<void> {
    inFlightSince = clock.now()
    const p = round().finally(() => {
      if (inFlight === p) inFlight = undefined
    })
    inFlight = p
    return p
  }

  function tick(): void {
    timer = undefined
    if (!running) return
    timer = clock.at(clock.now() + interval, tick)
    // Even while the database is away: leases whose validity ran out are reported lost.
    report()
    if (inFlight === undefined) void runRound()
    else if (clock.now() - inFlightSince >= leaseMs / 2) {
      down(`a lease round has waited on the database for ${clock.now() - inFlightSince} ms`)
    }
  }

  const relay = createRelay({ db, nodeId, clock, logger: log, metrics: deps.metrics })
  const epochOf = (p: string) => held.get(p)?.epoch

  return {
    nodeId,
    relay,
    fence: createFence({ nodeId, clock, epochOf, owned, stallMs: deps.stallMs ?? leaseMs }),
    owns: (p) => {
      const h = held.get(p)
      return h !== undefined && valid(h)
    },
    owned,
    onChange: (fn) => changes.listen(fn),
    databaseUp: () => up,
    async start() {
      if (running) return
      startedAt = clock.now()
      await registerNode(db, {
        nodeId,
        httpUrl: deps.httpUrl,
        mqttPort: deps.mqttPort,
        leaseMs,
        now: startedAt,
      })
      running = true
      up = true
      await runRound()
      if (running) timer = clock.at(clock.now() + interval, tick)
      log.info({ leaseMs, owned: owned().length }, 'cluster: node started')
    },
    async stop() {
      const wasRunning = running
      running = false
      timer?.cancel()
      timer = undefined
      await inFlight
      const mine = [...held]
      held.clear()
      report()
      // The work stages stop (the listeners) before the leases are free for the others.
      await changes.idle()
      if (!wasRunning) return
      try {
        await giveUp(db, nodeId, startedAt, clock.now(), mine)
      } catch (err) {
        log.warn(
          { err: (err as Error).message },
          'cluster: could not give the leases up; they expire by themselves',
        )
      }
    },
    ownerOf: (partition) => ownerOf(db, clock.now(), leaseMs, partition),
    view: () => clusterView(db, clock, leaseMs),
    async settled() {
      await inFlight
      await changes.idle()
    },
  }
}

/** How long a node that stopped or died stays listed in GET /api/cluster. */
const LISTED_MS = 3_600_000

async function clusterView(db: PgDatabase, clock: Clock, leaseMs: number): Promise<ClusterNodeView> {
  const now = clock.now()
  const nodes = await db.query<{
    id: string
    last_seen: string
    stopped_at: string | null
    partitions: string
  }>(
    `SELECT n.id, n.last_seen, n.stopped_at,
       (SELECT count(*) FROM cluster_leases l WHERE l.owner = n.id AND l.expires_at > $1) AS partitions
     FROM cluster_nodes n WHERE n.last_seen > $2 ORDER BY n.id`,
    [now, now - LISTED_MS],
  )
  const total = await db.query<{ n: string }>('SELECT count(*) AS n FROM communities')
  return {
    nodes: nodes.rows.map((n) => {
      const alive = n.stopped_at === null && Number(n.last_seen) > now - leaseMs
      return {
        id: n.id,
        alive,
        lastSeen: iso(Number(n.last_seen)),
        partitions: alive ? Number(n.partitions) : 0,
      }
    }),
    partitions: Number(total.rows[0]?.n ?? 0),
  }
}
