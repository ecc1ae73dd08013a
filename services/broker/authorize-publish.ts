/**
 * PUBLISH: the ACL, then the durable write. Every publish goes through the intake inside
 * `authorizePublish`: Aedes 1.2 sends the PUBACK only after this callback, so a QoS 1
 * reading is on disk in the spool before its acknowledgement leaves (docs/DESIGN.md, the
 * Aedes PUBACK note). A custom `authorizePublish` must refuse `$SYS/` itself (mayPublish does).
 */
import type { Aedes } from 'aedes'
import type { Intake } from '../intake/index.ts'
import type { Logger } from '../shared/index.ts'
import { mayPublish, topicViolation } from './acl.ts'
import type { Principals } from './client.ts'
import type { BrokerMetrics } from './metrics.ts'
import { corkUntilTick } from './pubacks.ts'
import { authorizeOrphanWill, isLastWill } from './will.ts'

export interface AuthorizePublishDeps {
  intake: Pick<Intake, 'accept'>
  principals: Pick<Principals, 'get'>
  aclDenied: BrokerMetrics['aclDenied']
  violations: BrokerMetrics['violations']
  logger: Logger
}

export function createAuthorizePublish(deps: AuthorizePublishDeps): Aedes['authorizePublish'] {
  const { intake, principals, aclDenied, violations, logger } = deps
  return (c, packet, done) => {
    if (c === null) return authorizeOrphanWill(intake, packet, done)
    const lastWill = isLastWill(c, packet)
    // MQTT 3.1.1 §2.3.1: a QoS 1 or 2 PUBLISH carries a non-zero packet id; §1.5.3: no U+0000
    // and well-formed UTF-8 in a topic. Either closes the connection (nothing is acknowledged).
    const violation =
      packet.qos > 0 && !lastWill && !packet.messageId ? 'packet_id_zero' : topicViolation(packet.topic)
    if (violation !== undefined) {
      violations.inc({ violation })
      logger.warn({ principal: c.id, violation }, 'MQTT protocol violation; closing the connection')
      return done(new Error(`protocol violation: ${violation}`))
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
    // the message (intake, below), and under the ACL nobody else may subscribe to another
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
}
