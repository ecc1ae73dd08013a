/**
 * The MQTT broker: Aedes in the service's own process, with the contract's authentication
 * (client id = username = principal id, password = issued secret) and per-principal ACL.
 * Every publish goes through the intake inside `authorizePublish`: Aedes 1.2 sends the
 * PUBACK only after that callback, so a QoS 1 reading is on disk in the spool before its
 * acknowledgement leaves (docs/DESIGN.md, the Aedes PUBACK note).
 */
import type { Duplex } from 'node:stream'
import { Aedes, type AuthenticateError, type Client } from 'aedes'
import type { Registry } from 'prom-client'
import client from 'prom-client'
import type { Intake } from '../intake/index.ts'
import type { PrincipalDirectory, RegistryEvents } from '../registry/index.ts'
import type { EventBus, Logger } from '../shared/index.ts'
import { mayPublish, maySubscribe, type Principal } from './acl.ts'

export interface Broker {
  readonly aedes: Aedes
  /** Serve one MQTT connection (TCP, TLS or WebSocket stream). */
  handle(stream: Duplex): void
  connectedClients(): number
  /** Publish from the service itself (offers, commands): resolves once the broker took it. */
  publish: Publish
  close(): Promise<void>
}

/**
 * Publish from the service itself (offers to responder apps, commands to devices): resolves
 * once the broker has taken the message. The one `Publish` every stage that sends is given.
 */
export type Publish = (topic: string, payload: Buffer | string, qos: 0 | 1) => Promise<void>

export interface BrokerOptions {
  directory: PrincipalDirectory
  intake: Intake
  events: EventBus<RegistryEvents>
  logger: Logger
  metrics: Registry
}

/** Aedes client internals this module reads (not in Aedes' typings). */
interface ClientInternals {
  /** The client's will while it is connected; compared to tell a will from a publish. */
  will: unknown
  /** The client's connection (Aedes writes its packets there). */
  conn: Duplex | undefined
}
const internals = (c: Client) => c as unknown as ClientInternals

/**
 * PUBACKs in one write: every QoS 1 message of a spool group commit is allowed in the same
 * microtask run, and Aedes writes one PUBACK per message, each its own writev syscall (13 %
 * of the service's main thread under the ingest bench, docs/PROFILE.md). The connection is
 * corked at the first allowed message and uncorked once that run is over (a nextTick queued
 * from a microtask runs after the microtask queue drains), so a client's acknowledgements of
 * one group leave in one write. The acknowledgements still leave only after the commit.
 */
const corked = new Set<Duplex>()
let uncorkQueued = false
function uncorkAll(): void {
  uncorkQueued = false
  for (const conn of corked) conn.uncork()
  corked.clear()
}
function corkUntilTick(c: Client): void {
  const conn = internals(c).conn
  if (conn === undefined || corked.has(conn) || typeof conn.cork !== 'function') return
  conn.cork()
  corked.add(conn)
  if (!uncorkQueued) {
    uncorkQueued = true
    process.nextTick(uncorkAll)
  }
}

const refusal = (returnCode: 4 | 5, message: string): AuthenticateError =>
  Object.assign(new Error(message), { returnCode }) as AuthenticateError

