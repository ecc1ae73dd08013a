/**
 * Who may publish and subscribe where ([docs/PROTOCOL.md §What each may do]): a principal acts
 * only under its own prefix. Pure functions of the principal and the topic.
 */
import type { PrincipalKind } from '../registry/index.ts'

export interface Principal {
  id: string
  kind: PrincipalKind
}

/** The topic prefixes a principal owns. A gateway is a device too (its own status, commands). */
export function prefixesOf(p: Principal): string[] {
  switch (p.kind) {
    case 'device':
      return [`dev/${p.id}/`]
    case 'gateway':
      return [`gw/${p.id}/`, `dev/${p.id}/`]
    case 'responder':
      return [`rsp/${p.id}/`]
  }
}

/** The channels a principal may publish on, after its prefix. */
const PUBLISH_CHANNELS: Record<PrincipalKind, Record<string, readonly string[]>> = {
  device: { dev: ['telemetry', 'event', 'status', 'cmd/ack'] },
  gateway: { gw: ['telemetry', 'status'], dev: ['telemetry', 'event', 'status', 'cmd/ack'] },
  responder: { rsp: ['location', 'reply'] },
}

function ownsPrefix(p: Principal, topic: string): string | undefined {
  return prefixesOf(p).find((prefix) => topic.startsWith(prefix))
}

/**
 * A publish is allowed when it is under the principal's own prefix. Whether the service
 * understands the channel is the intake's question (an unknown channel is a rejection,
 * not a breach of the ACL).
 */
export function mayPublish(p: Principal, topic: string): boolean {
  if (topic.startsWith('$')) return false
  return ownsPrefix(p, topic) !== undefined
}

/** Whether the channel after the prefix is one the principal publishes on by contract. */
export function isKnownPublishChannel(p: Principal, topic: string): boolean {
  const prefix = ownsPrefix(p, topic)
  if (prefix === undefined) return false
  const root = prefix.slice(0, prefix.indexOf('/'))
  const channel = topic.slice(prefix.length)
  return (PUBLISH_CHANNELS[p.kind][root] ?? []).includes(channel)
}

/**
 * A subscription is allowed when its filter lies entirely under the principal's own prefix:
 * wildcards only after the prefix (`dev/d1/#`, `dev/d1/cmd`), never in it (`dev/+/cmd`).
 */
export function maySubscribe(p: Principal, filter: string): boolean {
  if (filter.startsWith('$')) return false
  return ownsPrefix(p, filter) !== undefined
}

export type TopicViolation = 'nul_in_topic' | 'invalid_utf8'

/**
 * MQTT 3.1.1 §1.5.3: a topic must not contain U+0000, and bytes that are not well-formed UTF-8
 * close the connection. mqtt-packet decodes ill-formed bytes to U+FFFD, so a U+FFFD is taken as
 * ill-formed (the contract's topics are ids and channel names: nothing legitimate carries one).
 */
export function topicViolation(topic: string): TopicViolation | undefined {
  if (topic.includes('\u0000')) return 'nul_in_topic'
  if (topic.includes('\uFFFD')) return 'invalid_utf8'
  return undefined
}
