/**
 * Who may call ([docs/PROTOCOL.md §Who may call]): `Authorization: Bearer <token>`, the token
 * being the administrator's or a duty officer's. Every route under /api declares the role it
 * needs in its config (`config: { role: 'officer' }`); a route that declares nothing needs
 * the administrator. An officer then sees only what lies inside the scope, and learns nothing
 * of what lies outside it (issue #12): a single thing outside the scope gets the very answer a
 * missing one gets, and a list asked for wider than the scope gets a 403 that names only the
 * caller's own scope, never where anything else is.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import client, { type Registry as MetricsRegistry } from 'prom-client'
import type { Caller, GuessingThrottle, Registry } from '../registry/index.ts'
import { HashWorkBusy, inScope, type Place } from '../registry/index.ts'
import {
  type Clock,
  notAuthenticated,
  notPermitted,
  notRegistered,
  outOfScope,
  type QuietLog,
} from '../shared/index.ts'

/**
 * `administrator`: registry writes and officer management. `officer`: reads, for the
 * administrator or any duty officer (the handler checks the scope of what it returns).
 * `integration`: a network server's integration with a token of its own, checked by the route.
 */
export type Role = 'administrator' | 'officer' | 'integration'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The role a route under /api needs; administrator when absent. */
    role?: Role
    /**
     * Also accept the token as `?access_token=` (for EventSource in browsers, which cannot
     * set headers). Only the SSE stream allows it.
     */
    queryToken?: boolean
  }
  interface FastifyRequest {
    /** Set by the auth hook on every route under /api. */
    caller: Caller | null
  }
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i

/** What slows guessing of bearer tokens (registry/guessing.ts): per source address and per claimed id. */
export interface TokenGuessing {
  guessing: GuessingThrottle
  clock: Clock
  quietLog: QuietLog
  metrics: MetricsRegistry
}

/** The id a token claims: an officer's token is `<officer id>.<secret>`; anything else claims the administrator. */
function claimedId(token: string): string {
  const dot = token.lastIndexOf('.')
  return dot > 0 && dot <= 128 ? `officer:${token.slice(0, dot)}` : 'administrator'
}

/**
 * Check a bearer token with its back-off: an address in its wait gets 429 with Retry-After and
 * no check at all; a failed check is answered late once its address or claimed id has failed
 * too often; the right token is answered at once wherever it comes from.
 */
function tokenChecker(registry: Pick<Registry, 'authenticate'>, guard: TokenGuessing) {
  const { guessing, clock, quietLog } = guard
  const failures = new client.Counter({
    name: 'firecircle_http_auth_failures_total',
    help: 'Bearer tokens refused, by reason (throttled: refused unchecked while the address backs off)',
    labelNames: ['reason'],
    registers: [guard.metrics],
  })
  const wait = (ms: number) =>
    ms <= 0 ? Promise.resolve() : new Promise<void>((resolve) => clock.at(clock.now() + ms, resolve))
  return async (request: FastifyRequest, reply: FastifyReply, token: string): Promise<Caller | undefined> => {
    const address = request.socket.remoteAddress ?? 'unknown'
    const claimed = claimedId(token)
    const backOff = guessing.waitBeforeCheck(address, claimed)
    if (backOff > 0) {
      failures.inc({ reason: 'throttled' })
      quietLog.log(
        'info',
        'http:throttled',
        { address },
        'bearer token from an address in its back-off: 429 unchecked',
      )
      await reply
        .code(429)
        .header('retry-after', String(Math.ceil(backOff / 1000)))
        .send({
          error: 'too_many_requests',
          message: 'too many failed sign-ins from this address: try again later',
        })
      return undefined
    }
    let caller: Caller | undefined
    try {
      caller = await registry.authenticate(token)
    } catch (err) {
      guessing.abandoned(address)
      if (!(err instanceof HashWorkBusy)) throw err
      failures.inc({ reason: 'busy' })
      quietLog.log('warn', 'http:hash_busy', { address }, 'secret checks at their bound: 429')
      await reply
        .code(429)
        .header('retry-after', '1')
        .send({ error: 'too_many_requests', message: 'too many sign-ins at once: try again in a second' })
      return undefined
    }
    if (caller !== undefined) {
      guessing.succeeded(address, claimed)
      return caller
    }
    failures.inc({ reason: 'bad_token' })
    const delay = guessing.failed(address, claimed)
    quietLog.log('info', 'http:bad_token', { address, delayMs: delay }, 'bearer token refused')
    await wait(delay)
    throw notAuthenticated('the bearer token is not valid')
  }
}

