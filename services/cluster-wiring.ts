/**
 * The composition root's part for a node of a cluster (FC_DATABASE_URL): how the stages of one
 * node meet the others. Nothing here decides anything of the domain; it connects:
 *
 * - **Requests follow the work.** An officer's request about an incident (its detail, an
 *   action, a reply, its circle, what linkage did) is answered by the node that holds the
 *   lease on the incident's community: another node passes it on over HTTP, once (a forwarded
 *   request is never forwarded again), and answers 503 when that node does not answer.
 * - **Effects reach every node's clients** through the relay (cluster_outbox + NOTIFY): the
 *   service's MQTT messages (offers, commands) are published by every node to the clients
 *   connected there; the events the consoles' streams show go to every node's stream; a
 *   responder's position and replies reach every node's bus (the owner's dispatch acts on a
 *   reply); a registry write is reloaded by every other node.
 * - **The work restarts when the partitions change**: linkage, dispatch and the alarm engine
 *   stop, the open incidents are loaded again for the communities held now, and they start
 *   again — the restart path that resumes timers from stored deadlines.
 */
import os from 'node:os'
import type { Registry as Metrics } from 'prom-client'
import type { AlarmEngine, IncidentBook } from './alarms/index.ts'
import type { ApiInstance } from './api/index.ts'
import type { Publish } from './broker/index.ts'
import { type ClusterNode, createClusterNode, registerClusterRoute } from './cluster/index.ts'
import type { ClusterSettings, Config } from './config/index.ts'
import type { Dispatcher } from './dispatch/index.ts'
import type { EventBus, FireCircleEvents } from './events/index.ts'
import { applyLogEntry, createLivePath, type ResponderReply } from './intake/index.ts'
import type { Linkage } from './linkage/index.ts'
import type { Liveness } from './liveness/index.ts'
import type { Maintenance } from './maintenance/index.ts'
import type { NodeState } from './node-state.ts'
import type { RegistryChange } from './registry/index.ts'
import { type Clock, createSerialQueue, type Logger } from './shared/index.ts'
import { createIntakeLogReader } from './spool/index.ts'
import type { PgDatabase } from './state/index.ts'

/** The header that marks a request passed on by another node. */
export const FORWARDED = 'x-firecircle-forwarded'

/** Routes answered by the node that runs the incident's community (the `:id` is an incident). */
const INCIDENT_ROUTE = /^\/api\/(?:linkage\/)?incidents\/:id(?:\/|$)/
/**
 * Routes answered by the node that runs the device's community (the `:id` is a device): its
 * live state and its conditions are kept there.
 */
const DEVICE_ROUTE = /^\/api\/devices\/:id(?:\/|$)/

/**
 * The maintenance routes (docs/PROTOCOL.md §The monitoring centre's daily work): a work order's
 * (`:id` a work order), a building's test mode and maintenance windows (`:id` a building) and a
 * reported hazard (the body's `building`) are answered by the node that runs its community,
 * where the order's timers, the test modes and the windows are kept.
 */
const WORK_ORDER_ROUTE = /^\/api\/work-orders\/:id(?:\/|$)/
const BUILDING_ROUTE = /^\/api\/buildings\/:id\/(?:test-mode|maintenance-windows|floors)(?:\/|$)/
const HAZARD_ROUTE = '/api/work-orders'

const HOP_HEADERS = ['authorization', 'content-type', 'accept', 'last-event-id']
/** What the owner's answer keeps (a floor plan's image: its type, nosniff, its CSP). */
const ANSWER_HEADERS = ['content-type', 'x-content-type-options', 'content-security-policy', 'cache-control']

export interface ForwardingDeps {
  cluster: Pick<ClusterNode, 'nodeId' | 'owns' | 'ownerOf'>
  db: Pick<PgDatabase, 'query'>
  /** A device's community, from this node's registry. */
  communityOfDevice: (id: string) => string | undefined
  /** A building's community, from this node's registry. */
  communityOfBuilding?: (id: string) => string | undefined
  logger: Logger
  /** How long the owner has to answer. */
  timeoutMs?: number
}

async function communityOfRow(
  db: ForwardingDeps['db'],
  table: 'incidents' | 'work_orders',
  id: string,
): Promise<string | undefined> {
  const r = await db.query<{ community: string }>(`SELECT community FROM ${table} WHERE id = $1`, [id])
  return r.rows[0]?.community
}

