/** Who the caller is (/me) and the duty officers (administrator only). */
import { Type } from 'typebox'
import { notRegistered } from '../../../shared/index.ts'
import { callerOf } from '../../auth.ts'
import { errors, IdParams, Me, OfficerCreated, OfficerIn, OfficerOut } from '../../schemas.ts'
import type { ApiInstance } from '../../types.ts'
import { officerView } from '../../views.ts'
import type { RegistryRoutesDeps } from './common.ts'

export function registerMeRoute(api: ApiInstance): void {
  api.get(
    '/me',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['access'],
        summary: 'The caller of this token: administrator, or an officer with a scope',
        response: { 200: Me, ...errors(401) },
      },
    },
    async (request) => {
      const caller = callerOf(request)
      return caller.role === 'administrator'
        ? { role: 'administrator' as const }
        : { role: 'officer' as const, officer: officerView(caller.officer) }
    },
  )
}

export function registerOfficerRoutes(
  api: ApiInstance,
  { registry }: Pick<RegistryRoutesDeps, 'registry'>,
): void {
  api.post(
    '/officers',
    {
      schema: {
        tags: ['access'],
        summary: 'Register a duty officer; the bearer token is in the answer, and only there',
        body: OfficerIn,
        response: { 201: OfficerCreated, ...errors(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const { officer, token } = await registry.addOfficer(request.body)
      reply.header('cache-control', 'no-store')
      return reply.status(201).send({ id: officer.id, token })
    },
  )

  api.get(
    '/officers',
    {
      schema: {
        tags: ['access'],
        summary: 'Every duty officer',
        response: { 200: Type.Array(OfficerOut), ...errors(401, 403) },
      },
    },
    async () => registry.officers().map(officerView),
  )

  api.get(
    '/officers/:id',
    {
      schema: {
        tags: ['access'],
        summary: 'One duty officer',
        params: IdParams,
        response: { 200: OfficerOut, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const o = registry.officer(request.params.id)
      if (o === undefined) throw notRegistered(`officer ${request.params.id} is not registered`)
      return officerView(o)
    },
  )
}
