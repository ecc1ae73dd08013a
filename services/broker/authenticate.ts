/**
 * CONNECT: the contract's authentication ([docs/PROTOCOL.md §Who may connect]): client id =
 * username = principal id, password = the issued secret. The principal is remembered on the
 * client for the ACL of its publishes and subscriptions.
 */
import type { Aedes, AuthenticateError } from 'aedes'
import type { PrincipalDirectory } from '../registry/index.ts'
import type { Logger } from '../shared/index.ts'
import type { Principals } from './client.ts'
import type { BrokerMetrics } from './metrics.ts'

export interface AuthenticateDeps {
  registry: Pick<PrincipalDirectory, 'checkSecret'>
  principals: Pick<Principals, 'set'>
  refused: BrokerMetrics['refused']
  logger: Logger
}

const refusal = (returnCode: 4 | 5, message: string): AuthenticateError =>
  Object.assign(new Error(message), { returnCode }) as AuthenticateError

export function createAuthenticate(deps: AuthenticateDeps): Aedes['authenticate'] {
  const { registry, principals, refused, logger } = deps
  return (c, username, password, done) => {
    if (username === undefined || username === '' || password === undefined) {
      refused.inc({ reason: 'anonymous' })
      return done(refusal(4, 'username and password are required'), false)
    }
    if (c.id !== username) {
      refused.inc({ reason: 'client_id_mismatch' })
      return done(refusal(5, 'client id must equal the username'), false)
    }
    registry.checkSecret(username, password.toString('utf8')).then(
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
}