/** The community whose node answers the request, or undefined: any node answers it. */
function communityOfRequest(
  deps: ForwardingDeps,
  request: { routeOptions: { url?: string }; method: string; params: unknown; body: unknown },
): Promise<string | undefined> | string | undefined {
  const route = request.routeOptions.url ?? ''
  const id = (request.params as { id?: string }).id
  if (route === HAZARD_ROUTE && request.method === 'POST') {
    const building = (request.body as { building?: unknown } | undefined)?.building
    return typeof building === 'string' ? deps.communityOfBuilding?.(building) : undefined
  }
  if (id === undefined) return undefined
  if (INCIDENT_ROUTE.test(route)) return communityOfRow(deps.db, 'incidents', id)
  if (WORK_ORDER_ROUTE.test(route)) return communityOfRow(deps.db, 'work_orders', id)
  if (DEVICE_ROUTE.test(route)) return deps.communityOfDevice(id)
  if (BUILDING_ROUTE.test(route)) return deps.communityOfBuilding?.(id)
  return undefined
}

/** Pass an incident's requests to the node that runs its community (see the module's comment). */
export function forwardToOwner(api: ApiInstance, deps: ForwardingDeps): void {
  const { cluster, logger } = deps
  api.addHook('preHandler', async (request, reply) => {
    if (request.headers[FORWARDED] !== undefined) return
    const community = await communityOfRequest(deps, request)
    if (community === undefined || cluster.owns(community)) return
    const owner = await cluster.ownerOf(community)
    if (owner === undefined || owner.node === cluster.nodeId) return
    const headers: Record<string, string> = { [FORWARDED]: cluster.nodeId }
    for (const h of HOP_HEADERS) {
      const v = request.headers[h]
      if (typeof v === 'string') headers[h] = v
    }
    let res: Response
    try {
      res = await fetch(`${owner.httpUrl}${request.url}`, {
        method: request.method,
        headers,
        // A floor plan's image is its body as it came (a buffer); every other body is JSON.
        ...(request.body !== undefined && request.method !== 'GET'
          ? { body: Buffer.isBuffer(request.body) ? request.body : JSON.stringify(request.body) }
          : {}),
        signal: AbortSignal.timeout(deps.timeoutMs ?? 10_000),
      })
    } catch (err) {
      logger.warn(
        { url: request.url, owner: owner.node, err: (err as Error).message },
        'the owner did not answer',
      )
      return reply.code(503).send({
        error: 'unavailable',
        message: `node ${owner.node}, which runs community ${community}, did not answer; try again`,
      })
    }
    const body = Buffer.from(await res.arrayBuffer())
    reply.code(res.status)
    for (const h of ANSWER_HEADERS) {
      const v = res.headers.get(h)
      if (v !== null) reply.header(h, v)
    }
    return reply.send(body)
  })
}

/** The events a console's stream shows: heard on the node that emits them, shown on every node. */
export const STREAM_EVENTS = [
  'incident',
  'signal',
  'linkage.notification',
  'linkage.escalation',
  'dispatch.offer',
  'dispatch.reply',
  'dispatch.escalation',
  'device.state',
  'work_order',
  'test.signal',
  'duty.check',
] as const satisfies readonly (keyof FireCircleEvents)[]

/** Events of other nodes that this node's stages hear on their bus. */
const BUS_EVENTS = new Set<string>(['responder.location', 'responder.reply'])

interface RelayedEvent {
  event: string
  args: unknown[]
}

interface RelayedMessage {
  topic: string
  /** base64 */
  payload: string
  qos: 0 | 1
}

export interface RelayWiringDeps {
  relay: ClusterNode['relay']
  /** The node's own bus (its stages). */
  events: EventBus
  /** The bus the node's SSE stream listens to: this node's events and every other node's. */
  streamEvents: EventBus
  registry: { refresh(change: RegistryChange): Promise<void> }
  /** An administrator's linkage rules changed on another node. */
  linkage: Pick<Linkage, 'refreshRules'>
  /** The local broker's publish (to the clients connected to this node). */
  publishLocal: Publish
  logger: Logger
}

/**
 * Connect this node's bus to the relay. Returns the `publish` the stages that send are given
 * (the local broker and, through the relay, every other node's).
 */
