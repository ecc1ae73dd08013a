/** Communities over HTTP, as GeoJSON Features. */
import { notRegistered } from '../../../shared/index.ts'
import { assertInScope, callerOf, canSee } from '../../auth.ts'
import {
  CommunityCollection,
  CommunityFeature,
  CommunityOut,
  CommunityQuery,
  CommunitySummary,
  errors,
  IdParams,
} from '../../schemas.ts'
import type { ApiInstance } from '../../types.ts'
import { communityFeature, communitySummary } from '../../views.ts'
import type { RegistryRoutesDeps } from './common.ts'

/** GeoJSON boundaries of a community can be large; other bodies stay under Fastify's 1 MiB. */
const COMMUNITY_BODY_LIMIT = 8 * 1024 * 1024

export function registerCommunityRoutes(
  api: ApiInstance,
  { registry }: Pick<RegistryRoutesDeps, 'registry'>,
): void {
  api.post(
    '/communities',
    {
      bodyLimit: COMMUNITY_BODY_LIMIT,
      schema: {
        tags: ['registry'],
        summary: 'Register a community (a GeoJSON Feature, Polygon or MultiPolygon)',
        body: CommunityFeature,
        response: { 201: CommunitySummary, ...errors(400, 401, 403, 409, 413) },
      },
    },
    async (request, reply) => {
      const { properties, geometry } = request.body
      const c = await registry.addCommunity({ ...properties, geometry })
      return reply.status(201).send(communitySummary(c, registry))
    },
  )

  api.get(
    '/communities',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['registry'],
        summary: 'Communities inside the caller’s scope, as a GeoJSON FeatureCollection',
        querystring: CommunityQuery,
        response: { 200: CommunityCollection, ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const caller = callerOf(request)
      const features = registry
        .communities()
        .filter((c) => request.query.street === undefined || c.street === request.query.street)
        .filter((c) => canSee(caller, { community: c.id, street: c.street }))
        .map((c) => communityFeature(c, registry))
      return { type: 'FeatureCollection' as const, features }
    },
  )

  api.get(
    '/communities/:id',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['registry'],
        summary: 'One community, as a GeoJSON Feature',
        params: IdParams,
        response: { 200: CommunityOut, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const c = registry.community(request.params.id)
      const missing = `community ${request.params.id} is not registered`
      if (c === undefined) throw notRegistered(missing)
      assertInScope(callerOf(request), { community: c.id, street: c.street }, missing)
      return communityFeature(c, registry)
    },
  )
}
