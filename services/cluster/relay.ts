/**
 * The relay of effects between nodes: a row in cluster_outbox and a NOTIFY in the sender's
 * transaction; every other node hears the NOTIFY on a connection of its own (LISTEN), reads
 * the rows by id and hands them to its listeners. A NOTIFY can be missed (the connection
 * broke, the database restarted), so each node also polls the last few seconds of the outbox;
 * ids are not a watermark — a BIGSERIAL id is taken at INSERT and committed in any order — so
 * the poll reads by time and skips the ids already delivered (remembered for twice the window).
 */
import pg from 'pg'
import client, { type Counter, type Registry as Metrics } from 'prom-client'
import { type Clock, createSerialQueue, type Logger, type Timer } from '../shared/index.ts'
import type { PgClient, PgDatabase } from '../state/index.ts'
import type { Relay } from './types.ts'

export const OUTBOX_CHANNEL = 'firecircle_outbox'
const POLL_MS = 500
/** The poll reads rows created this recently (a transaction slower than this relies on NOTIFY). */
const WINDOW_MS = 10_000
/** Rows older than this are removed, by any node, at most every CLEANUP_MS. */
const KEEP_MS = 60_000
const CLEANUP_MS = 10_000
const BACKOFF_MIN_MS = 250
const BACKOFF_MAX_MS = 5_000
/** A hard bound on the ids remembered, whatever the clock does. */
const REMEMBERED_MAX = 200_000

export interface RelayDeps {
  db: PgDatabase
  nodeId: string
  clock: Clock
  logger: Logger
  metrics?: Metrics | undefined
}

interface OutboxRow {
  id: string
  kind: string
  body: string
  origin: string
  created_at: string
}

function deliveredCounter(metrics: Metrics | undefined): Counter | undefined {
  if (metrics === undefined) return undefined
  return new client.Counter({
    name: 'firecircle_cluster_relay_delivered_total',
    help: 'Outbox rows of other nodes handed to this node’s listeners',
    labelNames: ['kind'],
    registers: [metrics],
  })
}

/** What the relay has handed over, remembered for twice the poll's window. */
function createDelivered() {
  const seen = new Map<string, number>()
  return {
    has: (id: string) => seen.has(id),
    add(id: string, createdAt: number) {
      seen.set(id, createdAt)
      if (seen.size > REMEMBERED_MAX) {
        const oldest = seen.keys().next().value
        if (oldest !== undefined) seen.delete(oldest)
      }
    },
    forgetBefore(t: number) {
      for (const [id, at] of seen) if (at < t) seen.delete(id)
    },
  }
}

interface ListenerEvents {
  /** Ids announced by NOTIFY. */
  ids(ids: string[]): void
  broken(err: unknown): void
  connected(): void
}

/**
 * The relay's own connection (not the pool's: LISTEN belongs to one session), opened again
 * with a growing pause on the clock whenever it breaks (the database restarted, the
 * connection was killed) — never a crash.
 */
function createListener(deps: RelayDeps, on: ListenerEvents) {
  const { db, nodeId, clock } = deps
  let running = false
  let listener: pg.Client | undefined
  let reconnectTimer: Timer | undefined
  let backoff = BACKOFF_MIN_MS
  /** LISTEN is in force on `listener`. */
  let listening = false

  function broken(c: pg.Client, err?: unknown): void {
    if (listener !== c) return
    listener = undefined
    listening = false
    c.removeAllListeners('notification')
    c.end().catch(() => {})
    on.broken(err ?? new Error('connection ended'))
    scheduleReconnect()
  }

  function scheduleReconnect(): void {
    if (!running || reconnectTimer !== undefined) return
    reconnectTimer = clock.at(clock.now() + backoff, () => {
      reconnectTimer = undefined
      void connect()
    })
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MS)
  }

  async function connect(): Promise<void> {
    if (!running) return
    // keepAlive: a connection cut without a word (a network partition) is noticed, not trusted forever.
    const c = new pg.Client({
      ...db.pool.options,
      application_name: `firecircle-relay-${nodeId}`,
      keepAlive: true,
    })
    c.on('error', (err) => broken(c, err))
    c.on('end', () => broken(c))
    c.on('notification', (msg) => {
      if (msg.channel !== OUTBOX_CHANNEL || !msg.payload) return
      // A group commit announces all its ids at once (createOutgoing).
      on.ids(msg.payload.split(','))
    })
    listener = c
    try {
      await c.connect()
      await c.query(`LISTEN ${OUTBOX_CHANNEL}`)
    } catch (err) {
      if (listener === c) broken(c, err)
      return
    }
    if (!running) {
      listener = undefined
      await c.end().catch(() => {})
      return
    }
    backoff = BACKOFF_MIN_MS
    listening = true
    on.connected()
  }

  return {
    connected: () => listening,
    async start() {
      running = true
      await connect()
    },
    async stop() {
      running = false
      reconnectTimer?.cancel()
      reconnectTimer = undefined
      const c = listener
      listener = undefined
      listening = false
      if (c !== undefined) {
        c.removeAllListeners('notification')
        await c.end().catch(() => {})
      }
    },
  }
}