export function wireRelay(deps: RelayWiringDeps): {
  publish: Publish
  relayBus: (event: string, body: unknown) => Promise<void>
} {
  const { relay, events, streamEvents, registry, linkage, publishLocal, logger } = deps
  const owner = { stage: 'cluster-relay' }
  const failed = (what: string) => (err: Error) => logger.warn({ err: err.message }, `${what} not relayed`)
  const emit = (bus: EventBus, e: RelayedEvent) =>
    (bus.emit as (name: string, ...args: unknown[]) => void)(e.event, ...e.args)

  relay.on('bus', (body) => {
    const e = body as RelayedEvent
    if (!BUS_EVENTS.has(e.event)) return
    emit(events, e)
    emit(streamEvents, e)
  })
  relay.on('stream', (body) => emit(streamEvents, body as RelayedEvent))
  relay.on('registry', (body) => {
    registry
      .refresh(body as RegistryChange)
      .catch((err: Error) =>
        logger.error(
          { err: err.message, change: body },
          'a registry change of another node was not reloaded',
        ),
      )
  })
  relay.on('mqtt', (body) => {
    const m = body as RelayedMessage
    publishLocal(m.topic, Buffer.from(m.payload, 'base64'), m.qos).catch((err: Error) =>
      logger.warn({ err: err.message, topic: m.topic }, 'a message of another node was not published here'),
    )
  })

  for (const name of STREAM_EVENTS) {
    ;(events.on as (o: object, n: string, fn: (...args: unknown[]) => void) => void)(
      owner,
      name,
      (...args) => {
        emit(streamEvents, { event: name, args })
        relay.send('stream', { event: name, args }).catch(failed(name))
      },
    )
  }
  events.on(owner, 'registry.changed', (change) => {
    relay.send('registry', change).catch(failed('registry change'))
  })
  relay.on('linkage.rules', (body) => {
    const { community } = body as { community: string }
    linkage
      .refreshRules(community)
      .catch((err: Error) =>
        logger.error({ err: err.message, community }, 'linkage rules of another node were not reloaded'),
      )
  })
  events.on(owner, 'linkage.rules', (change) => {
    relay.send('linkage.rules', change).catch(failed('linkage rules'))
  })

  const publish: Publish = (topic, payload, qos) => {
    const local = publishLocal(topic, payload, qos)
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload
    relay.send('mqtt', { topic, payload: bytes.toString('base64'), qos }).catch(failed(`message on ${topic}`))
    return local
  }
  return {
    publish,
    relayBus: (event, body) => relay.send('bus', { event, args: [body] }),
  }
}

/**
 * The dispatcher's view of the bus on a node of a cluster: a responder's reply reaches every
 * node, and only the one that runs the incident (it is open in its book) hears it —
 * the others would count it as a reply to an unknown incident.
 */
export function scopedReplies(events: EventBus, runsIncident: (incident: string) => boolean): EventBus {
  return {
    ...events,
    on(owner, name, listener) {
      if (name !== 'responder.reply') return events.on(owner, name, listener)
      const only = ((r: ResponderReply) => {
        if (runsIncident(r.incident)) (listener as (r: ResponderReply) => void)(r)
      }) as typeof listener
      return events.on(owner, name, only)
    },
  }
}

/** The stages that do a partition's work: restarted together when the partitions change. */
export interface PartitionWork {
  liveness: Pick<Liveness, 'reload'>
  incidents: Pick<IncidentBook, 'reload'>
  engine: Pick<AlarmEngine, 'start' | 'stop' | 'flushed'>
  dispatcher: Pick<Dispatcher, 'start' | 'stop'>
  linkage: Pick<Linkage, 'start' | 'stop' | 'refreshRules'>
  /** Work orders and test modes of the communities held (optional: a node without the stage). */
  maintenance?: Pick<Maintenance, 'start' | 'stop'>
}

async function restartWork(work: PartitionWork): Promise<void> {
  work.linkage.stop()
  await work.dispatcher.stop()
  work.engine.stop()
  work.maintenance?.stop()
  // The devices' live state and the open incidents of the communities held now.
  await work.liveness.reload()
  await work.incidents.reload()
  await work.maintenance?.start()
  await work.engine.start()
  await work.dispatcher.start()
  await work.linkage.start()
}

/**
 * Restart the work, and again after a pause while it fails (the database away as the
 * partitions changed): a node must never hold communities it does not work.
 */
export async function restartUntilDone(
  work: PartitionWork,
  { clock, logger, stopped }: { clock: Clock; logger: Logger; stopped: () => boolean },
): Promise<void> {
  for (let attempt = 0; !stopped(); attempt++) {
    try {
      await restartWork(work)
      if (attempt > 0) logger.info({ attempts: attempt + 1 }, 'the work of the communities restarted')
      return
    } catch (err) {
      const pauseMs = Math.min(5000, 250 * 2 ** attempt)
      logger.error(
        { err: (err as Error).message, pauseMs },
        'the work of the communities did not restart; trying again',
      )
      await new Promise<void>((resolve) => clock.at(clock.now() + pauseMs, resolve))
    }
  }
}

