/**
 * Dispatch over HTTP ([docs/PROTOCOL.md §HTTP]), for the administrator and duty officers in scope:
 *
 * - `POST /api/incidents/{id}/replies` `{responder, answer}`: an answer given for a responder
 *   (by phone, on the radio), taken exactly as one from the app on `rsp/{id}/reply`;
 * - `GET /api/incidents/{id}/circle`: the incident's fire circle at its current limit as a
 *   GeoJSON FeatureCollection (a polygon per travel mode, the responders inside with `eta_s`);
 * - `GET /api/dispatch/kpi?from=&to=`: the 5-minute KPI, the share of incidents whose first
 *   responder was on scene within 300 s of the alarm.
 */
import { Type } from 'typebox'
import type { IncidentBook } from '../alarms/index.ts'
import {
  type ApiInstance,
  assertInScope,
  callerOf,
  canSee,
  errors,
  IdParams,
  iso,
  parseTime,
  scopedFilter,
} from '../api/kit.ts'
import type { Registry } from '../registry/index.ts'
import type { Clock } from '../shared/index.ts'
import { invalidInput, notRegistered } from '../shared/index.ts'
import type { Dispatcher } from './offers.ts'
import type { DispatchGeometry } from './routes.ts'
import { ANSWERS } from './types.ts'
import { OfferOut } from './views.ts'

export interface OfferRoutesDeps {
  dispatcher: Pick<
    Dispatcher,
    'reply' | 'offersView' | 'limitS' | 'record' | 'kpi' | 'predicted' | 'timings' | 'offerPolicy'
  >
  incidents: Pick<IncidentBook, 'get'>
  geometry: Pick<DispatchGeometry, 'circle'>
  registry: Pick<Registry, 'community' | 'responder'>
  clock: Pick<Clock, 'now'>
}

const ReplyIn = Type.Object(
  {
    responder: Type.String({ minLength: 1, maxLength: 64, description: 'the responder answering' }),
    answer: Type.Enum([...ANSWERS], {
      description:
        'accept | decline | en_route | on_scene (in that order; on_scene directly after accept is fine)',
    }),
  },
  { additionalProperties: false },
)

const ReplyOut = Type.Object({
  incident: Type.String(),
  offer: OfferOut,
  repeated: Type.Boolean({ description: 'the same answer again: taken, nothing changed' }),
})

const Geometry = Type.Object({ type: Type.String(), coordinates: Type.Unknown() })
const CircleOut = Type.Object({
  type: Type.Literal('FeatureCollection'),
  features: Type.Array(
    Type.Object({
      type: Type.Literal('Feature'),
      geometry: Geometry,
      properties: Type.Object(
        {
          mode: Type.Optional(Type.String()),
          radius_m: Type.Optional(Type.Number()),
          limit_s: Type.Optional(Type.Number()),
          id: Type.Optional(Type.String()),
          name: Type.Optional(Type.String()),
          type: Type.Optional(Type.String()),
          eta_s: Type.Optional(Type.Number()),
          distance_m: Type.Optional(Type.Number()),
          road_m: Type.Optional(Type.Number()),
        },
        {
          description:
            'a circle: mode, radius_m, limit_s; a responder inside: id, name, type, mode, eta_s, distance_m',
        },
      ),
    }),
  ),
})

const KpiQuery = Type.Object({
  from: Type.Optional(
    Type.String({ maxLength: 40, description: 'ISO 8601 with a zone, or ms; default: to − 30 days' }),
  ),
  to: Type.Optional(Type.String({ maxLength: 40, description: 'ISO 8601 with a zone, or ms; default: now' })),
  community: Type.Optional(Type.String({ maxLength: 64 })),
  street: Type.Optional(Type.String({ maxLength: 200 })),
})

const KpiOut = Type.Object({
  from: Type.String(),
  to: Type.String(),
  limit_s: Type.Number({ description: 'the circle’s first limit: 300 s' }),
  incidents: Type.Integer({ description: 'incidents whose alarm fell in [from, to] and were dispatched' }),
  withResponderOnScene: Type.Integer({ description: 'of them, with a responder on scene (at any time)' }),
  within300s: Type.Integer({
    description: 'of them, with the first responder on scene ≤ limit_s after the alarm',
  }),
  share: Type.Union([Type.Number(), Type.Null()], {
    description: 'within300s ÷ incidents; null without incidents',
  }),
  offerPolicy: Type.String({ description: 'FC_OFFER_POLICY: fixed or probability' }),
  predicted: Type.Object(
    {
      incidents: Type.Integer({
        description: 'of the incidents, those whose first offers carried a probability',
      }),
      meanP: Type.Union([Type.Number(), Type.Null()], {
        description: 'the mean predicted P(someone on scene ≤ limit_s) of their first offers',
      }),
      observedShare: Type.Union([Type.Number(), Type.Null()], {
        description: 'the share of the same incidents with the first responder on scene ≤ limit_s',
      }),
    },
    {
      description: 'FC_OFFER_POLICY=probability: predicted against observed (none under fixed: incidents 0)',
    },
  ),
})