type Listeners = Map<string, ((body: unknown, origin: string) => void)[]>

interface Delivery {
  nodeId: string
  delivered: ReturnType<typeof createDelivered>
  listeners: Listeners
  log: Logger
  counter: Counter | undefined
}

/** Hand rows to the listeners of their kind: in id order, each once, never this node's own. */
function deliver(rows: OutboxRow[], { nodeId, delivered, listeners, log, counter }: Delivery): void {
  rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))
  for (const row of rows) {
    if (delivered.has(row.id) || row.origin === nodeId) continue
    delivered.add(row.id, Number(row.created_at))
    let body: unknown
    try {
      body = JSON.parse(row.body)
    } catch {
      log.error({ id: row.id, kind: row.kind }, 'cluster relay: an outbox row is not JSON; skipped')
      continue
    }
    counter?.inc({ kind: row.kind })
    for (const fn of listeners.get(row.kind) ?? []) {
      try {
        fn(body, row.origin)
      } catch (err) {
        log.error({ err: (err as Error).message, kind: row.kind }, 'cluster relay: a listener failed')
      }
    }
  }
}

/** Rows in one group commit of the outbox; their ids, comma-separated, fit one NOTIFY payload (8,000 bytes). */
const GROUP_MAX = 400

/**
 * Sends outside a caller's transaction, group-committed: every send of the same turn of the
 * event loop (and of the commit in flight) in ONE transaction with ONE NOTIFY of all their
 * ids. A NOTIFY takes a database-wide lock from its commit until the commit is durable, so
 * a transaction each serialised every node's commits behind one fsync each: 1,000 devices
 * coming online (2,000 device.state events) held every PUBACK of the cluster for seconds
 * (bench/cluster.ts). Each send's promise resolves once its group is committed.
 */
function createOutgoing(db: PgDatabase, nodeId: string, clock: Clock) {
  type Waiting = { kind: string; text: string; resolve: () => void; reject: (err: Error) => void }
  let queue: Waiting[] = []
  let flushing = false

  async function commit(group: Waiting[]): Promise<void> {
    await db.tx(async (c) => {
      const r = await c.query<{ id: string }>(
        `INSERT INTO cluster_outbox (kind, body, origin, created_at)
           SELECT k, b, $3, $4 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(k, b, n) ORDER BY n
           RETURNING id`,
        [group.map((w) => w.kind), group.map((w) => w.text), nodeId, clock.now()],
      )
      await c.query('SELECT pg_notify($1, $2)', [OUTBOX_CHANNEL, r.rows.map((x) => String(x.id)).join(',')])
    })
  }

  async function flush(): Promise<void> {
    flushing = true
    while (queue.length > 0) {
      const group = queue.slice(0, GROUP_MAX)
      queue = queue.slice(GROUP_MAX)
      try {
        await commit(group)
        for (const w of group) w.resolve()
      } catch (err) {
        for (const w of group) w.reject(err instanceof Error ? err : new Error(String(err)))
      }
    }
    flushing = false
  }

  return {
    add(kind: string, text: string): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        queue.push({ kind, text, resolve, reject })
        if (!flushing) {
          flushing = true
          setImmediate(() => void flush())
        }
      })
    },
  }
}