/**
 * Install authentication on an encapsulated instance (the /api scope): decorate requests
 * with `caller` and check the bearer token and the route's role before anything else runs.
 */
export function installAuth(
  api: FastifyInstance,
  registry: Pick<Registry, 'authenticate'>,
  guard: TokenGuessing,
): void {
  const check = tokenChecker(registry, guard)
  api.decorateRequest('caller', null)
  api.addHook('onRequest', async (request, reply) => {
    // A network server's integration (ChirpStack) is no officer: its route checks its own token.
    if (request.routeOptions.config?.role === 'integration') return
    let header = request.headers.authorization
    if ((header === undefined || header === '') && request.routeOptions.config?.queryToken) {
      const t = (request.query as Record<string, unknown> | undefined)?.['access_token']
      if (typeof t === 'string' && t !== '') header = `Bearer ${t}`
    }
    if (header === undefined || header === '') {
      throw notAuthenticated('this call needs an Authorization: Bearer <token> header')
    }
    const m = BEARER.exec(header)
    if (!m?.[1]) throw notAuthenticated('the Authorization header must be "Bearer <token>"')
    const caller = await check(request, reply, m[1])
    if (caller === undefined) return reply
    request.caller = caller
    const role = request.routeOptions.config?.role ?? 'administrator'
    if (role === 'administrator' && caller.role !== 'administrator') {
      throw notPermitted(
        `${request.method} ${request.routeOptions.url ?? request.url} needs the administrator token`,
      )
    }
  })
}

/** The caller of a request that passed the auth hook. */
export function callerOf(request: FastifyRequest): Caller {
  if (request.caller === null) throw notAuthenticated('not authenticated')
  return request.caller
}

/**
 * Refuse as missing unless the caller may see a thing at `place`. `missing` is the message the
 * route gives for an id nobody registered ("device d-1 is not registered"): an officer outside
 * the scope gets byte for byte the same answer (a 403 for an officer, ./errors.ts), so it
 * learns neither that the thing exists nor where it is.
 */
export function assertInScope(caller: Caller, place: Place, missing: string): void {
  if (caller.role === 'administrator') return
  if (!inScope(caller.scope, place)) throw notRegistered(missing)
}

/** True when the caller may see a thing at `place`. */
export function canSee(caller: Caller, place: Place): boolean {
  return caller.role === 'administrator' || inScope(caller.scope, place)
}

/** The 403 of a filter wider than the scope: it names the caller's scope and nothing else. */
function wider(caller: Extract<Caller, { role: 'officer' }>): Error {
  return outOfScope(
    `you may see only ${caller.officer.scope}: filter within it, or leave out community and street`,
  )
}

/**
 * Narrow a list filter to the caller's scope. An officer asking for a community or street
 * outside the scope gets a 403 (not an empty list) whose message names only the officer's
 * own scope: a community that exists elsewhere and one that exists nowhere are refused
 * alike. Asking for nothing gets the scope. `streetOf` answers which street a community
 * belongs to.
 */
export function scopedFilter(
  caller: Caller,
  requested: { community?: string | undefined; street?: string | undefined },
  streetOf: (community: string) => string | undefined,
): { community?: string; street?: string } {
  const out: { community?: string; street?: string } = {}
  if (requested.community !== undefined) out.community = requested.community
  if (requested.street !== undefined) out.street = requested.street
  if (caller.role === 'administrator') return out
  const scope = caller.scope
  if (scope.level === 'district') return out
  if (scope.level === 'community') {
    if (out.community !== undefined && out.community !== scope.community) {
      throw wider(caller)
    }
    if (out.street !== undefined && out.street !== streetOf(scope.community)) {
      throw wider(caller)
    }
    return { ...out, community: scope.community }
  }
  if (out.street !== undefined && out.street !== scope.street) {
    throw wider(caller)
  }
  if (out.community !== undefined && streetOf(out.community) !== scope.street) {
    throw wider(caller)
  }
  return { ...out, street: scope.street }
}
