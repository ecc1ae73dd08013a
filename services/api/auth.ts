/**
 * Who may call ([docs/PROTOCOL.md §Who may call]): `Authorization: Bearer <token>`, the token
 * being the administrator's or a duty officer's. Every route under /api declares the role it
 * needs in its config (`config: { role: 'officer' }`); a route that declares nothing needs
 * the administrator. An officer then sees only what lies inside the scope: the helpers below
 * turn "outside" into a 403 that says where the thing is and what the scope is.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Caller, Registry } from '../registry/index.ts'
import { inScope, type Place } from '../registry/index.ts'
import { notAuthenticated, notPermitted, outOfScope } from '../shared/index.ts'

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

/**
 * Install authentication on an encapsulated instance (the /api scope): decorate requests
 * with `caller` and check the bearer token and the route's role before anything else runs.
 */
export function installAuth(api: FastifyInstance, registry: Pick<Registry, 'authenticate'>): void {
  api.decorateRequest('caller', null)
  api.addHook('onRequest', async (request) => {
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
    const caller = await registry.authenticate(m[1])
    if (caller === undefined) throw notAuthenticated('the bearer token is not valid')
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

function describePlace(place: Place): string {
  if (place.community !== undefined) return `community ${place.community} (street ${place.street ?? '?'})`
  if (place.street !== undefined) return `street ${place.street}`
  return 'no community'
}

/** 403 unless the caller may see a thing at `place`; `what` names it ("device d-1"). */
export function assertInScope(caller: Caller, place: Place, what: string): void {
  if (caller.role === 'administrator') return
  if (!inScope(caller.scope, place)) {
    throw outOfScope(`${what} is in ${describePlace(place)}, outside your scope (${caller.officer.scope})`)
  }
}

/** True when the caller may see a thing at `place`. */
export function canSee(caller: Caller, place: Place): boolean {
  return caller.role === 'administrator' || inScope(caller.scope, place)
}

/**
 * Narrow a list filter to the caller's scope. An officer asking for a community or street
 * outside the scope gets a 403 (not an empty list); asking for nothing gets the scope.
 * `streetOf` answers which street a community belongs to.
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
      throw outOfScope(`community ${out.community} is outside your scope (${caller.officer.scope})`)
    }
    if (out.street !== undefined && out.street !== streetOf(scope.community)) {
      throw outOfScope(`street ${out.street} is outside your scope (${caller.officer.scope})`)
    }
    return { ...out, community: scope.community }
  }
  if (out.street !== undefined && out.street !== scope.street) {
    throw outOfScope(`street ${out.street} is outside your scope (${caller.officer.scope})`)
  }
  if (out.community !== undefined && streetOf(out.community) !== scope.street) {
    throw outOfScope(`community ${out.community} is outside your scope (${caller.officer.scope})`)
  }
  return { ...out, street: scope.street }
}
