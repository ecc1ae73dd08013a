/**
 * Domain errors: what a stage refuses, in the stage's own words. A stage throws a
 * `DomainError` with a domain code (`incident_transition_refused`, `reply_refused`, …); it
 * never knows which transport carries the refusal. The HTTP layer maps each code to a
 * status and `{error, message}` in one table (services/api/errors.ts), the way fastify keeps
 * its `FST_ERR_*` codes in one place; other transports (MQTT replies) read the code.
 */
export type DomainCode =
  /** The input is malformed or impossible (a field, a time, a geometry). */
  | 'invalid_input'
  /** No credentials, or credentials nobody holds. */
  | 'not_authenticated'
  /** The caller is known but this is not theirs to do (a role). */
  | 'not_permitted'
  /** The thing lies outside the officer's scope. */
  | 'out_of_scope'
  /** No such thing is registered (device, building, incident, responder, …). */
  | 'not_registered'
  /** The id is taken, or the thing exists already. */
  | 'already_registered'
  /** The thing is there but in a state that forbids the change (a disabled gateway, …). */
  | 'state_conflict'
  /** The incident lifecycle does not allow this action from the incident's status. */
  | 'incident_transition_refused'
  /** The work-order lifecycle does not allow this action from the order's status. */
  | 'work_order_transition_refused'
  /** The body, or a part of it (a photo), is larger than the call accepts. */
  | 'too_large'
  /** The body, or a part of it (a photo), is of a type the call does not take. */
  | 'unsupported_type'
  /** A responder's answer to an offer that changes nothing (not offered, out of order, …). */
  | 'reply_refused'
  /** The linkage stage cannot do this now (no webhook configured, command not retryable). */
  | 'linkage_refused'
  /** A store the answer depends on did not answer. */
  | 'store_unavailable'
  /** The work this change belongs to moved to another node of the cluster (a fenced write). */
  | 'partition_moved'
  /** The device is not connected to this node now (a fire panel's UITD asked for an answer). */
  | 'device_not_connected'
  /** The device did not answer in time. */
  | 'device_timeout'

export class DomainError extends Error {
  constructor(
    readonly code: DomainCode,
    message: string,
  ) {
    super(message)
    this.name = 'DomainError'
  }
}

export const invalidInput = (message: string) => new DomainError('invalid_input', message)
export const notRegistered = (message: string) => new DomainError('not_registered', message)
export const alreadyRegistered = (message: string) => new DomainError('already_registered', message)
export const stateConflict = (message: string) => new DomainError('state_conflict', message)
export const outOfScope = (message: string) => new DomainError('out_of_scope', message)
export const notPermitted = (message: string) => new DomainError('not_permitted', message)
export const notAuthenticated = (message: string) => new DomainError('not_authenticated', message)
export const deviceNotConnected = (message: string) => new DomainError('device_not_connected', message)
export const deviceTimeout = (message: string) => new DomainError('device_timeout', message)
export const storeUnavailable = (message: string) => new DomainError('store_unavailable', message)
