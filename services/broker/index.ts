/**
 * The MQTT broker: Aedes in the service's own process, with the contract's authentication
 * and per-principal ACL. One file per step, as Aedes splits its handlers: CONNECT
 * (./authenticate.ts), PUBLISH with the durable write before the PUBACK
 * (./authorize-publish.ts), SUBSCRIBE (./authorize-subscribe.ts), wills and status
 * (./will.ts), a disabled principal's connection (./disabled.ts); this factory composes them.
 */
import type { Duplex } from 'node:stream'
import { Aedes } from 'aedes'
import type { Registry } from 'prom-client'
import type { Intake } from '../intake/index.ts'
import {
  createGuessingThrottle,
  type GuessingThrottle,
  type PrincipalDirectory,
  type RegistryEvents,
} from '../registry/index.ts'
import {
  type Clock,
  createQuietLog,
  type EventBus,
  type Logger,
  type QuietLog,
  systemClock,
} from '../shared/index.ts'
import { createAuthenticate } from './authenticate.ts'
import { createAuthorizePublish } from './authorize-publish.ts'
import { createAuthorizeSubscribe } from './authorize-subscribe.ts'
import type { Addresses, Principals } from './client.ts'
import { closeDisabledPrincipals } from './disabled.ts'
import { createBrokerMetrics } from './metrics.ts'
import { BEFORE_CONNACK_BYTES, limitPacketSize } from './packet-limits.ts'
import { publishThrough } from './publish.ts'

export { type MqttListeners, type MqttListenersDeps, startMqttListeners } from './listeners.ts'

export interface Broker {
  readonly aedes: Aedes
  /** Serve one MQTT connection (TCP, TLS or WebSocket stream) from `address`. */
  handle(stream: Duplex, address?: string): void
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

export interface BrokerDeps {
  registry: Pick<PrincipalDirectory, 'checkSecret'>
  intake: Pick<Intake, 'accept'>
  events: Pick<EventBus<RegistryEvents>, 'on' | 'removeListeners'>
  logger: Logger
  /** Repeated lines (refused CONNECTs, oversize packets) logged once with a count. */
  quietLog?: QuietLog
  metrics: Registry
  clock?: Clock
  /** Failed CONNECTs back off per address and per claimed id (registry/guessing.ts). */
  guessing?: GuessingThrottle
  /** FC_MQTT_MAX_PACKET_BYTES (default 1 MiB): no packet past it is ever buffered (./packet-limits.ts). */
  maxPacketBytes?: number
}

export async function createBroker(deps: BrokerDeps): Promise<Broker> {
  const { registry, intake, events, logger } = deps
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
  const { refused, aclDenied, violations, tooLarge } = createBrokerMetrics(deps.metrics, aedes)
  const principals: Principals = new WeakMap()
  const addresses: Addresses = new WeakMap()
  const clock = deps.clock ?? systemClock
  const quietLog = deps.quietLog ?? createQuietLog(logger, clock)
  const maxPacketBytes = deps.maxPacketBytes ?? 1024 * 1024

  aedes.authenticate = createAuthenticate({
    registry,
    principals,
    addresses,
    refused,
    violations,
    guessing: deps.guessing ?? createGuessingThrottle(clock),
    clock,
    quietLog,
    logger,
  })
  aedes.authorizePublish = createAuthorizePublish({ intake, principals, aclDenied, violations, logger })
  aedes.authorizeSubscribe = createAuthorizeSubscribe({ principals, aclDenied, violations, logger })
  aedes.on('clientError', (c, err) => {
    logger.debug({ principal: c.id, err: err.message }, 'MQTT client error')
  })
  aedes.on('connectionError', (c, err) => {
    logger.debug({ principal: c.id, err: err.message }, 'MQTT connection error')
  })
  const owner = { stage: 'broker' }
  closeDisabledPrincipals({ aedes, events, logger, owner })

  return {
    aedes,
    handle(stream, address = 'unknown') {
      const c = aedes.handle(stream)
      addresses.set(c, address)
      limitPacketSize(c, maxPacketBytes, (stage, declared, cmd) => {
        tooLarge.inc({ stage })
        quietLog.log(
          'warn',
          `mqtt:too_large:${stage}`,
          {
            address,
            stage,
            declared,
            cmd,
            limit: stage === 'after_connack' ? maxPacketBytes : BEFORE_CONNACK_BYTES,
          },
          'MQTT packet over the size limit: closing the connection before reading it',
        )
      })
    },
    connectedClients: () => aedes.connectedClients,
    publish: publishThrough(aedes),
    close: () =>
      new Promise<void>((resolve) => {
        events.removeListeners(owner)
        aedes.close(() => resolve())
      }),
  }
}