export async function createBroker(opts: BrokerOptions): Promise<Broker> {
  const { directory, intake, events, logger } = opts
  const principals = new WeakMap<Client, Principal>()

  const refused = new client.Counter({
    name: 'firecircle_mqtt_connections_refused_total',
    help: 'CONNECTs refused, by reason',
    labelNames: ['reason'],
    registers: [opts.metrics],
  })
  const aclDenied = new client.Counter({
    name: 'firecircle_mqtt_acl_denied_total',
    help: 'Publishes or subscriptions outside the principal’s own prefix (the connection is closed)',
    labelNames: ['action'],
    registers: [opts.metrics],
  })

  const aedes = await Aedes.createBroker({
    id: 'firecircle',
    // A frozen subscriber must not stall delivery to everyone else.
    drainTimeout: 30_000,
    // Our topics have three or four levels.
    maxTopicLevels: 8,
    connectTimeout: 10_000,
    // Allow at most an hour between keepalives.
    keepaliveLimit: 3600,
    maxClientsIdLength: 128,
    concurrency: 1000,
    heartbeatInterval: 60_000,
  })

  new client.Gauge({
    name: 'firecircle_mqtt_connected_clients',
    help: 'MQTT clients connected now',
    registers: [opts.metrics],
    collect() {
      this.set(aedes.connectedClients)
    },
  })

  aedes.authenticate = (c, username, password, done) => {
    if (username === undefined || username === '' || password === undefined) {
      refused.inc({ reason: 'anonymous' })
      return done(refusal(4, 'username and password are required'), false)
    }
    if (c.id !== username) {
      refused.inc({ reason: 'client_id_mismatch' })
      return done(refusal(5, 'client id must equal the username'), false)
    }
    directory.checkSecret(username, password.toString('utf8')).then(
      (check) => {
        if (check.ok) {
          principals.set(c, { id: username, kind: check.kind })
          return done(null, true)
        }
        refused.inc({ reason: check.reason })
        logger.info({ principal: username, reason: check.reason }, 'MQTT connection refused')
        done(
          check.reason === 'disabled'
            ? refusal(5, 'principal is disabled')
            : refusal(4, 'bad username or password'),
          false,
        )
      },
      (err: Error) => {
        logger.error({ err: err.message }, 'checking an MQTT secret failed')
        done(refusal(5, 'authentication unavailable'), false)
      },
    )
  }

  aedes.authorizePublish = (c, packet, done) => {
    const lastWill = c !== null && internals(c).will === packet
    if (c === null) {
      // Aedes publishing the will of a client that vanished while the broker was away.
      // Only a device status topic is ever accepted as a will.
      if (!/^dev\/[^/]+\/status$/.test(packet.topic)) return done(new Error('not allowed'))
      packet.retain = false
      intake
        .accept({ topic: packet.topic, payload: packet.payload as Buffer, qos: packet.qos, lastWill: true })
        .then(
          () => done(null),
          (err: Error) => done(err),
        )
      return
    }
    const p = principals.get(c)
    if (p === undefined || !mayPublish(p, packet.topic)) {
      aclDenied.inc({ action: 'publish' })
      logger.warn(
        { principal: c.id, topic: packet.topic },
        'publish outside own prefix; closing the connection',
      )
      return done(new Error(`publish to ${packet.topic} is not allowed`))
    }
    const payload =
      typeof packet.payload === 'string' ? Buffer.from(packet.payload) : (packet.payload as Buffer)
    // The broker keeps no retained copies of what principals publish. The service has taken
    // the message (intake, above), and under the ACL nobody else may subscribe to another
    // principal's topics; but every retained message is matched against every SUBSCRIBE
    // (aedes-persistence walks them all), so a district's retained births and wills made each
    // device's SUBSCRIBE cost O(devices): at 11,670 connections the broker spent its time in
    // Qlobber._test and stopped answering (the 1,000,000-device simulator run).
    packet.retain = false
    intake
      .accept({
        topic: packet.topic,
        payload,
        qos: packet.qos,
        principal: p.id,
        lastWill: lastWill || undefined,
      })
      .then(
        () => {
          if (packet.qos === 1) corkUntilTick(c)
          done(null)
        },
        (err: Error) => done(err),
      )
  }

  aedes.authorizeSubscribe = (c, sub, done) => {
    const p = principals.get(c)
    if (p === undefined || !maySubscribe(p, sub.topic)) {
      aclDenied.inc({ action: 'subscribe' })
      logger.warn(
        { principal: c.id, topic: sub.topic },
        'subscribe outside own prefix; closing the connection',
      )
      return done(new Error(`subscribe to ${sub.topic} is not allowed`))
    }
    done(null, sub)
  }

  // A clean DISCONNECT does not make a device offline: battery detectors connect, publish
  // and disconnect to save power. Offline comes from the status topic (an explicit
  // "offline", or the last will on a dropped connection) and from silence.
  aedes.on('clientError', (c, err) => {
    logger.debug({ principal: c.id, err: err.message }, 'MQTT client error')
  })
  aedes.on('connectionError', (c, err) => {
    logger.debug({ principal: c.id, err: err.message }, 'MQTT connection error')
  })

  const owner = { stage: 'broker' }
  events.on(owner, 'principal.disabled', (id) => {
    const c = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[id]
    if (c) {
      logger.info({ principal: id }, 'principal disabled; closing its MQTT connection')
      c.close()
    }
  })

  return {
    aedes,
    handle(stream) {
      aedes.handle(stream)
    },
    connectedClients: () => aedes.connectedClients,
    publish: (topic, payload, qos) =>
      new Promise<void>((resolve, reject) =>
        aedes.publish(
          {
            cmd: 'publish',
            topic,
            payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
            qos,
            retain: false,
            dup: false,
          },
          (err) => (err ? reject(err) : resolve()),
        ),
      ),
    close: () =>
      new Promise<void>((resolve) => {
        events.removeListeners(owner)
        aedes.close(() => resolve())
      }),
  }
}
export { type MqttListeners, startMqttListeners } from './listeners.ts'
