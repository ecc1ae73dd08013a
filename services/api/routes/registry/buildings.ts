/** Buildings over HTTP. */
import { notRegistered } from '../../../shared/index.ts'
import { assertInScope, callerOf, scopedFilter } from '../../auth.ts'
import { BuildingIn, BuildingOut, BuildingPage, BuildingQuery, errors, IdParams } from '../../schemas.ts'
import type { ApiInstance } from '../../types.ts'
import { buildingView } from '../../views.ts'
import { page, type RegistryRoutesDeps, streetOfCommunity } from './common.ts'

export function registerBuildingRoutes(
  api: ApiInstance,
  { registry }: Pick<RegistryRoutesDeps, 'registry'>,
): void {
  const streetOf = streetOfCommunity(registry)

  api.post(
    '/buildings',
    {
      schema: {
        tags: ['registry'],
        summary: 'Register a building; its community is found by point-in-polygon',
        body: BuildingIn,
        response: { 201: BuildingOut, ...errors(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const { id, name, location, responsible, maintenance, address } = request.body
      const b = await registry.addBuilding({
        id,
        name,
        location: [location[0] as number, location[1] as number],
        responsible,
        ...(maintenance !== undefined ? { maintenance } : {}),
        ...(address !== undefined ? { address } : {}),
      })
      return reply.status(201).send(buildingView(b))
    },
  )

  api.get(
    '/buildings',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['registry'],
        summary: 'Buildings inside the caller’s scope, paged',
        querystring: BuildingQuery,
        response: { 200: BuildingPage, ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const filter = scopedFilter(callerOf(request), request.query, streetOf)
      const p = await registry.listBuildings(filter, page(request.query))
      return { ...p, items: p.items.map(buildingView) }
    },
  )

  api.get(
    '/buildings/:id',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['registry'],
        summary: 'One building',
        params: IdParams,
        response: { 200: BuildingOut, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const b = registry.building(request.params.id)
      const missing = `building ${request.params.id} is not registered`
      if (b === undefined) throw notRegistered(missing)
      assertInScope(callerOf(request), b, missing)
      return buildingView(b)
    },
  )
}
