/**
 * CONNECT: the contract's authentication ([docs/PROTOCOL.md §Who may connect]): client id =
 * username = principal id, password = the issued secret. The principal is remembered on the
 * client for the ACL of its publishes and subscriptions. A will must lie under the principal's
 * own prefix (refused in CONNACK, not later). Failed CONNECTs back off per source address and
 * per claimed id (registry/guessing.ts): a refusal is answered late, an address in its wait is
 * refused without any check, and the right secret is never slowed.
 */
import type { Aedes, AuthenticateError, Client } from 'aedes'
import type { GuessingThrottle, PrincipalDirectory } from '../registry/index.ts'
import type { Clock, Logger, QuietLog } from '../shared/index.ts'
import { mayPublish, topicViolation } from './acl.ts'
import { type Addresses, internals, type Principals } from './client.ts'
import type { BrokerMetrics } from './metrics.ts'

export interface AuthenticateDeps {
  registry: Pick<PrincipalDirectory, 'checkSecret'>
  principals: Pick<Principals, 'set'>
  addresses: Pick<Addresses, 'get'>
  refused: BrokerMetrics['refused']
  violations: BrokerMetrics['violations']
  guessing: GuessingThrottle
  clock: Clock
  quietLog: QuietLog
  logger: Logger
}

const refusal = (returnCode: 3 | 4 | 5, message: string): AuthenticateError =>
  Object.assign(new Error(message), { returnCode }) as AuthenticateError

export function createAuthenticate(deps: AuthenticateDeps): Aedes['authenticate'] {
  const { registry, principals, refused, guessing, clock, quietLog, logger } = deps

  /** Answer a refusal after `delayMs` (the client's socket stays bounded by the connection caps). */
  const later = (delayMs: number, answer: () => void) => {
    if (delayMs <= 0) answer()
    else clock.at(clock.now() + delayMs, answer)
  }

  /** The will of a CONNECT outside the principal's own prefix, or with a malformed topic. */
  const badWill = (c: Client, id: string, kind: Parameters<typeof mayPublish>[0]['kind']) => {
    const will = internals(c)._will
    if (will === null || will === undefined) return undefined
    const violation = topicViolation(will.topic)
    if (violation !== undefined) return violation
    return mayPublish({ id, kind }, will.topic) ? undefined : 'will_outside_prefix'
  }

  return (c, username, password, done) => {
    if (username === undefined || username === '' || password === undefined) {
      refused.inc({ reason: 'anonymous' })
      return done(refusal(4, 'username and password are required'), false)
    }
    if (c.id !== username) {
      refused.inc({ reason: 'client_id_mismatch' })
      return done(refusal(5, 'client id must equal the username'), false)
    }
    const address = deps.addresses.get(c) ?? 'unknown'
    const wait = guessing.waitBeforeCheck(address, username)
    if (wait > 0) {
      refused.inc({ reason: 'throttled' })
      quietLog.log(
        'info',
        'mqtt:throttled',
        { address },
        'MQTT CONNECT from an address in its back-off: refused unchecked',
      )
      return later(wait, () => done(refusal(3, 'too many failed attempts: try again later'), false))
    }
    registry.checkSecret(username, password.toString('utf8')).then(
      (check) => {
        if (check.ok) {
          guessing.succeeded(address, username)
          const will = badWill(c, username, check.kind)
          if (will !== undefined) {
            deps.violations.inc({ violation: will })
            logger.warn(
              { principal: username, violation: will },
              'MQTT CONNECT with a will it may not publish: refused',
            )
            return done(refusal(5, 'the will topic is not under the client’s own prefix'), false)
          }
          principals.set(c, { id: username, kind: check.kind })
          return done(null, true)
        }
        refused.inc({ reason: check.reason })
        if (check.reason === 'disabled') {
          guessing.succeeded(address, username)
          return done(refusal(5, 'principal is disabled'), false)
        }
        const delay = guessing.failed(address, username)
        quietLog.log(
          'info',
          `mqtt:refused:${check.reason}`,
          { principal: username, address, reason: check.reason, delayMs: delay },
          'MQTT connection refused',
        )
        later(delay, () => done(refusal(4, 'bad username or password'), false))
      },
      (err: Error) => {
        guessing.abandoned(address)
        quietLog.log('error', 'mqtt:auth_unavailable', { err: err.message }, 'checking an MQTT secret failed')
        done(refusal(3, 'authentication unavailable'), false)
      },
    )
  }
}
