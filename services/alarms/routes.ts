/**
 * Incidents over HTTP (docs/PROTOCOL.md): lists, one incident with its devices and timeline, and
 * the duty officer's actions. An officer sees and acts only inside the scope (outside it, a 404 like a missing one).
 */
import { type TProperties, Type } from 'typebox'
import {
  type ApiInstance,
  assertInScope,
  callerOf,
  errors,
  IdParams,
  iso,
  PageOf,
  scopedFilter,
} from '../api/kit.ts'
import type { Registry } from '../registry/index.ts'
import { notRegistered } from '../shared/index.ts'
import type { AlarmEngine } from './engine.ts'
import type { IncidentBook } from './incidents.ts'
import { INCIDENT_STATUSES, OFFICER_ACTIONS, type OfficerAction, URGENCY } from './lifecycle.ts'
import { IncidentOut, incidentDetailOut, incidentView } from './views.ts'

export interface IncidentRoutesDeps {
  engine: Pick<AlarmEngine, 'act' | 'conditions'>
  incidents: Pick<IncidentBook, 'get' | 'timeline' | 'list'>
  registry: Pick<Registry, 'community' | 'device'>
  /**
   * More of the incident from later stages (dispatch's offers, linkage's audit log and
   * commands): their schemas, which those stages own, and the values for one incident.
   */
  extras?: {
    schema: TProperties
    view: (id: string) => Record<string, unknown> | Promise<Record<string, unknown>>
  }
}

const ListQuery = Type.Object({
  status: Type.Optional(
    Type.Enum(['open', ...INCIDENT_STATUSES], {
      description: 'open = verifying, alarm, acknowledged or confirmed',
    }),
  ),
  community: Type.Optional(Type.String({ maxLength: 64 })),
  street: Type.Optional(Type.String({ maxLength: 200 })),
  building: Type.Optional(Type.String({ maxLength: 64 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'default 100' })),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
})

const ActionBody = Type.Union([
  Type.Object(
    { reason: Type.Optional(Type.String({ maxLength: 1000, description: 'why, for the timeline' })) },
    { additionalProperties: false },
  ),
  Type.Null(),
])

export function registerIncidentRoutes(
  api: ApiInstance,
  { engine, incidents, registry, extras }: IncidentRoutesDeps,
): void {
  const streetOf = (community: string) => registry.community(community)?.street

  api.get(
    '/incidents',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['incidents'],
        summary: 'Incidents in the caller’s scope, most urgent first (open ones by urgency, then newest)',
        querystring: ListQuery,
        response: {
          200: PageOf(IncidentOut),
          ...errors(400, 401, 403),
        },
      },
    },
    async (request) => {
      const q = request.query
      const where = scopedFilter(callerOf(request), { community: q.community, street: q.street }, streetOf)
      const page = { limit: q.limit ?? 100, offset: q.offset ?? 0 }
      const { items, total } = await incidents.list(
        {
          ...(q.status !== undefined ? { status: q.status } : {}),
          ...where,
          ...(q.building !== undefined ? { building: q.building } : {}),
        },
        page,
      )
      items.sort((a, b) => URGENCY[a.status] - URGENCY[b.status] || b.openedAt - a.openedAt)
      return { items: items.map((i) => incidentView(i)), total, ...page }
    },
  )

  api.get(
    '/incidents/:id',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['incidents'],
        summary: 'One incident with its devices and full timeline',
        params: IdParams,
        response: { 200: incidentDetailOut(extras?.schema ?? {}), ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const i = await incidents.get(request.params.id)
      const missing = `incident ${request.params.id} does not exist`
      if (i === undefined) throw notRegistered(missing)
      assertInScope(callerOf(request), i, missing)
      return { ...incidentView(i, await incidents.timeline(i.id)), ...(await extras?.view(i.id)) }
    },
  )

  for (const action of Object.keys(OFFICER_ACTIONS) as OfficerAction[]) {
    api.post(
      `/incidents/:id/${action}`,
      {
        config: { role: 'officer' },
        schema: {
          tags: ['incidents'],
          summary: `A duty officer's action: ${action} (the incident becomes ${OFFICER_ACTIONS[action]})`,
          params: IdParams,
          body: Type.Optional(ActionBody),
          response: { 200: IncidentOut, ...errors(400, 401, 403, 404, 409) },
        },
      },
      async (request) => {
        const caller = callerOf(request)
        const i = await incidents.get(request.params.id)
        const missing = `incident ${request.params.id} does not exist`
        if (i === undefined) throw notRegistered(missing)
        assertInScope(caller, i, missing)
        const actor = caller.role === 'administrator' ? 'administrator' : `officer:${caller.officer.id}`
        const reason = (request.body as { reason?: string } | null | undefined)?.reason
        const next = await engine.act(i.id, action, actor, reason)
        return incidentView(next, await incidents.timeline(next.id))
      },
    )
  }

  api.get(
    '/devices/:id/signals',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['devices'],
        summary: 'The device’s active conditions: alarm, warning, supervisory and trouble',
        params: IdParams,
        response: {
          200: Type.Object({
            device: Type.String(),
            signals: Type.Array(
              Type.Object({
                condition: Type.String(),
                class: Type.Enum(['alarm', 'supervisory', 'trouble']),
                level: Type.Enum(['alarm', 'warning', 'signal']),
                since: Type.String(),
                value: Type.Optional(Type.Number()),
                threshold: Type.Optional(Type.Number()),
              }),
            ),
          }),
          ...errors(401, 403, 404),
        },
      },
    },
    async (request) => {
      const d = registry.device(request.params.id)
      const missing = `device ${request.params.id} does not exist`
      if (d === undefined) throw notRegistered(missing)
      assertInScope(callerOf(request), d, missing)
      return {
        device: d.id,
        signals: engine.conditions(d.id).map((c) => ({ ...c, since: iso(c.since) })),
      }
    },
  )
}