const DAY_MS = 86_400_000

export function registerOfferRoutes(api: ApiInstance, deps: OfferRoutesDeps): void {
  const { dispatcher, incidents, geometry, registry, clock } = deps

  async function incidentInScope(request: Parameters<typeof callerOf>[0], id: string) {
    const i = await incidents.get(id)
    const missing = `incident ${id} does not exist`
    if (i === undefined) throw notRegistered(missing)
    assertInScope(callerOf(request), i, missing)
    return i
  }

  api.post(
    '/incidents/:id/replies',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['dispatch'],
        summary: 'A responder’s answer to the incident’s offer, given over HTTP (as on rsp/{id}/reply)',
        description:
          'Refused with nothing changed: an unknown incident or responder (404), a responder never offered this incident, an answer out of order, an incident already closed, an accept from a responder committed elsewhere (409).',
        params: IdParams,
        body: ReplyIn,
        response: { 200: ReplyOut, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const caller = callerOf(request)
      const i = await incidentInScope(request, request.params.id)
      const actor = caller.role === 'administrator' ? 'administrator' : `officer:${caller.officer.id}`
      const { responder, answer } = request.body
      // An officer learns nothing of responders outside the scope: one never offered this
      // incident answers as if it did not exist (issue #12), not "never offered" (409).
      if (caller.role !== 'administrator') {
        const offered = (await dispatcher.offersView(i.id)).some((o) => o.responder === responder)
        const r = registry.responder(responder)
        if (!offered && (r === undefined || !canSee(caller, r)))
          throw notRegistered(`responder ${responder} is not registered`)
      }
      const r = await dispatcher.reply(i.id, responder, answer, actor, 'http')
      const view = (await dispatcher.offersView(i.id)).find((o) => o.responder === responder)!
      return { incident: i.id, offer: view, repeated: r.repeated }
    },
  )

  api.get(
    '/incidents/:id/circle',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['dispatch'],
        summary: 'The incident’s fire circle at its current limit, as GeoJSON',
        description:
          'One circle polygon per travel mode (for the map: membership is decided by ETA arithmetic, not by the polygon), then a point per on-duty responder inside who is free or committed to this incident, nearest ETA first, with eta_s and distance_m. With a road network (FC_ROAD_NETWORK) each mode’s polygon is its isochrone along the roads (Polygon or MultiPolygon, property mode), agreeing with the ETAs, and the points carry road_m.',
        params: IdParams,
        response: { 200: CircleOut, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const i = await incidentInScope(request, request.params.id)
      const limit = await dispatcher.limitS(i.id)
      return geometry.circle(i.location[0], i.location[1], limit, {
        onDuty: true,
        where: (r) => !r.busy || r.incident === i.id,
      })
    },
  )

  api.get(
    '/dispatch/kpi',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['dispatch'],
        summary: 'The 5-minute KPI: share of incidents with a responder on scene ≤ 300 s after the alarm',
        description:
          'Over the incidents in the caller’s scope whose alarm fell in [from, to] (false alarms included: responders went to them too).',
        querystring: KpiQuery,
        response: { 200: KpiOut, ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const q = request.query
      const to = q.to === undefined ? clock.now() : parseTime(q.to, 'to')
      const from = q.from === undefined ? to - 30 * DAY_MS : parseTime(q.from, 'from')
      if (to < from) throw invalidInput(`to (${iso(to)}) is before from (${iso(from)})`)
      const where = scopedFilter(
        callerOf(request),
        { community: q.community, street: q.street },
        (c) => registry.community(c)?.street,
      )
      const k = await dispatcher.kpi({ from, to, ...where })
      const p = await dispatcher.predicted({ from, to, ...where })
      return {
        from: iso(from),
        to: iso(to),
        limit_s: dispatcher.timings.limitsS[0]!,
        incidents: k.incidents,
        withResponderOnScene: k.withResponderOnScene,
        within300s: k.withinLimit,
        share: k.incidents === 0 ? null : k.withinLimit / k.incidents,
        offerPolicy: dispatcher.offerPolicy,
        predicted: {
          incidents: p.incidents,
          meanP: p.meanP,
          observedShare: p.incidents === 0 ? null : p.withinLimit / p.incidents,
        },
      }
    },
  )
}