export function createRelay(deps: RelayDeps): Relay {
  const { db, nodeId, clock } = deps
  const log = deps.logger.child({ part: 'relay' })
  const listeners: Listeners = new Map()
  const delivered = createDelivered()
  const counter = deliveredCounter(deps.metrics)
  const work = createSerialQueue()
  let running = false
  let pollTimer: Timer | undefined
  let notified: string[] = []
  let fetchQueued = false
  let pollQueued = false
  let lastCleanup = 0
  let outage = false

  function trouble(what: string, err: unknown): void {
    if (outage) return
    outage = true
    log.warn({ err: (err as Error).message }, `cluster relay: ${what}; polling and reconnecting`)
  }

  async function fetchIds(ids: string[]): Promise<void> {
    if (ids.length === 0) return
    const r = await db.query<OutboxRow>(
      'SELECT id, kind, body, origin, created_at FROM cluster_outbox WHERE id = ANY($1::bigint[]) AND origin <> $2',
      [ids, nodeId],
    )
    deliver(r.rows, { nodeId, delivered, listeners, log, counter })
  }

  function fetchNotified(): void {
    if (fetchQueued) return
    fetchQueued = true
    void work.run(async () => {
      fetchQueued = false
      const ids = notified
      notified = []
      try {
        await fetchIds(ids)
      } catch (err) {
        // The poll finds them: they are in its window.
        trouble('cannot read notified outbox rows', err)
      }
    })
  }

  async function pollOnce(): Promise<void> {
    const now = clock.now()
    const r = await db.query<{ id: string }>(
      'SELECT id FROM cluster_outbox WHERE created_at > $1 AND origin <> $2 ORDER BY id',
      [now - WINDOW_MS, nodeId],
    )
    await fetchIds(r.rows.map((x) => String(x.id)).filter((id) => !delivered.has(id)))
    delivered.forgetBefore(now - 2 * WINDOW_MS)
    if (now - lastCleanup >= CLEANUP_MS) {
      lastCleanup = now
      await db.query('DELETE FROM cluster_outbox WHERE created_at < $1', [now - KEEP_MS])
    }
    if (listen.connected()) outage = false
  }

  function poll(): void {
    if (pollQueued) return
    pollQueued = true
    void work.run(async () => {
      pollQueued = false
      try {
        await pollOnce()
      } catch (err) {
        trouble('cannot poll the outbox', err)
      }
    })
  }

  const listen = createListener(deps, {
    ids(ids) {
      notified.push(...ids)
      fetchNotified()
    },
    broken: (err) => trouble('the LISTEN connection broke', err),
    connected() {
      if (outage) log.info('cluster relay: listening again')
      outage = false
      // What was committed while nobody listened.
      poll()
    },
  })

  function pollLoop(): void {
    pollTimer = undefined
    if (!running) return
    pollTimer = clock.at(clock.now() + POLL_MS, pollLoop)
    poll()
  }

  const outgoing = createOutgoing(db, nodeId, clock)
  return {
    async send(kind, body, tx?: PgClient) {
      const text = JSON.stringify(body)
      if (tx === undefined) return outgoing.add(kind, text)
      const r = await tx.query<{ id: string }>(
        'INSERT INTO cluster_outbox (kind, body, origin, created_at) VALUES ($1, $2, $3, $4) RETURNING id',
        [kind, text, nodeId, clock.now()],
      )
      await tx.query('SELECT pg_notify($1, $2)', [OUTBOX_CHANNEL, String(r.rows[0]!.id)])
    },
    on(kind, fn) {
      const list = listeners.get(kind) ?? []
      list.push(fn)
      listeners.set(kind, list)
    },
    async start() {
      if (running) return
      // What is in the outbox already was meant for the nodes running when it was sent.
      const now = clock.now()
      const r = await db.query<{ id: string; created_at: string }>(
        'SELECT id, created_at FROM cluster_outbox WHERE created_at > $1',
        [now - WINDOW_MS],
      )
      for (const row of r.rows) delivered.add(String(row.id), Number(row.created_at))
      running = true
      await listen.start()
      pollTimer = clock.at(clock.now() + POLL_MS, pollLoop)
    },
    async stop() {
      running = false
      pollTimer?.cancel()
      pollTimer = undefined
      await listen.stop()
      await work.idle()
    },
    settled: () => work.idle(),
  }
}
