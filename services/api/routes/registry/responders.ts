/** Responders over HTTP. */
import { notRegistered } from '../../../shared/index.ts'
import { assertInScope, callerOf, scopedFilter } from '../../auth.ts'
import {
  errors,
  IdParams,
  ResponderCreated,
  ResponderIn,
  ResponderOut,
  ResponderPage,
  ResponderPatchIn,
  ResponderQuery,
} from '../../schemas.ts'
import type { ApiInstance } from '../../types.ts'
import { responderView } from '../../views.ts'
import { page, type RegistryRoutesDeps, streetOfCommunity } from './common.ts'

export function registerResponderRoutes(
  api: ApiInstance,
  { registry }: Pick<RegistryRoutesDeps, 'registry'>,
): void {
  const streetOf = streetOfCommunity(registry)

  api.post(
    '/responders',
    {
      schema: {
        tags: ['registry'],
        summary: 'Register a responder; the app’s MQTT secret is in the answer, and only there',
        body: ResponderIn,
        response: { 201: ResponderCreated, ...errors(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const { location, ...rest } = request.body
      const { responder, secret } = await registry.addResponder({
        ...rest,
        ...(location ? { location: [location[0] as number, location[1] as number] } : {}),
      })
      reply.header('cache-control', 'no-store')
      return reply.status(201).send({ id: responder.id, secret })
    },
  )

  api.get(
    '/responders',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['registry'],
        summary: 'Responders inside the caller’s scope (by building, else registered location), paged',
        querystring: ResponderQuery,
        response: { 200: ResponderPage, ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const caller = callerOf(request)
      const { type, building } = request.query
      const filter = { ...scopedFilter(caller, request.query, streetOf), type, building }
      const p = await registry.listResponders(filter, page(request.query))
      return { ...p, items: p.items.map(responderView) }
    },
  )

  api.get(
    '/responders/:id',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['registry'],
        summary: 'One responder',
        params: IdParams,
        response: { 200: ResponderOut, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const r = registry.responder(request.params.id)
      const missing = `responder ${request.params.id} is not registered`
      if (r === undefined) throw notRegistered(missing)
      assertInScope(callerOf(request), r, missing)
      return responderView(r)
    },
  )

  api.patch(
    '/responders/:id',
    {
      schema: {
        tags: ['registry'],
        summary: 'Change duty, travel mode, registered location, or enable / disable a responder',
        params: IdParams,
        body: ResponderPatchIn,
        response: { 200: ResponderOut, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { location, ...rest } = request.body
      const r = await registry.updateResponder(request.params.id, {
        ...rest,
        ...(location !== undefined
          ? { location: location === null ? null : [location[0] as number, location[1] as number] }
          : {}),
      })
      return responderView(r)
    },
  )
}
