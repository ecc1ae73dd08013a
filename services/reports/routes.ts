/**
 * The reports' routes: GET /api/reports/daily and /monthly (JSON, `format=csv`, `format=html`),
 * and POST /api/incidents/{id}/shown (a console rendered the incident: its `shown` clock).
 */
import { Type } from 'typebox'
import { type IncidentBook, IncidentOut, incidentView } from '../alarms/index.ts'
import { type ApiInstance, assertInScope, callerOf, canSee, errors, IdParams } from '../api/kit.ts'
import type { Registry } from '../registry/index.ts'
import { type Clock, invalidInput, notRegistered, outOfScope } from '../shared/index.ts'
import type { HandlingClocks } from './clocks.ts'
import { dayOf, monthOf } from './period.ts'
import { reportCsv, reportHtml, reportLanguage } from './render.ts'
import { makeReport, type ReportDeps } from './report.ts'
import type { ReportRepository } from './repository.ts'
import type { Report, ReportScope } from './types.ts'

export interface ReportRoutesDeps extends ReportDeps {
  clock: Clock
  clocks: Pick<HandlingClocks, 'shown'>
  repository: ReportRepository
  registry: ReportDeps['registry'] & Pick<Registry, 'community'>
  incidents: Pick<IncidentBook, 'list' | 'get'>
}

const Query = Type.Object({
  scope: Type.Optional(
    Type.String({ maxLength: 300, description: 'community:<id>, street:<name> or district' }),
  ),
  date: Type.Optional(Type.String({ maxLength: 40, description: 'YYYY-MM-DD in FC_TIME_ZONE (daily)' })),
  month: Type.Optional(Type.String({ maxLength: 40, description: 'YYYY-MM in FC_TIME_ZONE (monthly)' })),
  format: Type.Optional(Type.String({ maxLength: 20, description: 'json (default), csv or html' })),
  lang: Type.Optional(
    Type.String({
      maxLength: 10,
      description: 'the HTML page’s language: zh-CN or en (default: Accept-Language, else zh-CN)',
    }),
  ),
})

function parse(written: string): ReportScope | undefined {
  if (written === 'district') return { kind: 'district' }
  const m = /^(community|street):(.+)$/.exec(written)
  if (m === null) return undefined
  return { kind: m[1] as 'community' | 'street', id: m[2]! }
}

async function report(
  deps: ReportRoutesDeps,
  request: { query: { scope?: string; date?: string; month?: string; format?: string } } & Parameters<
    typeof callerOf
  >[0],
  daily: boolean,
): Promise<{ body: Report; format: string }> {
  const q = request.query
  const caller = callerOf(request)
  const format = q.format ?? 'json'
  if (!['json', 'csv', 'html'].includes(format))
    throw invalidInput(`format ${JSON.stringify(format)} is not json, csv or html`)
  const written = q.scope ?? (caller.role === 'administrator' ? 'district' : caller.officer.scope)
  const scope = parse(written)
  if (scope === undefined)
    throw invalidInput(`scope ${JSON.stringify(written)} is not community:<id>, street:<name> or district`)
  const community = scope.kind === 'community' ? deps.registry.community(scope.id!) : undefined
  if (caller.role !== 'administrator') {
    const place =
      scope.kind === 'community'
        ? { community: scope.id, street: community?.street }
        : scope.kind === 'street'
          ? { street: scope.id }
          : {}
    const wider =
      caller.scope.level === 'district' || (caller.scope.level === 'street' && scope.kind !== 'district')
    const ok =
      scope.kind === 'community'
        ? community !== undefined && canSee(caller, place)
        : wider && canSee(caller, place)
    if (!ok) throw outOfScope(`${written} is outside your scope (${caller.officer.scope})`)
  } else if (scope.kind === 'community' && community === undefined) {
    throw notRegistered(`community ${scope.id} is not registered`)
  }
  const label = daily ? q.date : q.month
  if (label === undefined)
    throw invalidInput(daily ? 'date (YYYY-MM-DD) is required' : 'month (YYYY-MM) is required')
  const period = daily ? dayOf(label, deps.timeZone) : monthOf(label, deps.timeZone)
  if ('error' in period) throw invalidInput(period.error)
  const key = `${daily ? 'daily' : 'monthly'}:${label}`
  const kept = await deps.repository.get(written, key)
  if (kept !== undefined) return { body: kept, format }
  const now = deps.clock.now()
  const body = await makeReport(deps, { scope: written, parsed: scope, period, daily, label, now })
  if (body.final) await deps.repository.put(written, key, now, body)
  return { body, format }
}

export function registerReportRoutes(api: ApiInstance, deps: ReportRoutesDeps): void {
  for (const daily of [true, false]) {
    api.get(
      daily ? '/reports/daily' : '/reports/monthly',
      {
        config: { role: 'officer' },
        schema: {
          tags: ['reports'],
          summary: daily
            ? 'The day’s report of a scope (FC_TIME_ZONE): JSON, CSV (section,metric,value) or a printable HTML page with charts'
            : 'The month’s report of a scope: JSON, CSV or HTML',
          querystring: Query,
          response: { 200: Type.Any(), ...errors(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        const lang = reportLanguage(request.query.lang, request.headers['accept-language'])
        if (lang === undefined)
          throw invalidInput(`lang ${JSON.stringify(request.query.lang)} is not zh-CN or en`)
        const { body, format } = await report(deps, request, daily)
        if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(reportCsv(body))
        if (format === 'html') return reply.type('text/html; charset=utf-8').send(reportHtml(body, lang))
        return reply.type('application/json; charset=utf-8').send(JSON.stringify(body))
      },
    )
  }

  api.post(
    '/incidents/:id/shown',
    {
      config: { role: 'officer' },
      schema: {
        tags: ['incidents'],
        summary: 'A console rendered the incident: its `shown` clock (the first call wins)',
        params: IdParams,
        response: { 200: IncidentOut, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const missing = `incident ${request.params.id} does not exist`
      const i = await deps.incidents.get(request.params.id)
      if (i === undefined) throw notRegistered(missing)
      assertInScope(callerOf(request), i, missing)
      const next = (await deps.clocks.shown(i.id)) ?? i
      return incidentView(next)
    },
  )
}