export interface ClusterJoin {
  readonly node: ClusterNode
  /** The service's own MQTT messages: the local broker and every other node's. */
  publish: Publish
  /** A responder's message for the other nodes' buses. */
  relayBus(event: string, body: unknown): Promise<void>
  /** Give up the work (others take it at once) and stop the relay and the log reader. */
  leave(): Promise<void>
}

export interface JoinDeps {
  config: Config & { cluster: ClusterSettings }
  httpPort: number
  state: NonNullable<NodeState['cluster']>
  clock: Clock
  logger: Logger
  metrics: Metrics
  events: EventBus
  streamEvents: EventBus
  registry: RelayWiringDeps['registry']
  liveness: Pick<Liveness, 'reading' | 'seen' | 'status' | 'rejected' | 'clockWarning'>
  publishLocal: Publish
  work: PartitionWork
}

/** Where the other nodes reach this one: FC_NODE_URL, or FC_HOST (the host name for a wildcard). */
function nodeUrl(config: JoinDeps['config'], httpPort: number): string {
  if (config.cluster.nodeUrl !== undefined) return config.cluster.nodeUrl
  const wildcard = config.host === '0.0.0.0' || config.host === '::'
  return `http://${wildcard ? os.hostname() : config.host}:${httpPort}`
}

/**
 * Join the cluster: the node's membership and leases, the relay, and the intake log of the
 * communities it holds. Called once the API listens (the other nodes forward to it) and before
 * MQTT clients may connect.
 */
export async function joinCluster(deps: JoinDeps): Promise<ClusterJoin> {
  const { config, state, clock, logger, work } = deps
  const node = createClusterNode({
    db: state.db,
    nodeId: config.cluster.nodeId,
    httpUrl: nodeUrl(config, deps.httpPort),
    mqttPort: config.mqttPort,
    leaseMs: config.cluster.leaseMs,
    clock,
    logger: logger.child({ stage: 'cluster' }),
    metrics: deps.metrics,
  })
  state.bind(node)
  const wiring = wireRelay({
    relay: node.relay,
    events: deps.events,
    streamEvents: deps.streamEvents,
    registry: deps.registry,
    linkage: work.linkage,
    publishLocal: deps.publishLocal,
    logger,
  })
  // One thing at a time: a batch of the intake log, or a restart for new partitions.
  const serial = createSerialQueue()
  const live = createLivePath({ liveness: deps.liveness, events: deps.events })
  const reader = createIntakeLogReader({
    db: state.db,
    fence: node.fence,
    clock,
    logger: logger.child({ stage: 'intake-log' }),
    handle: (entries) =>
      serial.run(async () => {
        for (const e of entries) applyLogEntry(live, e)
        // Evaluated and written before the entries leave the log (at least once).
        await work.engine.flushed()
      }),
  })
  let leaving = false
  node.onChange((change) =>
    serial.run(async () => {
      logger.info(
        { node: node.nodeId, owned: change.owned.length, gained: change.gained, lost: change.lost },
        'the communities this node runs changed',
      )
      await restartUntilDone(work, { clock, logger, stopped: () => leaving })
    }),
  )
  state.spool.onCommit(() => reader.wake())
  await node.relay.start()
  await node.start()
  await reader.start()
  return {
    node,
    publish: wiring.publish,
    relayBus: wiring.relayBus,
    async leave() {
      leaving = true
      await reader.stop()
      await node.stop()
      await node.relay.stop()
    },
  }
}

/**
 * The cluster's part of the API, registered before the node joins: GET /api/cluster, and the
 * forwarding of an incident's requests to the node that runs it (inactive until joined).
 */
export function registerClusterSide(
  api: ApiInstance,
  joined: () => ClusterJoin | undefined,
  db: PgDatabase,
  communityOfDevice: (id: string) => string | undefined,
  logger: Logger,
  communityOfBuilding?: (id: string) => string | undefined,
): void {
  const late = {
    get nodeId() {
      return joined()?.node.nodeId ?? ''
    },
    owns: (p: string) => joined()?.node.owns(p) ?? true,
    ownerOf: async (p: string) => joined()?.node.ownerOf(p),
    view: async () => {
      const n = joined()
      if (n === undefined) return { nodes: [], partitions: 0 }
      return n.node.view()
    },
  }
  forwardToOwner(api, {
    cluster: late,
    db,
    communityOfDevice,
    logger,
    ...(communityOfBuilding !== undefined ? { communityOfBuilding } : {}),
  })
  registerClusterRoute(api, { cluster: late })
}
