/** SUBSCRIBE: a principal subscribes only under its own prefix ([docs/PROTOCOL.md §What each may do]). */
import type { Aedes } from 'aedes'
import type { Logger } from '../shared/index.ts'
import { maySubscribe, topicViolation } from './acl.ts'
import type { Principals } from './client.ts'
import type { BrokerMetrics } from './metrics.ts'

export interface AuthorizeSubscribeDeps {
  principals: Pick<Principals, 'get'>
  aclDenied: BrokerMetrics['aclDenied']
  violations: BrokerMetrics['violations']
  logger: Logger
}

export function createAuthorizeSubscribe(deps: AuthorizeSubscribeDeps): Aedes['authorizeSubscribe'] {
  const { principals, aclDenied, violations, logger } = deps
  return (c, sub, done) => {
    const violation = topicViolation(sub.topic)
    if (violation !== undefined) {
      violations.inc({ violation })
      logger.warn({ principal: c.id, violation }, 'MQTT protocol violation; closing the connection')
      return done(new Error(`protocol violation: ${violation}`))
    }
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
}
