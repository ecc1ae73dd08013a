/** SUBSCRIBE: a principal subscribes only under its own prefix ([docs/PROTOCOL.md §What each may do]). */
import type { Aedes } from 'aedes'
import type { Logger } from '../shared/index.ts'
import { maySubscribe } from './acl.ts'
import type { Principals } from './client.ts'
import type { BrokerMetrics } from './metrics.ts'

export interface AuthorizeSubscribeDeps {
  principals: Pick<Principals, 'get'>
  aclDenied: BrokerMetrics['aclDenied']
  logger: Logger
}

export function createAuthorizeSubscribe(deps: AuthorizeSubscribeDeps): Aedes['authorizeSubscribe'] {
  const { principals, aclDenied, logger } = deps
  return (c, sub, done) => {
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
